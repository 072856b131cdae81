"""Benchmark (2): a task's NDJSON update stream through each client's public stream path.

The same body (N partial task updates with logs, a heartbeat every ten updates, a final
completed update) is read by each client in its own interpreter from memory, below each
client's HTTP library's response object (no socket), so only the clients' own work is timed:

* full path, ours: ``Inference.stream_task("t1")`` iterated to the end over an
  ``httpx.Client`` whose transport hands out the body in 64 KiB chunks (decode, merge each
  partial update into the task, drop repeats) -> typed ``Task`` updates;
* full path, published 0.36.0: ``Inference.stream_task("t1")`` iterated to the end, its HTTP
  calls answered with a ``requests.Response`` reading the same body (``iter_lines`` +
  ``json.loads`` + unwrap + ``_strip_task``) -> dicts;
* decode stage only: bytes to update payloads with heartbeats dropped, ours
  ``TaskLineDecoder`` versus the published ``_iter_ndjson``.

Target: the full path at least 5x the published throughput.

    .venv/bin/python bench/core_decode.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core_common import published_python, run_python

BODY = r"""
import json, time
N = 20000
CHUNK = 65536
lines = []
for i in range(N):
    if i % 10 == 0:
        lines.append({"type": "heartbeat"})
    logs = [{"id": f"log{j}", "created_at": "2026-01-01T00:00:00Z", "task_id": "t1", "log_type": 1,
             "content": f"step {j}: processing frame {j * 7} of 140000 at 31.4 fps"} for j in range(max(0, i - 4), i + 1)]
    lines.append({"data": {"id": "t1", "status": 7, "logs": logs, "updated_at": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
                           "output": {"progress": i / N, "preview": f"https://cdn.example/frames/{i}.png"}},
                  "fields": ["status", "logs", "updated_at", "output"]})
lines.append({"data": {"id": "t1", "status": 10, "output": {"video": "https://cdn.example/v.mp4"}},
              "fields": ["status", "output"]})
body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
chunks = [body[start:start + CHUNK] for start in range(0, len(body), CHUNK)]

def best(fn):
    fn()
    times = []
    for _ in range(7):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
"""

OURS = (
    BODY
    + r"""
import httpx
from inferencesh import Inference
from inferencesh.core.streaming import TaskLineDecoder

class Body(httpx.SyncByteStream):
    def __iter__(self):
        return iter(chunks)

def reply(request):
    assert request.url.path == "/tasks/t1/stream", request.url
    return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, stream=Body())

client = Inference(api_key="inf_bench", base_url="http://127.0.0.1:9",
                   http_client=httpx.Client(transport=httpx.MockTransport(reply)))

def full():
    count = sum(1 for _ in client.stream_task("t1"))
    assert count == N + 1, count

def decode_only():
    decoder = TaskLineDecoder(sse=False)
    count = 0
    for chunk in chunks:
        count += sum(1 for line in decoder.feed(chunk) if line.type != "heartbeat")
    count += sum(1 for line in decoder.close() if line.type != "heartbeat")
    assert count == N + 1, count

print(best(full), best(decode_only), len(body))
"""
)

PUBLISHED = (
    BODY
    + r"""
import io
import requests
from inferencesh import Inference
from inferencesh.client import Response

class Body(io.RawIOBase):
    # The raw body under the response; requests reads it 8 KiB at a time (its own choice).
    def __init__(self):
        self._buffer = io.BytesIO(body)
    def readable(self):
        return True
    def readinto(self, b):
        return self._buffer.readinto(b)

def stream_response():
    resp = requests.Response()
    resp.raw = Body()
    resp.status_code = 200
    resp.encoding = "utf-8"
    return resp

def answer(method, endpoint, **kwargs):
    if kwargs.get("stream"):
        assert endpoint == "/tasks/t1/stream", endpoint
        return stream_response()
    assert endpoint == "/tasks/t1", endpoint
    return Response({"id": "t1", "status": 1})

client = Inference(api_key="inf_bench", base_url="http://127.0.0.1:9")
client._request = answer

def full():
    count = sum(1 for _ in client.stream_task("t1"))
    assert count == N + 1, count

def decode_only():
    count = sum(1 for _ in client._iter_ndjson(stream_response()))
    assert count == N + 1, count

print(best(full), best(decode_only))
"""
)

LINES = 20001


def main() -> None:
    ours_full, ours_decode, size = map(float, run_python(sys.executable, OURS).split())
    python = published_python()
    published: list[float | None] = [None, None]
    if python:
        published = [float(x) for x in run_python(python, PUBLISHED).split()]
    print(f"stream: {LINES} updates + heartbeats, {size / 1e6:.1f} MB, best of 7")
    print(f"{'path':<44}{'ours s':>8}{'MB/s':>8}{'published s':>13}{'MB/s':>8}{'ours/pub':>10}")
    rows = [
        ("full: stream_task(...) iterated", ours_full, published[0]),
        ("decode stage: bytes to update payloads", ours_decode, published[1]),
    ]
    for name, ours, theirs in rows:
        pub_s = f"{theirs:.3f}" if theirs else "-"
        pub_mb = f"{size / theirs / 1e6:.1f}" if theirs else "-"
        ratio = f"{theirs / ours:.1f}x" if theirs else "-"
        print(f"{name:<44}{ours:>8.3f}{size / ours / 1e6:>8.1f}{pub_s:>13}{pub_mb:>8}{ratio:>10}")
    if published[0]:
        ratio = published[0] / ours_full
        print(f"\nfull path: ours / published throughput = {ratio:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()

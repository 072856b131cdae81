"""Benchmark (2): decoding a task's NDJSON update stream, ours versus the published client.

The same body (N partial task updates with logs, heartbeats in between, a final completed
update) is decoded by each client's own stream path, in its own interpreter:

* ours: ``TaskLineDecoder`` over 64 KiB chunks (as httpx delivers them) and
  ``TaskFollower.feed_line`` (merge into the task, drop repeats) -> typed ``Task`` updates;
* published 0.36.0: ``Inference._stream_updates`` over a ``requests.Response`` reading the
  same bytes (its ``iter_lines`` + ``json.loads`` + unwrap + ``_strip_task``) -> dicts.

Target: ours at least 5x the published throughput. The decode stage alone (bytes to typed
updates, without merging partial updates and dropping repeats, which the published client
does not do) is printed too.

    .venv/bin/python bench/core_decode.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core_common import published_python, run_python

BODY = r"""
import json
N = 20000
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
"""

OURS = (
    BODY
    + r"""
import time
from inferencesh.core._follow import TaskFollower
from inferencesh.core.streaming import TaskLineDecoder
from inferencesh.core.types import Task

def once():
    follower = TaskFollower("t1", Task(id="t1", status=1), idle_timeout=60)
    decoder = TaskLineDecoder(sse=False)
    count = 0
    for start in range(0, len(body), 65536):
        for line in decoder.feed(body[start:start + 65536]):
            if follower.feed_line(line) is not None:
                count += 1
    for line in decoder.close():
        if follower.feed_line(line) is not None:
            count += 1
    assert follower.done and count == N + 1, count
    return count

def decode_only():
    decoder = TaskLineDecoder(sse=False)
    count = 0
    for start in range(0, len(body), 65536):
        count += len(decoder.feed(body[start:start + 65536]))
    return count + len(decoder.close())

def best(fn):
    fn()
    times = []
    for _ in range(7):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

print(best(once), best(decode_only), len(body))
"""
)

PUBLISHED = (
    BODY
    + r"""
import io, time
import requests
from inferencesh import Inference

def once():
    client = Inference(api_key="inf_bench", base_url="http://127.0.0.1:9")
    resp = requests.Response()
    resp.raw = io.BytesIO(body)
    resp.status_code = 200
    resp.encoding = "utf-8"
    client._request = lambda *a, **k: resp
    count = sum(1 for update in client._stream_updates("t1", {"id": "t1"}) if isinstance(update, dict))
    assert count == N + 1, count
    return count

once()
times = []
for _ in range(7):
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
print(min(times), len(body))
"""
)


def main() -> None:
    ours, decode_only, size = map(float, run_python(sys.executable, OURS).split())
    lines = 20001
    python = published_python()
    published = float(run_python(python, PUBLISHED).split()[0]) if python else None
    print(f"stream: {lines} updates + heartbeats, {size / 1e6:.1f} MB (best of 7)")
    print(f"{'path':<40}{'s':>8}{'updates/s':>12}{'MB/s':>8}{'x published':>13}")
    rows = [("ours: decode + merge + dedupe", ours), ("ours: decode stage only", decode_only)]
    if published is not None:
        rows.append(("published 0.36.0: _stream_updates", published))
    for name, seconds in rows:
        ratio = f"{published / seconds:.1f}x" if published else "-"
        print(
            f"{name:<40}{seconds:>8.3f}{lines / seconds:>12,.0f}{size / seconds / 1e6:>8.1f}"
            f"{ratio:>13}"
        )
    if published is not None:
        print(f"\nours / published throughput = {published / ours:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()

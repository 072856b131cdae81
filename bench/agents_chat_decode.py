"""Chat-stream decode throughput: inferencesh-agents versus the published `inferencesh==0.36.0`.

Both clients read the same NDJSON bytes of a `GET /chats/{id}/stream` reply, with the network
taken out (ours through an httpx MockTransport into the real core client, the published one
through a `requests.Response` over a BytesIO). Two layers are timed:

* decode: bytes -> events (ours: core stream decoder + msgspec ChatMessage/Chat structs;
  published: `iter_lines` + `json.loads` into dicts);
* turn: the whole `send_message` streaming path with an `on_message` and an `on_tool_call`
  callback (ours: typed snapshots, upsert by id, text deltas, tool dispatch; published:
  `stream_all`).

The published package is installed by `_published.py` into `.venvs/published-0.36.0` on first run.
Run: `.venv/bin/python bench/agents_chat_decode.py [--quick]`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
from _published import PINNED_VERSION, published_python

CHUNK = 65536


# ---- the stream ------------------------------------------------------------------------------


def _stamp(i: int) -> str:
    return f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"


def _message(mid: str, order: int, text: str, status: str, i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "chat_id": "c1",
        "order": order,
        "role": "assistant",
        "status": status,
        "task_id": "task_0001",
        "content": [
            {"type": "reasoning", "text": "Thinking about the question. " * 4},
            {"type": "text", "text": text},
        ],
        "created_at": _stamp(0),
        "updated_at": _stamp(i),
        **extra,
    }


def _chat(status: str, state: str) -> dict[str, Any]:
    return {"id": "c1", "status": status, "active_run": {"state": state}, "name": "bench"}


def build_stream(snapshots: int, messages: int) -> bytes:
    """A turn: `messages` assistant messages, each re-sent `snapshots` times as its text grows,
    one client tool call, heartbeats; ends with the chat idle."""
    events: list[dict[str, Any]] = [{"event": "chats", "data": _chat("busy", "working")}]
    i = 0
    for m in range(messages):
        mid = f"msg_{m:04d}"
        words = "The quick brown fox jumps over the lazy dog. "
        for s in range(snapshots):
            i += 1
            text = words * (s + 1)
            events.append(
                {"event": "chat_messages", "data": _message(mid, m + 2, text, "pending", i)}
            )
            if s % 20 == 0:
                events.append({"type": "heartbeat"})
        invocation = {
            "id": f"inv_{m:04d}",
            "type": "client",
            "status": "awaiting_input" if m == 0 else "completed",
            "function": {"name": "lookup", "arguments": {"q": "fox", "n": m}},
        }
        i += 1
        final = _message(mid, m + 2, words * snapshots, "ready", i, tool_invocations=[invocation])
        events.append({"event": "chat_messages", "data": final})
    events.append({"event": "chats", "data": _chat("idle", "completed")})
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


# ---- ours ------------------------------------------------------------------------------------


def _ours_client(body: bytes) -> Any:
    from inferencesh.core import Inference

    user = {"id": "msg_user", "chat_id": "c1", "order": 1, "role": "user", "status": "ready"}
    first = {
        "id": "msg_0000",
        "chat_id": "c1",
        "order": 2,
        "role": "assistant",
        "status": "pending",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/agents/run":
            return httpx.Response(200, json={"user_message": user, "assistant_message": first})
        if path == "/chats/c1":
            return httpx.Response(200, json=_chat("busy", "working"))
        if path == "/chats/c1/stream":
            chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
            return httpx.Response(
                200, headers={"content-type": "application/x-ndjson"}, stream=_Chunks(chunks)
            )
        return httpx.Response(200, json=None)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Inference(api_key="inf_bench", base_url="http://127.0.0.1:9", http_client=http)


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Any:
        return iter(self._chunks)


def ours_decode(body: bytes) -> int:
    """Bytes -> typed chat events, as the agent sees them."""
    import msgspec
    from inferencesh.core.chat import Chat, ChatMessage
    from inferencesh.core.streaming import EventDecoder

    decoder = EventDecoder(sse=False)
    count = 0
    for i in range(0, len(body), CHUNK):
        for event in decoder.feed(body[i : i + CHUNK]):
            kind = ChatMessage if event.event == "chat_messages" else Chat
            msgspec.convert(event.data, kind)
            count += 1
    return count


def ours_turn(client: Any) -> int:
    """The whole send_message path with callbacks: POST, GET, the stream, the tool result."""
    seen = [0]

    def on_message(update: Any) -> None:
        seen[0] += 1

    def on_tool_call(call: Any) -> None:
        agent.submit_tool_result(call.id, "ok")

    agent = client.agent("bench/agent@latest")
    agent.send_message("go", on_message=on_message, on_tool_call=on_tool_call)
    return seen[0]


def best_of(fn: Any, arg: Any, repeat: int) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(arg)
        best = min(best, time.perf_counter() - start)
    return best, result


# ---- published ------------------------------------------------------------------------------

_PUBLISHED_RUNNER = r"""
import io, json, sys, time
import requests
from inferencesh import inference

path, repeat = sys.argv[1], int(sys.argv[2])
body = open(path, "rb").read()

def response():
    r = requests.models.Response()
    r.status_code = 200
    r.raw = io.BytesIO(body)
    return r

requests.get = lambda *a, **k: response()
client = inference(api_key="inf_bench", base_url="http://127.0.0.1:9")

def decode():
    agent = client.agent("bench/agent@latest")
    agent._chat_id = "c1"
    return sum(1 for _ in agent._create_typed_ndjson_generator("/chats/c1/stream"))

def turn():
    agent = client.agent("bench/agent@latest")
    agent._chat_id = "c1"
    agent.submit_tool_result = lambda *a, **k: None  # no network: count the dispatch only
    seen = [0]
    def on_message(msg):
        seen[0] += 1
    def on_tool_call(call):
        agent.submit_tool_result(call.id, "ok")
    agent.stream_all(on_message=on_message, on_tool_call=on_tool_call)
    return seen[0]

out = {}
for name, fn in (("decode", decode), ("turn", turn)):
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    out[name] = [best, result]
print(json.dumps(out))
"""


def published(body: bytes, repeat: int) -> dict[str, tuple[float, int]]:
    with tempfile.NamedTemporaryFile(suffix=".ndjson") as f:
        f.write(body)
        f.flush()
        out = subprocess.run(
            [str(published_python(PINNED_VERSION)), "-c", _PUBLISHED_RUNNER, f.name, str(repeat)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return {k: (v[0], v[1]) for k, v in json.loads(out).items()}


# ---- report ---------------------------------------------------------------------------------


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 15
    scenarios = [
        ("one long reply, growing snapshots", build_stream(100 if quick else 400, 1)),
        ("tool loop, 20 messages", build_stream(10 if quick else 40, 20)),
    ]
    print(f"{'scenario':<40} {'layer':<7} {'ours MB/s':>10} {'0.36 MB/s':>10} {'speedup':>8}")
    for title, body in scenarios:
        theirs = published(body, repeat)
        client = _ours_client(body)
        for layer, fn, arg in (("decode", ours_decode, body), ("turn", ours_turn, client)):
            ours_time, _ = best_of(fn, arg, repeat)
            their_time, _ = theirs[layer]
            mb = len(body) / 1e6
            print(
                f"{title:<40} {layer:<7} {mb / ours_time:>10.1f} {mb / their_time:>10.1f} "
                f"{their_time / ours_time:>7.2f}x"
            )
        client.close()
        lines = body.count(b"\n")
        print(f"{'':<40} ({len(body) / 1e6:.1f} MB, {lines} lines)")


if __name__ == "__main__":
    main()

"""Chat streams (``GET /chats/{id}/stream``): open between turns with heartbeats, carrying the
next turn and its token ``delta`` events (``DeltaEvent``: ``{delta, seq, resource_id}``); the
limits on streams per chat and on a reader that stops reading."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import httpx
import pytest
from agentloop_testkit import Platform, call, client_tool, last_reply, scripted, text_of, turn_ended
from platform_testkit import PlatformFactory

MAX_STREAMS = 3


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Platform]:
    env = {"INFERENCESH_MAX_CHAT_STREAMS": str(MAX_STREAMS), "INFERENCESH_CHAT_STREAM_BUFFER": "64"}
    server = Platform.shared(local_platform, [e2e.AGENTS], env=env)
    yield server
    server.close()


class Reader:
    """Reads one chat stream in a thread, keeping every line (heartbeats included)."""

    def __init__(self, platform: Platform, chat_id: str) -> None:
        self.lines: list[dict[str, Any]] = []
        self.status: int | None = None
        self.ended = threading.Event()
        self._opened = threading.Event()
        self._stop = False
        self._client = httpx.Client(headers=platform.http.headers, timeout=60)
        self._url = platform.url(f"/chats/{chat_id}/stream")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._opened.wait(30), "the stream never answered"

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url) as response:
                self.status = response.status_code
                self._opened.set()
                for line in response.iter_lines():
                    if self._stop:
                        return
                    if line.strip():
                        self.lines.append(json.loads(line))
        except httpx.HTTPError:
            pass
        finally:
            self._opened.set()
            self.ended.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for e in self.lines if e.get("type") != "heartbeat"]

    def wait(self, check: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self):
                return
            assert not self.ended.is_set(), f"the stream ended early: {self.events[-3:]}"
            time.sleep(0.02)
        raise AssertionError(f"never got there; last events: {self.events[-3:]}")

    def close(self) -> None:
        self._stop = True
        self._client.close()
        self._thread.join(10)


def _idle_chat(platform: Platform) -> str:
    reply = platform.run({"agent": "local/assistant", "input": {"text": "first"}})
    chat_id: str = reply["assistant_message"]["chat_id"]
    platform.finish(chat_id)
    return chat_id


def _turns_ended(reader: Reader) -> int:
    return sum(1 for e in reader.events if turn_ended(e))


def test_a_stream_on_an_idle_chat_stays_open_and_carries_the_next_turn(platform: Platform) -> None:
    chat_id = _idle_chat(platform)
    reader = Reader(platform, chat_id)
    try:
        assert reader.status == 200
        reader.wait(lambda r: _turns_ended(r) == 1)  # the snapshot: messages, then the idle chat
        # Idle, the stream stays open: heartbeats (1 s apart here) and no end.
        reader.wait(lambda r: sum(1 for e in r.lines if e.get("type") == "heartbeat") >= 2)
        assert not reader.ended.is_set()
        before = len(reader.events)
        platform.run({"chat_id": chat_id, "agent": "local/assistant", "input": {"text": "again"}})
        reader.wait(lambda r: _turns_ended(r) == 2)
        turn = reader.events[before:]
        statuses = [e["data"]["status"] for e in turn if e["event"] == "chats"]
        assert statuses[0] == "busy" and statuses[-1] == "idle"
        replies = [e["data"] for e in turn if e["event"] == "chat_messages"]
        assert text_of(replies[-1]).endswith("assistant: Hello! You said: first | user: again")
        assert not reader.ended.is_set()  # still open for the turn after
    finally:
        reader.close()


def test_deltas_merge_into_the_final_message(platform: Platform) -> None:
    text = "The quick brown fox jumps over the lazy dog"
    config = scripted({"text": text, "reasoning": "think first", "chunks": 9, "delay": 0.05})
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat_id = reply["assistant_message"]["chat_id"]
    events = platform.events(chat_id)
    head = reply["assistant_message"]["id"]
    deltas = [e["data"] for e in events if e["event"] == "delta"]
    assert deltas, "no delta events"
    assert all(d["resource_id"] == head for d in deltas)
    seqs = [d["seq"] for d in deltas]
    # Increasing to the last; a stream that joins part way starts with the deltas so far.
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and seqs[0] >= 1
    merged = "".join(d["delta"].get("response", "") for d in deltas)
    reasoning = "".join(d["delta"].get("reasoning", "") for d in deltas)
    final = last_reply(platform.chat(chat_id))
    assert merged == text_of(final) == text
    assert reasoning == "think first"
    assert len([d for d in deltas if d["delta"].get("response")]) > 1  # streamed, not one piece
    # Each delta comes before the snapshot that shows its text.
    shown = ""
    for event in events:
        if event["event"] == "delta":
            shown += event["data"]["delta"].get("response", "")
        elif event["event"] == "chat_messages" and event["data"]["id"] == head:
            assert text_of(event["data"]) == shown[: len(text_of(event["data"]))]
            assert len(text_of(event["data"])) <= len(shown)


def test_tool_call_deltas_carry_the_call_and_its_arguments(platform: Platform) -> None:
    config = scripted(
        {"tool_calls": [call("lookup", word="ion", n=2)]},
        {"text": "Said: {{tool_results}}"},
        tools=[client_tool("lookup")],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "look"}})
    chat_id = reply["assistant_message"]["chat_id"]
    events = platform.events(
        chat_id, until=lambda e: e["event"] == "chats" and e["data"]["status"] == "awaiting_input"
    )
    head = reply["assistant_message"]["id"]
    pieces = [
        piece
        for e in events
        if e["event"] == "delta" and e["data"]["resource_id"] == head
        for piece in e["data"]["delta"].get("tool_calls", ())
    ]
    assert pieces and pieces[0]["index"] == 0 and pieces[0]["function"]["name"] == "lookup"
    assert pieces[0]["type"] == "function" and pieces[0]["id"]
    arguments = "".join(p["function"].get("arguments", "") for p in pieces)
    assert json.loads(arguments) == {"word": "ion", "n": 2}
    platform.call("POST", f"/chats/{chat_id}/stop")


def test_streams_per_chat_are_limited(platform: Platform) -> None:
    chat_id = _idle_chat(platform)
    readers = [Reader(platform, chat_id) for _ in range(MAX_STREAMS)]
    try:
        for reader in readers:
            assert reader.status == 200
            reader.wait(lambda r: _turns_ended(r) == 1)
        refused = platform.http.get(platform.url(f"/chats/{chat_id}/stream"))
        assert refused.status_code == 429
        assert "at most 3" in refused.text and "too_many_streams" in refused.text
        # Another chat has streams of its own.
        other = Reader(platform, _idle_chat(platform))
        assert other.status == 200
        other.close()
        # A client that leaves frees its place.
        readers.pop().close()
        deadline = time.monotonic() + 10
        while True:
            again = Reader(platform, chat_id)
            if again.status == 200 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.1)
        assert again.status == 200
        readers.append(again)
        # Every open stream still carries the next turn.
        platform.run({"chat_id": chat_id, "agent": "local/assistant", "input": {"text": "all"}})
        for reader in readers:
            reader.wait(lambda r: _turns_ended(r) == 2)
    finally:
        for reader in readers:
            reader.close()


def test_a_client_that_never_reads_is_dropped_and_the_turn_goes_on(platform: Platform) -> None:
    # A long second reply in many pieces with a pause between: its snapshots grow with the
    # text, far past what the stuck client's socket holds, and past the 64 events its queue
    # may hold.
    # (The server's socket buffers up to 4 MB on Linux: the snapshots add up to several times
    # that.)
    text = " ".join(f"word{i}" for i in range(6000))
    config = scripted({"text": "short"}, {"text": text, "chunks": 600, "delay": 0.005})
    reply = platform.run({"agent_config": config, "input": {"text": "first"}})
    chat_id = reply["assistant_message"]["chat_id"]
    platform.finish(chat_id)
    host, port = platform.base_url.removeprefix("http://").split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, int(port)))
    key = platform.http.headers["Authorization"]
    stuck.sendall(
        f"GET /chats/{chat_id}/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: {key}\r\n"
        "Accept: application/x-ndjson\r\n\r\n".encode()
    )
    reader = Reader(platform, chat_id)
    try:
        reader.wait(lambda r: _turns_ended(r) == 1)
        platform.run({"chat_id": chat_id, "input": {"text": "long"}})
        reader.wait(lambda r: _turns_ended(r) == 2, timeout=60)
        assert text_of(last_reply(platform.chat(chat_id))) == text
        # The stuck client, read at last: its stream was ended before the turn did.
        stuck.settimeout(10)
        received = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            chunk = stuck.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError("the stuck client's stream was never ended")
        assert received.startswith(b"HTTP/1.1 200")
        # The first snapshot's idle chat, and not the end of the turn: it was cut off first.
        assert received.count(b'"status":"idle"') == 1
        assert received.endswith(b"0\r\n\r\n")  # a clean end of the chunked body
    finally:
        stuck.close()
        reader.close()

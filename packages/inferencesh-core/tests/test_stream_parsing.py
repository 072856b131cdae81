"""Pure parts of streaming: the NDJSON/SSE decoders and the task follower's decisions."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest
from core_testkit import BASE, KEY, Chunks, Driver, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    APITimeoutError,
    AsyncInference,
    Task,
    TaskFailedError,
    TaskStatus,
)
from inferencesh.core._follow import TaskFollower
from inferencesh.core.files import Source
from inferencesh.core.protocol import Call, OpenStream, Sleep
from inferencesh.core.streaming import (
    EventDecoder,
    NDJSONDecoder,
    SSEDecoder,
    StreamProtocolError,
    StreamTruncated,
    TaskLine,
    TaskLineDecoder,
)
from pytest_httpx import HTTPXMock


def feed_bytewise(decoder, data: bytes) -> list:
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i : i + 1])
    return out + decoder.close()


def test_ndjson_any_chunking() -> None:
    data = b'{"a":1}\r\n\n{"b":[1,2]}\n   \n{"c":"x\\ny"}'
    assert feed_bytewise(NDJSONDecoder(), data) == [{"a": 1}, {"b": [1, 2]}, {"c": "x\ny"}]
    decoder: NDJSONDecoder[object] = NDJSONDecoder()
    assert decoder.feed(data) == [{"a": 1}, {"b": [1, 2]}]
    assert decoder.close() == [{"c": "x\ny"}]


def test_ndjson_truncated_and_bad_lines() -> None:
    decoder: NDJSONDecoder[object] = NDJSONDecoder()
    decoder.feed(b'{"a":1}\n{"b":')
    with pytest.raises(StreamTruncated):
        decoder.close()
    with pytest.raises(StreamProtocolError, match="oops"):
        NDJSONDecoder().feed(b'{"a":1}\noops\n')


def test_sse_framing_edge_cases() -> None:
    data = (
        b": comment\r\n"
        b"event: chats\r\n"
        b'data: {"a":\r\n'
        b"data: 1}\r\n"
        b"\r\n"
        b"retry: 100\n"
        b"id: 7\n"
        b'data:{"b":2}\n\n'
        b"event: x\rdata: 3\r\r"
    )
    expected = [("chats", {"a": 1}), (None, {"b": 2}), ("x", 3)]
    assert feed_bytewise(SSEDecoder(), data) == expected
    decoder: SSEDecoder[object] = SSEDecoder()
    assert decoder.feed(data) + decoder.close() == expected


def test_sse_truncated_event() -> None:
    decoder: SSEDecoder[object] = SSEDecoder()
    decoder.feed(b'data: {"a": 1}\n')
    with pytest.raises(StreamTruncated):
        decoder.close()


def test_event_and_task_decoders_agree_on_shapes() -> None:
    body = ndjson(
        {"type": "heartbeat"}, {"data": {"id": "t", "status": 7}, "fields": ["status"]}, task()
    )
    events = EventDecoder(sse=False).feed(body)
    assert [e.fields for e in events] == [["status"], None]
    lines = TaskLineDecoder(sse=False).feed(body)
    assert [line.type for line in lines] == ["heartbeat", None, None]
    assert lines[1].data == Task(id="t", status=TaskStatus.RUNNING)
    assert lines[2].id == "t1"


def make(timeout: float | None = None, clock: list[float] | None = None) -> TaskFollower:
    now = clock if clock is not None else [0.0]
    return TaskFollower(
        "t1",
        Task(id="t1", status=TaskStatus.RECEIVED),
        idle_timeout=30,
        max_reconnects=2,
        timeout=timeout,
        clock=lambda: now[0],
    )


def test_follower_merge_and_dedupe() -> None:
    f = make()
    assert f.initial() == Task(id="t1", status=TaskStatus.RECEIVED)
    assert f.initial() is None
    assert f.feed(Task(status=TaskStatus.RUNNING, session_id="s"), ["status", "session_id"])
    assert f.feed(Task(status=TaskStatus.RUNNING), ["status"]) is None  # no change
    full = f.feed(Task(id="t1", status=TaskStatus.RUNNING, output=1))  # full, keeps session_id
    assert full is not None and full.session_id == "s" and full.output == 1
    assert f.feed(Task(status=TaskStatus.QUEUED), ["status"]) is None  # stale
    done = f.feed_line(TaskLine(data=Task(status=TaskStatus.COMPLETED), fields=["status", "nope"]))
    assert done is not None and done.status is TaskStatus.COMPLETED and f.done
    assert f.next_action() is None


def test_follower_plan_after_drops() -> None:
    f = make()
    assert f.next_action() == OpenStream("/tasks/t1/stream", 30, task_lines=True)
    f.received_bytes()
    f.feed(Task(status=TaskStatus.RUNNING), ["status"])
    f.stream_ended(APIConnectionError("drop"))
    # progress was made: reconnect at once
    assert f.next_action() == OpenStream("/tasks/t1/stream", 30, task_lines=True)
    f.stream_ended(None)  # nothing new on the reconnect
    assert f.next_action() == Call("GET", "/tasks/t1", expect="a task")
    assert f.fetched(Task(id="t1", status=TaskStatus.RUNNING)) is None
    assert isinstance(f.next_action(), Sleep)
    f.slept()
    for _ in range(2):
        assert f.next_action() == OpenStream("/tasks/t1/stream", 30, task_lines=True)
        f.stream_ended(APIConnectionError("refused"))
        f.next_action()
        f.fetched(Task(id="t1", status=TaskStatus.RUNNING))
        f.next_action()
        f.slept()
    f.next_action()
    with pytest.raises(APIConnectionError, match="refused"):
        f.stream_ended(APIConnectionError("refused"))


def test_follower_deadline() -> None:
    clock = [0.0]
    f = make(timeout=10, clock=clock)
    assert f.next_action() == OpenStream("/tasks/t1/stream", 10, task_lines=True)
    clock[0] = 4.0
    f.stream_ended(None)
    assert f.next_action() == Call("GET", "/tasks/t1", expect="a task")
    f.fetched(Task(id="t1", status=TaskStatus.RUNNING))
    clock[0] = 9.9
    action = f.next_action()
    assert isinstance(action, Sleep) and action.seconds == pytest.approx(0.1)
    f.slept()
    clock[0] = 10.0
    with pytest.raises(APITimeoutError, match=r"within 10 s \(last status: running\)"):
        f.next_action()


def test_idle_timeout_reconnects(driver: Driver, httpx_mock: HTTPXMock) -> None:
    stream = f"{BASE}/tasks/t1/stream"
    httpx_mock.add_response(
        url=stream, stream=Chunks([ndjson(task(status=7))], httpx.ReadTimeout("idle"))
    )
    httpx_mock.add_response(url=stream, content=ndjson(task(status=10, output="ok")))
    assert driver.call(lambda c: c.wait_for_completion("t1")).output == "ok"


def test_rejected_task_is_a_failure(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/tasks/t1/stream", content=ndjson(task(status=13, error="no worker"))
    )
    with pytest.raises(TaskFailedError, match="rejected: no worker"):
        driver.call(lambda c: c.wait_for_completion("t1"))


def test_async_upload_reads_off_the_event_loop(
    httpx_mock: HTTPXMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"q" * 5000)
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up")
    threads: list[int] = []
    original_probe, original_open = Source.probe, Source.open_chunks

    def probe(self: Source) -> Source:
        threads.append(threading.get_ident())
        return original_probe(self)

    def open_chunks(self: Source, chunk_size: int = 1 << 20):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        read = original_open(self, chunk_size)

        def traced() -> bytes:
            threads.append(threading.get_ident())
            return read()

        return traced

    monkeypatch.setattr(Source, "probe", probe)
    monkeypatch.setattr(Source, "open_chunks", open_chunks)

    async def go() -> int:
        async with AsyncInference(api_key=KEY, base_url=BASE) as client:
            await client.upload_file(path)
        return threading.get_ident()

    loop_thread = asyncio.run(go())
    assert len(threads) >= 4
    assert loop_thread not in threads
    put = httpx_mock.get_requests(method="PUT")[0]
    assert put.read() == b"q" * 5000


def test_task_lines_in_a_batch_fold_like_one_at_a_time() -> None:
    body = ndjson(
        {"type": "heartbeat"},
        task(status=7, session_id="s"),  # a bare task among wrapped lines
        {"data": {"id": "t1", "status": 7, "logs": [{"content": "a"}]}, "fields": ["logs"]},
        {"data": {"status": 7, "logs": [{"content": "a"}]}, "fields": ["status", "logs"]},
        {"id": "t1", "delta": {"output": "x"}},
        {"data": {"status": 4}, "fields": ["status"]},  # stale
        {"data": {"output": 1, "error": "ignored"}, "fields": ["output", "nope"]},
        {"data": task(status=10)},
    )
    lines = TaskLineDecoder(sse=False).feed(body)
    assert feed_bytewise(TaskLineDecoder(sse=False), body) == lines
    sse = b"".join(b"data: " + line + b"\n\n" for line in body.splitlines())
    assert feed_bytewise(TaskLineDecoder(sse=True), sse) == lines
    assert lines[1].id == "t1" and lines[1].data == Task(id="t1", status=7, session_id="s")
    assert lines[4].data is None and lines[4].delta == {"output": "x"}
    one_by_one = make()
    expected = [u for u in map(one_by_one.feed_line, lines) if u is not None]
    batched = make()
    updates = batched.feed_lines(lines)
    assert updates == expected and batched.current == one_by_one.current
    assert [(u.status, u.output, u.error) for u in updates] == [
        (7, None, None),
        (7, None, None),
        (7, 1, None),
        (10, 1, None),
    ]
    assert updates[1].logs is not None and updates[1].logs[0].content == "a"
    assert updates[-1].session_id == "s" and batched.done
    with pytest.raises(StreamProtocolError, match="more than one JSON value"):
        TaskLineDecoder(sse=False).feed(b'{"id": "t1"} {"id": "t2"}\n')

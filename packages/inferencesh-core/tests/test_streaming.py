"""Streams through both clients: framing, merging, drops and reconnects, errors on streams."""

from __future__ import annotations

import time

import httpx
import pytest
from core_testkit import BASE, Chunks, Driver, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    StreamEvent,
    TaskCancelledError,
    TaskFailedError,
    TaskStatus,
)
from pytest_httpx import HTTPXMock

RUN = f"{BASE}/apps/run"
STREAM = f"{BASE}/tasks/t1/stream"
GET = f"{BASE}/tasks/t1"
NDJSON_HEADERS = {"content-type": "application/x-ndjson"}
SSE_HEADERS = {"content-type": "text/event-stream"}


def add_run(httpx_mock: HTTPXMock, **fields: object) -> None:
    httpx_mock.add_response(method="POST", url=RUN, json=task(status=1, **fields))


def add_stream(httpx_mock: HTTPXMock, *chunks: bytes, fail: Exception | None = None) -> None:
    httpx_mock.add_response(url=STREAM, headers=NDJSON_HEADERS, stream=Chunks(list(chunks), fail))


def run_stream(client):
    return client.run({"app": "a/b", "input": {}}, stream=True)


def run_wait(client):
    return client.run({"app": "a/b", "input": {}})


def test_wait_merges_partial_updates(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock, session_id="sess_1")
    body = ndjson(
        {"type": "heartbeat"},
        {
            "data": {"id": "t1", "status": 7, "logs": [{"content": "step 1"}]},
            "fields": ["status", "logs"],
        },
        {
            "data": {"status": 10, "output": {"image": "https://x/y.png"}},
            "fields": ["status", "output"],
        },
    )
    add_stream(httpx_mock, body[:25], body[25:70], body[70:])
    result = driver.call(run_wait)
    assert result["status"] == TaskStatus.COMPLETED
    assert str(result["status"]) == "completed"
    assert result["output"] == {"image": "https://x/y.png"}
    assert result["session_id"] == "sess_1"  # kept from the created task
    assert result.get("logs")[-1].content == "step 1"
    stream_request = httpx_mock.get_requests(url=STREAM)[0]
    assert stream_request.headers["accept"] == "application/x-ndjson"


def test_stream_yields_each_update_once(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(
        httpx_mock,
        ndjson(
            task(status=1),  # the same as the created task: not repeated
            {"data": {"status": 7}, "fields": ["status"]},
            {"data": {"status": 7}, "fields": ["status"]},  # unchanged: not repeated
            {"data": {"status": 9}, "fields": ["status"]},
            {"data": task(status=10, output=1)},
        ),
    )
    updates = driver.call(run_stream)
    assert [u["status"] for u in updates] == [1, 7, 9, 10]
    assert updates[-1]["output"] == 1


def test_failed_task_raises_with_error(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(httpx_mock, ndjson({"data": task(status=11, error="out of memory")}))
    with pytest.raises(TaskFailedError) as info:
        driver.call(run_wait)
    assert "out of memory" in str(info.value)
    assert info.value.task.error == "out of memory"
    assert isinstance(info.value, RuntimeError)


def test_cancelled_task_raises_distinct_error(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(httpx_mock, ndjson({"data": task(status=12)}))
    with pytest.raises(TaskCancelledError):
        driver.call(run_wait)


def test_stream_yields_failed_update_then_raises(httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(httpx_mock, ndjson({"data": task(status=11, error="boom")}))
    seen = []
    with pytest.raises(TaskFailedError):
        Driver("sync").call(lambda c: [seen.append(u) for u in run_stream(c)])
    assert [u.status for u in seen] == [1, 11]


def test_drop_then_reconnect_then_get_fallback(driver: Driver, httpx_mock: HTTPXMock) -> None:
    """A drop mid-stream, a reconnect that brings nothing new, then GET has the end."""
    add_run(httpx_mock)
    add_stream(
        httpx_mock,
        ndjson({"data": {"status": 7}, "fields": ["status"]}),
        fail=httpx.RemoteProtocolError("peer closed connection"),
    )
    add_stream(httpx_mock, ndjson(task(status=7)))  # replay of the known state, then EOF
    httpx_mock.add_response(url=GET, json=task(status=10, output="final"))
    updates = driver.call(run_stream)
    assert [u.status for u in updates] == [1, 7, 10]
    assert updates[-1].output == "final"
    paths = [r.url.path for r in httpx_mock.get_requests()]
    assert paths == ["/apps/run", "/tasks/t1/stream", "/tasks/t1/stream", "/tasks/t1"]


def test_truncated_line_is_a_drop(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(
        httpx_mock, ndjson({"data": {"status": 7}, "fields": ["status"]}) + b'{"data": {"sta'
    )
    add_stream(httpx_mock, ndjson({"data": task(status=10)}))
    assert driver.call(run_wait).status == TaskStatus.COMPLETED
    assert len(httpx_mock.get_requests(url=STREAM)) == 2


def test_stale_replay_ignored(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    add_stream(
        httpx_mock,
        ndjson({"data": {"status": 9}, "fields": ["status"]}),
        fail=httpx.ReadError("reset"),
    )
    add_stream(httpx_mock, ndjson(task(status=7), {"data": task(status=10)}))
    updates = driver.call(run_stream)
    assert [u.status for u in updates] == [1, 9, 10]


def test_401_on_stream_raises_before_any_update(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM,
        status_code=401,
        json={"success": False, "error": {"code": "unauthorized", "message": "bad key"}},
    )
    with pytest.raises(AuthenticationError):
        driver.call(lambda c: c.stream_task("t1"))
    assert len(httpx_mock.get_requests()) == 1


def test_404_on_wait(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=STREAM, status_code=404, json={"detail": "no such task"})
    with pytest.raises(NotFoundError):
        driver.call(lambda c: c.wait_for_completion("t1"))


def test_reconnect_budget(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=STREAM, is_reusable=True)
    httpx_mock.add_response(url=GET, json=task(status=7), is_reusable=True)
    with pytest.raises(APIConnectionError):
        Driver("sync", max_retries=0, max_reconnects=2).call(lambda c: c.wait_for_completion("t1"))
    assert len(httpx_mock.get_requests(url=STREAM)) == 3


def test_heartbeats_keep_a_long_task_alive(driver: Driver, httpx_mock: HTTPXMock) -> None:
    """Streams that close after heartbeats only never exhaust the reconnect budget."""
    for _ in range(8):
        add_stream(httpx_mock, ndjson({"type": "heartbeat"}))
    httpx_mock.add_response(url=GET, json=task(status=7), is_reusable=True)
    add_stream(httpx_mock, ndjson({"data": task(status=10)}))
    driver.options.update(max_reconnects=1)
    assert driver.call(lambda c: c.wait_for_completion("t1")).status == 10


def test_wait_deadline(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM, headers=NDJSON_HEADERS, content=ndjson(task(status=7)), is_reusable=True
    )
    httpx_mock.add_response(url=GET, json=task(status=7), is_reusable=True)
    with pytest.raises(APITimeoutError, match="did not finish within") as info:
        driver.call(lambda c: c.wait_for_completion("t1", timeout=0.05))
    assert info.value.task_id == "t1"  # the task may still run: wait again, or cancel it
    assert info.value.task is not None and info.value.task.status == TaskStatus.RUNNING


def test_wait_deadline_while_updates_keep_arriving(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # A task that logs without pause must still time out: the deadline is not only checked
    # when the stream goes quiet.
    logs = [
        ndjson({"data": {"status": 7, "logs": [{"content": f"step {i}"}]}, "fields": ["logs"]})
        for i in range(40)
    ]
    httpx_mock.add_response(url=STREAM, headers=NDJSON_HEADERS, stream=Chunks(logs, pace=0.025))
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=r"did not finish within 0\.2 s"):
        driver.call(lambda c: c.wait_for_completion("t1", timeout=0.2))
    assert time.monotonic() - started < 0.6  # the whole stream would take 1 s


def test_sse_task_stream(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_run(httpx_mock)
    body = (
        b": heartbeat\r\n\r\n"
        b"event: update\r\n"
        b'data: {"data": {"status": 7},\r\n'
        b'data:  "fields": ["status"]}\r\n\r\n'
        b'data: {"data": {"status": 10, "output": 5}, "fields": ["status", "output"]}\n\n'
    )
    httpx_mock.add_response(
        url=STREAM, headers=SSE_HEADERS, stream=Chunks([body[:30], body[30:31], body[31:]])
    )
    updates = driver.call(run_stream)
    assert [u.status for u in updates] == [1, 7, 10]
    assert updates[-1].output == 5


# -- the generic low-level stream (used by the agents client) ---------------------------------

CHAT = f"{BASE}/chats/c1/stream"


def chat_events(client):
    return client.http.stream("GET", "/chats/c1/stream")


def test_generic_ndjson_events(driver: Driver, httpx_mock: HTTPXMock) -> None:
    body = ndjson(
        {"type": "heartbeat"},
        {"event": "chats", "data": {"id": "c1", "status": "busy"}},
        {"event": "chat_messages", "data": {"id": "m1"}, "fields": ["content"]},
        {"data": {"id": 2}},
        {"bare": True},
    )
    httpx_mock.add_response(url=CHAT, headers=NDJSON_HEADERS, stream=Chunks([body[:7], body[7:]]))
    events = driver.call(chat_events)
    assert events == [
        StreamEvent(event="chats", data={"id": "c1", "status": "busy"}),
        StreamEvent(event="chat_messages", data={"id": "m1"}, fields=["content"]),
        StreamEvent(data={"id": 2}),
        StreamEvent(data={"bare": True}),
    ]


def test_generic_sse_events(driver: Driver, httpx_mock: HTTPXMock) -> None:
    body = b'event: chats\ndata: {"id": "c1"}\n\n:ping\n\nevent: chat_messages\ndata: {"data": {"id": "m"}}\n\n'
    httpx_mock.add_response(url=CHAT, headers=SSE_HEADERS, content=body)
    events = driver.call(lambda c: c.http.stream("GET", "/chats/c1/stream", sse=True))
    assert events == [
        StreamEvent(event="chats", data={"id": "c1"}),
        StreamEvent(event="chat_messages", data={"id": "m"}),
    ]
    assert httpx_mock.get_request().headers["accept"] == "text/event-stream"


def test_generic_stream_truncated(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=CHAT, headers=NDJSON_HEADERS, content=ndjson({"data": 1}) + b'{"data": '
    )
    with pytest.raises(APIConnectionError, match="ended inside a line"):
        driver.call(chat_events)


def test_generic_stream_drop(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=CHAT, stream=Chunks([ndjson({"data": 1})], httpx.RemoteProtocolError("closed"))
    )
    with pytest.raises(APIConnectionError):
        driver.call(chat_events)


def test_generic_stream_malformed_line(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CHAT, content=b'{"data": 1}\nnot json at all\n')
    with pytest.raises(MalformedResponseError, match="not json at all"):
        driver.call(chat_events)


def test_generic_stream_401(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CHAT, status_code=401, json={"detail": "bad key"})
    with pytest.raises(AuthenticationError):
        driver.call(chat_events)


def test_stream_carries_on_through_a_status_this_sdk_does_not_know(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    # A newer platform may add statuses: the number is kept, and the stream goes on to the end.
    add_run(httpx_mock)
    add_stream(
        httpx_mock,
        ndjson(
            {"data": {"status": 7}, "fields": ["status"]},
            {"data": {"status": 14}, "fields": ["status"]},
            {"data": {"status": 7}, "fields": ["status"]},
            {"data": {"status": 10, "output": 1}, "fields": ["status", "output"]},
        ),
    )
    updates = driver.call(run_stream)
    statuses = [update.status for update in updates]
    assert statuses == [1, 7, 14, 7, 10]
    unknown = statuses[2]
    assert isinstance(unknown, TaskStatus) and str(unknown) == "unknown_14"
    assert not unknown.is_known and not unknown.is_terminal
    assert updates[-1].output == 1

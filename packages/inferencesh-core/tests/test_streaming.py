"""Streams through both clients: framing, merging, drops and reconnects, errors on streams."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from core_testkit import BASE, KEY, RUN_URL, Chunks, Driver, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    APITimeoutError,
    AsyncInference,
    AuthenticationError,
    Inference,
    InferenceError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
    StreamEvent,
    Task,
    TaskCancelledError,
    TaskFailedError,
    TaskStatus,
    WorkerLostError,
)
from inferencesh.core._follow import TaskFollower
from inferencesh.core.protocol import Call, OpenStream, Sleep
from pytest_httpx import HTTPXMock

STREAM = f"{BASE}/tasks/t1/stream"
GET = f"{BASE}/tasks/t1"
NDJSON_HEADERS = {"content-type": "application/x-ndjson"}
SSE_HEADERS = {"content-type": "text/event-stream"}


def add_run(httpx_mock: HTTPXMock, **fields: object) -> None:
    # A plain JSON reply, also to a run that asks for the stream: followed on the task stream.
    httpx_mock.add_response(method="POST", url=RUN_URL, json=task(status=1, **fields))


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
    # Long enough that even a stalled test reads the running state before its deadline.
    with pytest.raises(APITimeoutError, match="did not finish within") as info:
        driver.call(lambda c: c.wait_for_completion("t1", timeout=0.5))
    assert info.value.task_id == "t1"  # the task may still run: wait again, or cancel it
    assert info.value.task is not None and info.value.task.status == TaskStatus.RUNNING


def test_wait_deadline_while_updates_keep_arriving(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # A task that logs without pause must still time out: the deadline is not only checked
    # when the stream goes quiet.
    logs = [
        ndjson({"data": {"status": 7, "logs": [{"content": f"step {i}"}]}, "fields": ["logs"]})
        for i in range(40)
    ]
    body = Chunks(logs, pace=0.025)  # the whole stream takes 1 s
    httpx_mock.add_response(url=STREAM, headers=NDJSON_HEADERS, stream=body)
    with pytest.raises(APITimeoutError, match=r"did not finish within 0\.2 s"):
        driver.call(lambda c: c.wait_for_completion("t1", timeout=0.2))
    # It gave up mid-stream, at its deadline: not once the updates ran out (however slowly a
    # loaded machine sends them, they outlast the deadline).
    assert body.sent < len(logs)


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


# -- a byte order mark, a restart, a quiet wait, a stream closed early ----------------------


RUNNING = {"data": {"id": "t1", "status": 7}, "fields": ["status"]}


DONE = {"data": {"status": 10, "output": {"ok": True}}, "fields": ["status", "output"]}


def wait_t1(client):
    return client.wait_for_completion("t1")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/event-stream", b"\xef\xbb\xbfdata: " + json.dumps(DONE).encode() + b"\n\n"),
        ("application/x-ndjson", b"\xef\xbb\xbf" + ndjson(RUNNING, DONE)),
    ],
)
def test_a_byte_order_mark_does_not_lose_the_first_event(
    driver: Driver, httpx_mock: HTTPXMock, content_type: str, body: bytes
) -> None:
    httpx_mock.add_response(
        url=STREAM, headers={"content-type": content_type}, stream=Chunks([body])
    )
    result = driver.call(wait_t1)  # no GET is served: the stream alone must end the wait
    assert result.output == {"ok": True}


def test_a_line_of_another_task_is_not_merged(driver: Driver, httpx_mock: HTTPXMock) -> None:
    other_done = {"id": "t9", "status": 10, "output": "not yours"}
    other_partial = {"data": {"id": "t9", "status": 11, "error": "x"}, "fields": ["status"]}
    httpx_mock.add_response(
        url=STREAM,
        headers=NDJSON_HEADERS,
        stream=Chunks([ndjson(RUNNING, other_done, other_partial, DONE)]),
    )
    result = driver.call(wait_t1)
    assert result.id == "t1" and result.output == {"ok": True}


def test_a_platform_restart_while_following_is_survived(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    # The stream drops; while the platform restarts, reopening answers 503 (past the request's
    # own retries) and the GET fallback cannot connect: two failed reconnects of the five
    # allowed, not the end of the wait.
    httpx_mock.add_response(
        url=STREAM,
        headers=NDJSON_HEADERS,
        stream=Chunks([ndjson(RUNNING)], fail=httpx.RemoteProtocolError("peer closed")),
    )
    for _ in range(3):
        httpx_mock.add_response(url=STREAM, status_code=503, json={"detail": "restarting"})
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("refused"), url=GET)
    _stream_then(httpx_mock, DONE)
    result = driver.call(wait_t1)
    assert result.status == TaskStatus.COMPLETED and result.output == {"ok": True}
    assert len(no_waits) == 5  # two retries of each request, then one pause before reopening


def test_a_platform_that_stays_down_still_ends_the_wait(
    httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(url=STREAM, status_code=503, is_reusable=True)
    httpx_mock.add_response(url=GET, status_code=502, is_reusable=True)
    with pytest.raises(ServerError):
        Driver("sync", max_retries=0, max_reconnects=3).call(wait_t1)
    stream_opens = [r for r in httpx_mock.get_requests() if r.url.path.endswith("/stream")]
    assert len(stream_opens) == 2  # bounded by max_reconnects (stream, fetch, stream, fetch)


def test_a_lost_session_worker_ends_the_wait_at_once(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM, status_code=500, json={"error": {"code": "WORKER_LOST", "message": "gone"}}
    )
    with pytest.raises(WorkerLostError):
        Driver("sync", max_retries=0).call(wait_t1)


def test_a_long_quiet_wait_does_not_overflow_its_backoff() -> None:
    # A stream that keeps ending without news (a proxy closing idle streams) while the task
    # runs for hours: thousands of fetch-and-sleep rounds, each under the 5 s cap.
    now = [0.0]
    follower = TaskFollower("t1", idle_timeout=60, clock=lambda: now[0])
    pauses: list[float] = []
    for _ in range(3300):  # 1100 rounds: 2.0**1024 would overflow
        action = follower.next_action()
        if isinstance(action, OpenStream):
            follower.stream_ended(None)
        elif isinstance(action, Call):
            follower.fetched(Task(id="t1", status=TaskStatus.RUNNING))
        else:
            assert isinstance(action, Sleep)
            pauses.append(action.seconds)
            now[0] += action.seconds
            follower.slept()
    assert len(pauses) == 1100 and pauses[-1] == 5.0


def test_a_long_sse_event_in_many_chunks() -> None:
    from inferencesh.core.streaming import SSEDecoder

    big = "y" * 300_000
    body = (
        b": heartbeat\r\n\r\n"
        + b"event: update\r\ndata: "
        + json.dumps({"output": big}).encode()
        + b"\r\n\r\ndata: 2\r\r"
    )
    decoder: SSEDecoder[object] = SSEDecoder()
    events = []
    for start in range(0, len(body), 1000):  # CR and LF land on chunk edges too
        events += decoder.feed(body[start : start + 1000])
    events += decoder.close()
    assert events == [("update", {"output": big}), (None, 2)]


def _stream_then(httpx_mock: HTTPXMock, *lines: object) -> None:
    """A task stream sending each line in its own chunk."""
    chunks = [ndjson(line) for line in lines]
    httpx_mock.add_response(url=STREAM, headers=NDJSON_HEADERS, stream=Chunks(chunks))


def test_wait_after_closing_a_stream_early_says_what_to_do(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        first = next(iter(stream))
        stream.close()
        with pytest.raises(
            InferenceError,
            match=r"closed before the task ended.*"
            r"wait_for_completion\('t1'\)",
        ):
            stream.wait()
    assert first.status == TaskStatus.RUNNING


def test_async_wait_after_closing_a_stream_early_says_what_to_do(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)

    async def go() -> None:
        async with AsyncInference(api_key=KEY, base_url=BASE) as client:
            stream = client.stream_task("t1")
            async for _ in stream:
                break
            await stream.aclose()
            with pytest.raises(InferenceError, match="closed before the task ended"):
                await stream.wait()

    asyncio.run(go())


def test_wait_after_iterating_a_failed_task_raises_its_error_again(
    httpx_mock: HTTPXMock,
) -> None:
    failed = {"data": {"status": 11, "error": "boom"}, "fields": ["status", "error"]}
    _stream_then(httpx_mock, RUNNING, failed)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        with pytest.raises(TaskFailedError):
            list(stream)
        with pytest.raises(TaskFailedError, match="boom"):
            stream.wait()


def test_wait_after_iterating_to_the_end_returns_the_result(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        assert [u.status for u in stream] == [TaskStatus.RUNNING, TaskStatus.COMPLETED]
        assert list(stream) == []  # a second pass has nothing new
        assert stream.wait().output == {"ok": True} == stream.result.output  # type: ignore[union-attr]

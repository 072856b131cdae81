"""A run that waits or streams is one request: ``POST /apps/run?stream=true`` answers with the
task's stream, whose first update names the task.

What it keeps of the two-request run (create, then ``GET /tasks/{id}/stream``): the request
body, every update once and merged, deltas once, the reconnect after a drop, the errors of
the creation (with the ``Idempotency-Key`` when its outcome is unknown) raised from ``run``
itself, and a deadline counted from the task's creation.
"""

from __future__ import annotations

import json

import httpx
import pytest
from core_testkit import BASE, RUN_URL, Chunks, Driver, envelope, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    AsyncInference,
    Inference,
    MalformedResponseError,
    NotFoundError,
    ServerError,
    TaskDelta,
    TaskStatus,
)
from pytest_httpx import HTTPXMock

STREAMED = f"{BASE}/apps/run?stream=true"
STREAM = f"{BASE}/tasks/t1/stream"
NDJSON = {"content-type": "application/x-ndjson"}
PARAMS = {"app": "a/b", "input": {"text": "hi"}}

CREATED = {"data": task(status=1, app="a/b"), "fields": ["id", "status", "app", "output"]}
RUNNING = {"data": {"id": "t1", "status": 7}, "fields": ["status"]}
DONE = {
    "data": {"id": "t1", "status": 10, "output": {"text": "hi"}},
    "fields": ["status", "output"],
}


def delta(seq: int, text: str) -> dict[str, object]:
    return {"event": "delta", "data": {"delta": {"response": text}, "seq": seq}}


def add_streamed_run(httpx_mock: HTTPXMock, *chunks: bytes, fail: Exception | None = None) -> None:
    httpx_mock.add_response(
        method="POST", url=STREAMED, headers=NDJSON, stream=Chunks(list(chunks), fail)
    )


def posts(httpx_mock: HTTPXMock) -> list[httpx.Request]:
    return [r for r in httpx_mock.get_requests() if r.method == "POST"]


def test_a_run_that_waits_is_one_request(driver: Driver, httpx_mock: HTTPXMock) -> None:
    add_streamed_run(httpx_mock, ndjson(CREATED, {"type": "heartbeat"}, RUNNING), ndjson(DONE))
    result = driver.call(lambda c: c.run(PARAMS))
    assert result.status is TaskStatus.COMPLETED
    assert result.output == {"text": "hi"} and result.app == "a/b"  # merged from every update
    (request,) = httpx_mock.get_requests()
    assert request.url == STREAMED
    # The body is the plain run's: the same Idempotency-Key can be sent again with the params.
    assert json.loads(request.read()) == PARAMS
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.headers["idempotency-key"]


def test_a_stream_names_its_task_and_hands_out_every_update_once(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    add_streamed_run(httpx_mock, ndjson(CREATED, RUNNING, RUNNING), ndjson(DONE))
    ids: list[str] = []

    def stream(client: Inference | AsyncInference) -> object:
        async def go() -> object:
            updates = await client.run(PARAMS, stream=True)  # type: ignore[misc]
            ids.append(updates.task_id)
            return updates

        if isinstance(client, AsyncInference):
            return go()
        updates = client.run(PARAMS, stream=True)
        ids.append(updates.task_id)  # known as soon as run returns
        return updates

    updates = driver.call(stream)
    assert ids == ["t1"]
    assert [u.status for u in updates] == [1, 7, 10]
    assert updates[-1].output == {"text": "hi"}


def test_the_runs_errors_are_raised_by_run_itself(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=STREAMED, status_code=404, json={"detail": "no app"})
    with pytest.raises(NotFoundError):
        driver.call(lambda c: c.run(PARAMS, stream=True))  # before any iteration


def test_a_drop_after_the_task_is_named_goes_on_with_its_stream(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    add_streamed_run(
        httpx_mock,
        ndjson(CREATED, RUNNING, delta(1, "Hel")),
        fail=httpx.RemoteProtocolError("peer closed connection"),
    )
    httpx_mock.add_response(
        url=STREAM, headers=NDJSON, content=ndjson(RUNNING, delta(1, "Hel"), delta(2, "lo"), DONE)
    )
    deltas: list[TaskDelta] = []
    updates = driver.call(lambda c: c.run(PARAMS, stream=True, on_delta=deltas.append))
    assert [u.status for u in updates] == [1, 7, 10]
    assert [(d.task_id, d.seq, d.text) for d in deltas] == [("t1", 1, "Hel"), ("t1", 2, "lo")]
    assert [(r.method, r.url.path) for r in httpx_mock.get_requests()] == [
        ("POST", "/apps/run"),
        ("GET", "/tasks/t1/stream"),
    ]


def test_a_drop_before_the_task_is_named_sends_the_run_again_with_its_key(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    add_streamed_run(httpx_mock, fail=httpx.ReadError("reset"))
    add_streamed_run(httpx_mock, ndjson(CREATED, DONE))  # the task the first one created
    assert driver.call(lambda c: c.run(PARAMS)).status is TaskStatus.COMPLETED
    first, second = posts(httpx_mock)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert len(no_waits) == 1  # the request's backoff


def test_a_run_whose_stream_keeps_dropping_before_its_task_carries_its_key(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    for _ in range(3):  # the first attempt and the request's two retries
        add_streamed_run(httpx_mock, b'{"type":"heartbeat"}\n', fail=httpx.ReadError("reset"))
    with pytest.raises(APIConnectionError) as info:
        driver.call(lambda c: c.run(PARAMS))
    keys = {r.headers["idempotency-key"] for r in posts(httpx_mock)}
    assert len(posts(httpx_mock)) == 3 and len(keys) == 1
    assert info.value.idempotency_key == keys.pop()
    assert info.value.idempotency_key in str(info.value)


def test_a_stream_that_ends_before_naming_its_task_is_malformed(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    add_streamed_run(httpx_mock, b'{"type":"heartbeat"}\n')
    with pytest.raises(MalformedResponseError, match="ended before naming its task") as info:
        driver.call(lambda c: c.run(PARAMS))
    assert info.value.idempotency_key == posts(httpx_mock)[0].headers["idempotency-key"]


def test_a_run_that_failed_past_its_retries_carries_its_key(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        httpx_mock.add_response(method="POST", url=STREAMED, status_code=503, json={"detail": "x"})
    with pytest.raises(ServerError) as info:
        driver.call(lambda c: c.run(PARAMS))
    assert info.value.idempotency_key == posts(httpx_mock)[0].headers["idempotency-key"]
    assert [r.url.path for r in httpx_mock.get_requests()] == ["/apps/run"] * 3  # no stream


def test_deltas_before_the_task_is_named_go_to_it(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # A task that ended a moment ago (a retried run finds it): its deltas, then its snapshot.
    ended = {"data": task(status=10, output={"text": "hi"}), "fields": ["id", "status", "output"]}
    add_streamed_run(httpx_mock, ndjson(delta(1, "h"), delta(2, "i")), ndjson(ended))
    deltas: list[TaskDelta] = []
    result = driver.call(lambda c: c.run(PARAMS, on_delta=deltas.append))
    assert result.output == {"text": "hi"}
    assert [(d.task_id, d.text) for d in deltas] == [("t1", "h"), ("t1", "i")]


def test_deltas_read_with_the_first_update_are_there_for_with_deltas(
    httpx_mock: HTTPXMock,
) -> None:
    add_streamed_run(httpx_mock, ndjson(CREATED, delta(1, "a")), ndjson(DONE))
    add_streamed_run(httpx_mock, ndjson(CREATED, delta(1, "a")), ndjson(DONE))
    with Inference(api_key="k" * 10, base_url=BASE) as client:
        with client.run(PARAMS, stream=True) as stream:
            items = list(stream.with_deltas())
        assert [type(i).__name__ for i in items] == ["Task", "TaskDelta", "Task"]
        with client.run(PARAMS, stream=True) as stream:  # plain iteration: updates only
            assert [u.status for u in stream] == [1, 10]


def test_an_sse_reply_is_read_too(driver: Driver, httpx_mock: HTTPXMock) -> None:
    frames = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (CREATED, DONE))
    httpx_mock.add_response(
        method="POST", url=STREAMED, headers={"content-type": "text/event-stream"}, content=frames
    )
    assert driver.call(lambda c: c.run(PARAMS)).output == {"text": "hi"}


def test_with_a_timeout_the_task_is_created_then_followed(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    # The deadline counts from the task's creation and bounds each read of its stream.
    httpx_mock.add_response(method="POST", url=f"{BASE}/apps/run", json=task(status=1))
    httpx_mock.add_response(url=STREAM, headers=NDJSON, content=ndjson(DONE))
    assert driver.call(lambda c: c.run(PARAMS, timeout=30)).status is TaskStatus.COMPLETED
    assert [str(r.url) for r in httpx_mock.get_requests()] == [f"{BASE}/apps/run", STREAM]


def test_a_run_not_answered_with_a_stream_is_followed_on_the_tasks_stream(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    # A server that does not stream the run's reply answers with the created task.
    httpx_mock.add_response(method="POST", url=RUN_URL, json=envelope(task()))
    httpx_mock.add_response(url=STREAM, headers=NDJSON, content=ndjson(DONE))
    assert driver.call(lambda c: c.run(PARAMS)).output == {"text": "hi"}
    assert [r.url.path for r in httpx_mock.get_requests()] == ["/apps/run", "/tasks/t1/stream"]

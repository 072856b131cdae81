"""The reconnect arguments of the earlier inferencesh 0.36 (``auto_reconnect``,
``reconnect_delay_ms``) on ``run``, ``wait_for_completion`` and ``stream_task``, both clients."""

from __future__ import annotations

import httpx
import pytest
from core_testkit import BASE, Chunks, Driver, ndjson, task
from inferencesh.core import APIConnectionError, TaskStatus
from inferencesh.core.reconnect import DEFAULT_RECONNECT, Reconnect, reconnect_options
from pytest_httpx import HTTPXMock

STREAM = f"{BASE}/tasks/t1/stream"
GET = f"{BASE}/tasks/t1"
RUN = f"{BASE}/apps/run"
HEADERS = {"content-type": "application/x-ndjson"}
RUNNING = {"data": {"id": "t1", "status": 7}, "fields": ["status"]}
DONE = {"data": {"status": 10, "output": {"ok": True}}, "fields": ["status", "output"]}


def _dropping_stream(httpx_mock: HTTPXMock) -> None:
    # Sends one update, then the connection is reset mid-stream.
    httpx_mock.add_response(
        url=STREAM,
        headers=HEADERS,
        stream=Chunks([ndjson(RUNNING)], fail=httpx.RemoteProtocolError("peer closed")),
    )


def _run_wait(**kwargs: object):  # type: ignore[no-untyped-def]
    # With a timeout the task is created first, then followed on /tasks/t1/stream.
    return lambda c: c.run({"app": "a/b", "input": {}}, timeout=60, **kwargs)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_auto_reconnect_false_raises_on_the_first_drop(
    kind: str, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(method="POST", url=RUN, json=task(status=1))
    _dropping_stream(httpx_mock)
    with pytest.raises(APIConnectionError):
        Driver(kind, max_retries=0).call(_run_wait(auto_reconnect=False))
    assert len(httpx_mock.get_requests(url=STREAM)) == 1  # never reopened
    assert httpx_mock.get_requests(url=GET) == []  # nor fetched
    assert no_waits == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_by_default_the_same_drop_is_reconnected(kind: str, httpx_mock: HTTPXMock) -> None:
    # The control of the test above: the same drop, reconnected to the end.
    httpx_mock.add_response(method="POST", url=RUN, json=task(status=1))
    _dropping_stream(httpx_mock)
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(DONE))
    result = Driver(kind, max_retries=0).call(_run_wait())
    assert result.status == TaskStatus.COMPLETED
    assert len(httpx_mock.get_requests(url=STREAM)) == 2


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_auto_reconnect_false_on_a_stream_that_closes_early(
    kind: str, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(RUNNING))
    with pytest.raises(APIConnectionError, match="auto_reconnect=False"):
        Driver(kind, max_retries=0).call(lambda c: c.stream_task("t1", auto_reconnect=False))
    assert len(httpx_mock.get_requests(url=STREAM)) == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("delay_ms", "pause"), [(None, 0.5), (250, 0.25), (8000, 8.0)])
def test_reconnect_delay_ms_is_the_pause_before_reopening(
    kind: str,
    delay_ms: int | None,
    pause: float,
    httpx_mock: HTTPXMock,
    no_waits: list[float],
) -> None:
    # The stream cannot connect; the task is fetched (still running); then the pause, then the
    # stream again. A delay above the 5 s cap is kept as asked.
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=STREAM)
    httpx_mock.add_response(url=GET, json=task(status=7))
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(DONE))
    driver = Driver(kind, max_retries=0)
    extra = {} if delay_ms is None else {"reconnect_delay_ms": delay_ms}
    result = driver.call(lambda c: c.wait_for_completion("t1", **extra))
    assert result.status == TaskStatus.COMPLETED
    assert no_waits == [pause]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_namespaced_run_takes_the_same_arguments(
    kind: str, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(method="POST", url=RUN, json=task(status=1))
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=STREAM)
    httpx_mock.add_response(url=GET, json=task(status=7))
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(DONE))
    params = {"app": "a/b", "input": {}}
    result = Driver(kind, max_retries=0).call(
        lambda c: c.tasks.run(
            params, timeout=60, auto_reconnect=True, max_reconnects=3, reconnect_delay_ms=40
        )
    )
    assert result.status == TaskStatus.COMPLETED
    assert no_waits == [0.04]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"reconnect_delay_ms": -1}, "reconnect_delay_ms"),
        ({"reconnect_delay_ms": float("nan")}, "reconnect_delay_ms"),
        ({"reconnect_delay_ms": "1000"}, "reconnect_delay_ms"),
        ({"max_reconnects": -1}, "max_reconnects"),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_bad_values_are_refused_before_any_request(
    kind: str, kwargs: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        Driver(kind).call(lambda c: c.stream_task("t1", **kwargs))


def test_options_struct() -> None:
    assert reconnect_options() is DEFAULT_RECONNECT  # the common call builds nothing
    off = reconnect_options(auto_reconnect=False, max_reconnects=7)
    assert off == Reconnect(0, None, False) and off.attempts(5) == 0
    assert reconnect_options(reconnect_delay_ms=0).first_delay(0.5) == 0.0
    assert DEFAULT_RECONNECT.attempts(5) == 5 and DEFAULT_RECONNECT.first_delay(0.5) == 0.5


def _stream_class(client: object) -> type:
    from inferencesh.client import AsyncTaskStream, TaskStream

    return AsyncTaskStream if type(client).__name__ == "AsyncInference" else TaskStream


@pytest.mark.parametrize("task_given", [{"id": "t1", "status": 7}, "t1"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_stream_built_as_036_builds_it(
    kind: str, task_given: object, httpx_mock: HTTPXMock
) -> None:
    # 0.36: TaskStream(task, client, auto_reconnect, max_reconnects, reconnect_delay_ms),
    # read with .stream().
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(RUNNING, DONE))
    updates = Driver(kind, max_retries=0).call(
        lambda c: _stream_class(c)(task_given, c, True, 3, 10).stream()
    )
    assert [u.status for u in updates][-1] == TaskStatus.COMPLETED
    assert updates[-1]["output"] == {"ok": True}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_036_built_stream_keeps_its_reconnect_arguments(kind: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=STREAM, headers=HEADERS, content=ndjson(RUNNING))
    with pytest.raises(APIConnectionError, match="auto_reconnect=False"):
        Driver(kind, max_retries=0).call(
            lambda c: _stream_class(c)({"id": "t1"}, c, auto_reconnect=False).stream()
        )
    assert len(httpx_mock.get_requests(url=STREAM)) == 1


@pytest.mark.parametrize("bad", [None, "", {"status": 1}, 42])
def test_a_036_built_stream_needs_a_task(bad: object) -> None:
    from inferencesh.client import TaskStream

    with pytest.raises(TypeError, match="a task stream follows a Task"):
        Driver("sync").call(lambda c: TaskStream(bad, c))

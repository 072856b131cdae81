"""``inferencesh.core.protocol``: one effect vocabulary, one pair of drivers, for every loop.

The client's operations, the task follower and each request's retry loop are all operations
of the same effects, performed by the same sync and async drivers; siblings write theirs with
the module's public names only.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from core_testkit import BASE, KEY, Chunks, Driver, ndjson, task
from inferencesh.core import AsyncInference, Inference, NotFoundError, TaskStatus, _ops, protocol
from inferencesh.core._follow import TaskFollower
from inferencesh.core._transport import Config
from inferencesh.core.errors import APIConnectionError
from inferencesh.core.http import HTTPClient
from inferencesh.core.protocol import (
    EOF,
    NEXT,
    Call,
    Emit,
    Op,
    OpenStream,
    Send,
    Sleep,
    aiterate,
    arun,
    id_path,
    iterate,
    run,
)
from inferencesh.core.streaming import TaskLineDecoder
from inferencesh.core.tasks import follow
from inferencesh.core.types import Task
from pytest_httpx import HTTPXMock

GET = f"{BASE}/tasks/t1"
STREAM = f"{BASE}/tasks/t1/stream"
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def performed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every effect either driver performs, in order (nested runs included)."""
    seen: list[Any] = []
    sync_perform = protocol._SyncDriver.perform
    async_perform = protocol._AsyncDriver.perform

    def spy(self: Any, effect: Any) -> Any:
        seen.append(effect)
        return sync_perform(self, effect)

    async def aspy(self: Any, effect: Any) -> Any:
        seen.append(effect)
        return await async_perform(self, effect)

    monkeypatch.setattr(protocol._SyncDriver, "perform", spy)
    monkeypatch.setattr(protocol._AsyncDriver, "perform", aspy)
    return seen


def kinds(effects: list[Any], *skip: type) -> list[str]:
    return [type(e).__name__ for e in effects if not isinstance(e, skip)]


# -- the retry loop ---------------------------------------------------------------------------


def test_the_retry_loop_is_an_operation_of_send_and_sleep() -> None:
    # Stepped by hand, with no I/O at all: the loop only decides.
    http = HTTPClient(Config(api_key=KEY, base_url=BASE, max_retries=2))
    try:
        prep = http._prepare("POST", "/apps/run", json={"app": "a"})
        op = http._exchange(prep, http._timeout)
        first = next(op)
        assert isinstance(first, Send) and first.prep is prep and not first.stream
        pause = op.send(httpx.Response(503, headers={"retry-after": "0.25"}))
        assert pause == Sleep(0.25)
        again = op.send(None)
        assert again == first  # the same request: the same Idempotency-Key on every attempt
        pause = op.throw(httpx.ConnectError("refused"))
        assert isinstance(pause, Sleep) and 0.5 <= pause.seconds <= 1.0  # backoff, retry 2
        assert isinstance(op.send(None), Send)
        with pytest.raises(APIConnectionError, match=r"POST /apps/run failed: ConnectError"):
            op.throw(httpx.ConnectError("refused"))  # out of retries
    finally:
        http.close()


def test_both_drivers_perform_the_retry_loop(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float], performed: list[Any]
) -> None:
    httpx_mock.add_response(url=GET, status_code=503, headers={"retry-after": "0.5"})
    httpx_mock.add_exception(httpx.ReadError("reset"), url=GET)
    httpx_mock.add_response(url=GET, json=task(status=TaskStatus.RUNNING))
    assert driver.call(lambda c: c.get_task("t1")).status == TaskStatus.RUNNING
    # The operation's Call, then the request's own loop as effects of the same vocabulary.
    assert kinds(performed) == ["Call", "Send", "Sleep", "Send", "Sleep", "Send"]
    assert performed[2] == Sleep(0.5) and no_waits[0] == 0.5 and len(no_waits) == 2
    sends = [e for e in performed if isinstance(e, Send)]
    assert all(s.prep is sends[0].prep for s in sends)


# -- the task follower ------------------------------------------------------------------------


def test_the_follower_answers_with_protocol_effects() -> None:
    # `follow` stepped by hand: open the stream, read it; a drop without news falls back to a
    # GET and a pause, and the stream is opened again. No I/O, no driver.
    def lines(*objs: Any) -> Any:
        return TaskLineDecoder(False).feed(ndjson(*objs))

    reopen = OpenStream("/tasks/t1/stream", 30, task_lines=True)
    op = follow(TaskFollower("t1", idle_timeout=30))
    assert next(op) == reopen
    assert op.send(None) is NEXT
    emitted = op.send(lines(task(status=TaskStatus.RUNNING)))
    assert isinstance(emitted, Emit) and [t.status for t in emitted.value] == [TaskStatus.RUNNING]
    assert op.send(None) is NEXT
    assert op.throw(APIConnectionError("reset")) == reopen  # it was making progress: at once
    assert op.send(None) is NEXT
    assert op.send(EOF) == Call("GET", "/tasks/t1", expect="a task")  # nothing new: ask
    assert op.send(task(status=TaskStatus.RUNNING)) == Sleep(0.5)  # the same: no Emit
    assert op.send(None) == reopen
    assert op.send(None) is NEXT
    emitted = op.send(lines(task(status=TaskStatus.COMPLETED, output={"ok": True})))
    assert [t.status for t in emitted.value] == [TaskStatus.COMPLETED]
    with pytest.raises(StopIteration) as done:
        op.send(None)
    result: Task = done.value.value
    assert result.output == {"ok": True}


def test_both_drivers_perform_the_follower(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float], performed: list[Any]
) -> None:
    running = task(status=TaskStatus.RUNNING)
    done = task(status=TaskStatus.COMPLETED, output={"ok": True})
    # A stream that brings news then ends, one that brings nothing, the GET, then the end.
    httpx_mock.add_response(url=STREAM, headers=NDJSON, stream=Chunks([ndjson(running)]))
    httpx_mock.add_response(url=STREAM, headers=NDJSON, stream=Chunks([]))
    httpx_mock.add_response(url=GET, json=running)
    httpx_mock.add_response(url=STREAM, headers=NDJSON, stream=Chunks([ndjson(running, done)]))
    updates = driver.call(lambda c: c.stream_task("t1"))
    assert [u.status for u in updates] == [TaskStatus.RUNNING, TaskStatus.COMPLETED]
    follower_steps = [e for e in performed if not isinstance(e, (Send, protocol.NextEvent))]
    stream = OpenStream("/tasks/t1/stream", 60.0, task_lines=True)
    fetch = Call("GET", "/tasks/t1", expect="a task")
    assert follower_steps == [stream, stream, fetch, Sleep(0.5), stream]
    assert no_waits == [0.5]  # the follower's pause, through the drivers' one Sleep


# -- an operation written outside core, with the public names only ----------------------------


def status_or_missing(task_ids: list[str]) -> Op[dict[str, Any]]:
    """Emits each task's status; a task that is not found is reported, not raised."""
    found: dict[str, Any] = {}
    for task_id in task_ids:
        try:
            data = yield Call("GET", id_path("/tasks", task_id, "task_id"), expect="a task")
        except NotFoundError:
            found[task_id] = None
            continue
        found[task_id] = data["status"]
        yield Emit(data["status"])
        yield Sleep(0.01)
    return found


def _two_tasks(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=GET, json=task(status=TaskStatus.RUNNING))
    httpx_mock.add_response(url=f"{BASE}/tasks/a%2Fb", status_code=404, json={"detail": "no"})


def test_a_sibling_operation_runs_on_the_sync_driver(
    httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    _two_tasks(httpx_mock)
    _two_tasks(httpx_mock)
    with Inference(api_key=KEY, base_url=BASE) as client:
        assert run(client, status_or_missing(["t1", "a/b"])) == {"t1": 7, "a/b": None}
        out: list[dict[str, Any]] = []
        assert list(iterate(client, status_or_missing(["t1", "a/b"]), out)) == [7]
    assert out == [{"t1": 7, "a/b": None}] and no_waits == [0.01, 0.01]


def test_a_sibling_operation_runs_on_the_async_driver(
    httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    _two_tasks(httpx_mock)
    _two_tasks(httpx_mock)

    async def main() -> tuple[Any, list[Any], list[Any]]:
        async with AsyncInference(api_key=KEY, base_url=BASE) as client:
            result = await arun(client, status_or_missing(["t1", "a/b"]))
            out: list[dict[str, Any]] = []
            emitted = [v async for v in aiterate(client, status_or_missing(["t1", "a/b"]), out)]
            return result, emitted, out

    result, emitted, out = asyncio.run(main())
    assert result == {"t1": 7, "a/b": None} and emitted == [7]
    assert out == [{"t1": 7, "a/b": None}] and no_waits == [0.01, 0.01]


class _Tracked(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An endless event stream that records being closed."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            yield b'{"data": "tick"}\n'

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield b'{"data": "tick"}\n'

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def ticks(cleanup: list[str]) -> Op[None]:
    try:
        yield OpenStream("/events")
        while (event := (yield NEXT)) is not EOF:
            yield Emit(event.data)
    finally:
        cleanup.append("op closed")


def test_closing_an_iteration_closes_the_operation_and_its_stream(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    body = _Tracked()
    httpx_mock.add_response(url=f"{BASE}/events", headers=NDJSON, stream=body)
    cleanup: list[str] = []
    if driver.kind == "sync":
        with Inference(api_key=KEY, base_url=BASE) as client:
            events = iterate(client, ticks(cleanup))
            assert [next(events), next(events)] == ["tick", "tick"]
            events.close()  # what `break` and a `with` block's exit do
    else:

        async def main() -> None:
            async with AsyncInference(api_key=KEY, base_url=BASE) as client:
                events = aiterate(client, ticks(cleanup))
                assert [await events.__anext__(), await events.__anext__()] == ["tick", "tick"]
                await events.aclose()  # type: ignore[attr-defined]

        asyncio.run(main())
    assert cleanup == ["op closed"] and body.closed


# -- the module's other names -----------------------------------------------------------------


def test_the_names_loaded_on_first_use_are_cores_own() -> None:
    from inferencesh.core import _time

    assert protocol.upload_file is _ops.upload_file
    assert protocol.parse_rfc3339 is _time.parse_rfc3339
    namespace: dict[str, Any] = {}
    exec("from inferencesh.core.protocol import *", namespace)
    assert set(protocol.__all__) <= namespace.keys()
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = protocol.nope  # type: ignore[attr-defined]
    # The client itself never loads the timestamp parser (import time).
    code = (
        "import sys, inferencesh.core.client\n"
        "print(*(f'inferencesh.core.{m}' in sys.modules for m in ('protocol', '_time')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_id_path_quotes_one_segment_and_names_a_bad_value() -> None:
    assert id_path("/tasks", "a/b c", "task_id", "/files") == "/tasks/a%2Fb%20c/files"
    for bad in ("", "  ", None, 3):
        with pytest.raises(ValueError, match=r"^task_id must be a non-empty string, got "):
            id_path("/tasks", bad, "task_id")  # type: ignore[arg-type]

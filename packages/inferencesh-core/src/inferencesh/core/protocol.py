"""The effect vocabulary of I/O-free operations, and its two drivers (sync and async).

Protocol logic (the client's operations in ``_ops``, the agent chat procedures) is written
once as generators that yield effects and receive each effect's result. A driver performs the
effects with one client's I/O: ``run``/``iterate`` with an ``Inference``, ``arun``/``aiterate``
with an ``AsyncInference``. An effect that fails is raised inside the operation at its
``yield``, so the operation decides: handle it (reconnect, report) or let it propagate.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from inferencesh.core import _transport
from inferencesh.core.errors import InferenceError
from inferencesh.core.files import Source

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference

T = TypeVar("T")


class Call(msgspec.Struct, frozen=True):
    """Send an API request; the result is the reply's data as builtins. ``expect`` names what
    the reply must hold (``"a task"``), so an empty reply raises saying so."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    timeout: float | None = None
    expect: str | None = None


class Put(msgspec.Struct, frozen=True):
    """Upload a source to a presigned URL (no API auth)."""

    url: str
    source: Source


class Blocking(msgspec.Struct, frozen=True):
    """Run a blocking function (disk access); async drivers run it in a worker thread."""

    fn: Callable[[], Any]


class OpenStream(msgspec.Struct, frozen=True):
    """Open ``GET path`` as an event stream, closing the one open before (a driver holds one);
    ``read_timeout`` bounds each read (``None``: the client's default). With ``task_lines``
    the stream is a task stream read in batches: one list of ``TaskLine`` per received chunk."""

    path: str
    read_timeout: float | None = None
    task_lines: bool = False


class NextEvent(msgspec.Struct, frozen=True):
    """Read the open stream's next item (a ``StreamEvent``, or a batch of ``TaskLine``), or
    ``EOF`` at its end."""


class Sleep(msgspec.Struct, frozen=True):
    """Wait (without blocking the event loop in an async driver)."""

    seconds: float


class Callback(msgspec.Struct, frozen=True):
    """Call a user function with one argument; the result is its return value, awaited when it
    is awaitable (a sync driver runs it with ``asyncio.run``, refused inside a running loop)."""

    fn: Callable[[Any], Any]
    arg: Any


class Emit(msgspec.Struct, frozen=True):
    """Hand a value to whoever iterates the operation (``iterate``/``aiterate``)."""

    value: Any


Effect = Call | Put | Blocking | OpenStream | NextEvent | Sleep | Callback | Emit
Op = Generator[Effect, Any, T]
NEXT = NextEvent()
EOF: Any = object()
"""The result of ``NextEvent`` once the stream has ended."""


class AsyncCallbackInSyncError(InferenceError):
    """A synchronous driver got an awaitable from a callback while an event loop is running."""


def _resolve_sync(value: Any) -> Any:
    """Run a callback's awaitable from synchronous code."""
    import asyncio  # here, not at the top: most programs never need it (import time)

    try:
        asyncio.get_running_loop()
    except RuntimeError:

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    close = getattr(value, "close", None)
    if close is not None:
        close()  # never awaited: say so once, here, instead of a RuntimeWarning later
    raise AsyncCallbackInSyncError(
        "an async callback was given to a synchronous client inside a running event loop; "
        "use the async client (async_inference(...)) instead"
    )


class _SyncDriver:
    """Performs effects with an ``Inference``; holds the one open event stream."""

    __slots__ = ("_client", "_stream")

    def __init__(self, client: Inference) -> None:
        self._client = client
        self._stream: Iterator[Any] | None = None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    def perform(self, effect: Effect) -> Any:
        # The most frequent first: a stream event, or a request.
        if isinstance(effect, NextEvent):
            assert self._stream is not None, "NextEvent before OpenStream"
            return next(self._stream, EOF)
        http = self._client.http
        if isinstance(effect, Call):
            return http.request(
                effect.method,
                effect.path,
                json=effect.json,
                params=effect.params,
                timeout=effect.timeout,
                idempotency_key=effect.idempotency_key,
                expect=effect.expect,
            )
        if isinstance(effect, Callback):
            value = effect.fn(effect.arg)
            if value is not None and inspect.isawaitable(value):
                return _resolve_sync(value)
            return value
        if isinstance(effect, Blocking):
            return effect.fn()
        if isinstance(effect, Put):
            return http.put(effect.url, effect.source)
        if isinstance(effect, OpenStream):
            self._close_stream()
            if effect.task_lines:
                self._stream = http.task_lines(effect.path, effect.read_timeout)
            else:
                self._stream = http.stream("GET", effect.path, read_timeout=effect.read_timeout)
            return None
        if isinstance(effect, Sleep):
            _transport.sleep(effect.seconds)
            return None
        raise AssertionError(f"unexpected effect {effect!r}")

    def iterate(self, op: Op[T], out: list[T]) -> Iterator[Any]:
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    out.append(stop.value)
                    return
                value, error = None, None
                if isinstance(effect, Emit):
                    yield effect.value
                    continue
                try:
                    value = self.perform(effect)
                except Exception as exc:  # noqa: BLE001 - raised inside the operation
                    error = exc
        finally:
            try:
                self._close_stream()
            finally:
                op.close()  # even when closing the stream is interrupted (a second Ctrl-C)


class _AsyncDriver:
    """Performs effects with an ``AsyncInference``; holds the one open event stream."""

    __slots__ = ("_client", "_stream")

    def __init__(self, client: AsyncInference) -> None:
        self._client = client
        self._stream: AsyncIterator[Any] | None = None

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()

    async def perform(self, effect: Effect) -> Any:
        if isinstance(effect, NextEvent):
            assert self._stream is not None, "NextEvent before OpenStream"
            try:
                return await self._stream.__anext__()
            except StopAsyncIteration:
                return EOF
        http = self._client.http
        if isinstance(effect, Call):
            return await http.request(
                effect.method,
                effect.path,
                json=effect.json,
                params=effect.params,
                timeout=effect.timeout,
                idempotency_key=effect.idempotency_key,
                expect=effect.expect,
            )
        if isinstance(effect, Callback):
            value = effect.fn(effect.arg)
            if value is not None and inspect.isawaitable(value):
                return await value
            return value
        if isinstance(effect, Blocking):
            import anyio.to_thread

            return await anyio.to_thread.run_sync(effect.fn)
        if isinstance(effect, Put):
            return await http.put(effect.url, effect.source)
        if isinstance(effect, OpenStream):
            await self._close_stream()
            if effect.task_lines:
                self._stream = http.task_lines(effect.path, effect.read_timeout)
            else:
                self._stream = http.stream("GET", effect.path, read_timeout=effect.read_timeout)
            return None
        if isinstance(effect, Sleep):
            await _transport.asleep(effect.seconds)
            return None
        raise AssertionError(f"unexpected effect {effect!r}")

    async def iterate(self, op: Op[T], out: list[T]) -> AsyncIterator[Any]:
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    out.append(stop.value)
                    return
                value, error = None, None
                if isinstance(effect, Emit):
                    yield effect.value
                    continue
                try:
                    value = await self.perform(effect)
                except Exception as exc:  # noqa: BLE001 - raised inside the operation
                    error = exc
        finally:
            try:
                await self._close_stream()
            finally:
                op.close()  # even when closing the stream is cancelled too


def run(client: Inference, op: Op[T]) -> T:
    """Run ``op`` to its end with blocking I/O; returns its result (emitted values are dropped)."""
    out: list[T] = []
    for _ in _SyncDriver(client).iterate(op, out):
        pass
    return out[0]


def iterate(client: Inference, op: Op[T], out: list[T] | None = None) -> Iterator[Any]:
    """Run ``op`` with blocking I/O, yielding each value it emits; its result is appended to
    ``out`` when it ends."""
    return _SyncDriver(client).iterate(op, [] if out is None else out)


async def arun(client: AsyncInference, op: Op[T]) -> T:
    """Run ``op`` to its end with awaits; returns its result (emitted values are dropped)."""
    out: list[T] = []
    async for _ in _AsyncDriver(client).iterate(op, out):
        pass
    return out[0]


def aiterate(client: AsyncInference, op: Op[T], out: list[T] | None = None) -> AsyncIterator[Any]:
    """Run ``op`` with awaits, yielding each value it emits; its result is appended to ``out``
    when it ends."""
    return _AsyncDriver(client).iterate(op, [] if out is None else out)

"""What sibling distributions build on: the effect vocabulary, its drivers, and helpers.

Protocol logic is written once, free of I/O, as generators that yield *effects* (send an API
request, read the next stream event, wait, call a user callback, ...) and receive each
effect's result back; the generator's return value is the operation's result. A *driver*
performs the effects with one client's I/O: ``run``/``iterate`` with an ``Inference``,
``arun``/``aiterate`` with an ``AsyncInference``. An effect that fails is raised inside the
operation at its ``yield``, so the operation decides: handle it (reconnect, report) or let it
propagate. Closing a driver's iterator (``break`` and ``close()``, Ctrl-C, cancellation)
closes the stream it holds and the operation.

One vocabulary serves all of core: the client's operations (``inferencesh.core._ops``), the
task follower (``inferencesh.core.tasks.follow``), and each request's retry loop in
``inferencesh.core.http`` (``Send`` one attempt, ``Sleep`` between attempts, per the policy of
``inferencesh.core.retry``). ``inferencesh.agents`` writes its chat procedures in it too.

Also here, for operations written outside core: ``id_path`` (an endpoint path with an id in
it), ``upload_file`` (the client's upload as an operation, to ``yield from``) and
``parse_rfc3339`` (the platform's timestamps, read the same on every Python).

Example:
    An operation that fetches a task and emits its status on the way:

    >>> from inferencesh.core.protocol import Call, Emit, Op, id_path, iterate, run
    >>> def result_of(task_id: str) -> Op[str]:
    ...     data = yield Call("GET", id_path("/tasks", task_id, "task_id"), expect="a task")
    ...     yield Emit(data["status"])
    ...     return data["output"]["result"]
    >>> task = client.run({"app": "local/hello", "input": {"prompt": "A cat"}})
    >>> run(client, result_of(task.id))  # the result; emitted values are dropped
    'modern: A cat'
    >>> list(iterate(client, result_of(task.id)))  # the emitted values (10: completed)
    [10]
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import msgspec

from inferencesh.core import _transport
from inferencesh.core.errors import InferenceError

if TYPE_CHECKING:
    import httpx

    from inferencesh.core._ops import upload_file
    from inferencesh.core._time import parse_rfc3339
    from inferencesh.core._transport import Prepared
    from inferencesh.core.client import AsyncInference, Inference
    from inferencesh.core.files import Source
    from inferencesh.core.http import AsyncHTTPClient, HTTPClient

__all__ = [
    "EOF",
    "NEXT",
    "AsyncCallbackInSyncError",
    "Blocking",
    "Call",
    "Callback",
    "Effect",
    "Emit",
    "NextEvent",
    "Op",
    "OpenStream",
    "Put",
    "Send",
    "Sleep",
    "aiterate",
    "arun",
    "id_path",
    "iterate",
    "parse_rfc3339",
    "run",
    "upload_file",
]

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


class Send(msgspec.Struct, frozen=True):
    """One attempt of a prepared HTTP request, never retried (the transport's retry loop yields
    it); the result is the ``httpx.Response``, already read and closed when its status is 300
    or more. ``stream`` leaves a successful reply's body unread; ``source`` is an upload body,
    read from its start on each attempt."""

    prep: Prepared
    timeout: httpx.Timeout
    stream: bool = False
    source: Source | None = None


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
    the stream is a task stream read in batches: one list of ``TaskLine`` per received chunk.

    ``method``, ``json``, ``params`` and ``idempotency_key`` make it another request whose
    reply is a stream (``POST /apps/run?stream=true``); a task stream opened by a ``POST``
    that answers with plain JSON gives the task as its one line."""

    path: str
    read_timeout: float | None = None
    task_lines: bool = False
    method: str = "GET"
    json: Any = None
    params: Mapping[str, Any] | None = None
    idempotency_key: str | None = None


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


Effect = Call | Send | Put | Blocking | OpenStream | NextEvent | Sleep | Callback | Emit
"""Every effect an operation may yield."""
Op = Generator[Effect, Any, T]
"""An operation: yields effects, receives their results, returns a ``T``."""
NEXT = NextEvent()
"""The one ``NextEvent``: ``event = yield NEXT``."""
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


def _open(http: Any, effect: OpenStream) -> Any:
    """The iterator of an ``OpenStream`` from a sync or an async transport."""
    if effect.task_lines:
        return http.task_lines(
            effect.path,
            effect.read_timeout,
            method=effect.method,
            json=effect.json,
            params=effect.params,
            idempotency_key=effect.idempotency_key,
        )
    return http.stream(
        effect.method,
        effect.path,
        json=effect.json,
        params=effect.params,
        read_timeout=effect.read_timeout,
    )


class _SyncDriver:
    """Performs effects with one sync transport (``HTTPClient``); holds one open stream."""

    __slots__ = ("_http", "_stream")

    def __init__(self, http: HTTPClient) -> None:
        self._http = http
        self._stream: Iterator[Any] | None = None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    def perform(self, effect: Effect) -> Any:
        """Carry out one effect and return its result (or raise its error)."""
        # The most frequent first: a stream event, a request, one attempt of a request.
        if isinstance(effect, NextEvent):
            assert self._stream is not None, "NextEvent before OpenStream"
            return next(self._stream, EOF)
        http = self._http
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
        if isinstance(effect, Send):
            return http._attempt(effect)
        if isinstance(effect, Sleep):
            _transport.sleep(effect.seconds)
            return None
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
            self._stream = _open(http, effect)
            return None
        raise AssertionError(f"unexpected effect {effect!r}")

    def iterate(self, op: Op[T], out: list[T]) -> Iterator[Any]:
        """Run ``op``, yielding what it emits; its result is appended to ``out``."""
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

    def run(self, op: Op[T]) -> T:
        """Run ``op`` to its end; returns its result (emitted values are dropped).

        ``iterate``'s loop without a generator around it: every request's retry loop runs
        here, so it costs no more than a loop written for it alone."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value, error = None, None
                if isinstance(effect, Emit):
                    continue
                try:
                    value = self.perform(effect)
                except Exception as exc:  # noqa: BLE001 - raised inside the operation
                    error = exc
        finally:
            try:
                self._close_stream()
            finally:
                op.close()


class _AsyncDriver:
    """Performs effects with one async transport (``AsyncHTTPClient``); holds one open stream."""

    __slots__ = ("_http", "_stream")

    def __init__(self, http: AsyncHTTPClient) -> None:
        self._http = http
        self._stream: AsyncIterator[Any] | None = None

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()

    async def perform(self, effect: Effect) -> Any:
        """Carry out one effect and return its result (or raise its error)."""
        if isinstance(effect, NextEvent):
            assert self._stream is not None, "NextEvent before OpenStream"
            try:
                return await self._stream.__anext__()
            except StopAsyncIteration:
                return EOF
        http = self._http
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
        if isinstance(effect, Send):
            return await http._attempt(effect)
        if isinstance(effect, Sleep):
            await _transport.asleep(effect.seconds)
            return None
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
            self._stream = _open(http, effect)
            return None
        raise AssertionError(f"unexpected effect {effect!r}")

    async def iterate(self, op: Op[T], out: list[T]) -> AsyncIterator[Any]:
        """Run ``op``, yielding what it emits; its result is appended to ``out``."""
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

    async def run(self, op: Op[T]) -> T:
        """Run ``op`` to its end; returns its result (emitted values are dropped).

        ``iterate``'s loop without an async generator around it (see ``_SyncDriver.run``)."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value, error = None, None
                if isinstance(effect, Emit):
                    continue
                try:
                    value = await self.perform(effect)
                except Exception as exc:  # noqa: BLE001 - raised inside the operation
                    error = exc
        finally:
            try:
                await self._close_stream()
            finally:
                op.close()


def run(client: Inference, op: Op[T]) -> T:
    """Run ``op`` to its end with blocking I/O; returns its result (emitted values are dropped)."""
    return _SyncDriver(client.http).run(op)


def iterate(client: Inference, op: Op[T], out: list[T] | None = None) -> Iterator[Any]:
    """Run ``op`` with blocking I/O, yielding each value it emits; its result is appended to
    ``out`` when it ends."""
    return _SyncDriver(client.http).iterate(op, [] if out is None else out)


async def arun(client: AsyncInference, op: Op[T]) -> T:
    """Run ``op`` to its end with awaits; returns its result (emitted values are dropped)."""
    return await _AsyncDriver(client.http).run(op)


def aiterate(client: AsyncInference, op: Op[T], out: list[T] | None = None) -> AsyncIterator[Any]:
    """Run ``op`` with awaits, yielding each value it emits; its result is appended to ``out``
    when it ends."""
    return _AsyncDriver(client.http).iterate(op, [] if out is None else out)


def id_path(prefix: str, value: str, what: str, suffix: str = "") -> str:
    """``prefix/<value>suffix`` with ``value`` percent-encoded as one path segment; a
    ``ValueError`` naming ``what`` when ``value`` is not a non-empty string.

    >>> from inferencesh.core.protocol import id_path
    >>> id_path("/chats", "c 1/2", "chat_id", "/stream")
    '/chats/c%201%2F2/stream'
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return f"{prefix}/{quote(value, safe='')}{suffix}"


def __getattr__(name: str) -> Any:
    # Loaded on first use: `upload_file` is one of the client's operations (in `_ops`, which
    # builds on this module, so either may be imported first), and the client never needs
    # `parse_rfc3339` (import time).
    if name == "upload_file":
        from inferencesh.core._ops import upload_file

        return upload_file
    if name == "parse_rfc3339":
        from inferencesh.core._time import parse_rfc3339

        return parse_rfc3339
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Task streams: every update of a task until it ends, across dropped connections.

``TaskStream`` (sync) and ``AsyncTaskStream`` (async) are what ``client.run(..., stream=True)``
and ``client.stream_task(id)`` return. Iterate them for updates (each a ``Task``, merged from
partial updates, never the same one twice); use them as context managers to close the
connection early. A loop left by ``break`` leaves a stream open, as it would a generator: a
later loop goes on with the next update; leaving the ``with`` block (or ``close()``) lets the
connection go at once. ``.result`` holds the completed task once the stream has ended. A task
that ends FAILED or CANCELLED is yielded, then ``TaskFailedError`` / ``TaskCancelledError``
is raised.

Deltas (token increments an app streams, see ``inferencesh.core.deltas``) go to an
``on_delta`` callback given to the stream, and ``with_deltas()`` iterates them as
``TaskDelta`` items among the updates; plain iteration skips them.

The decisions (merging, reconnecting, falling back to ``GET /tasks/{id}``, deadlines) are in
``TaskFollower``, which answers each with an effect of ``inferencesh.core.protocol``;
``follow`` performs them once, as an operation that both clients' drivers run.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from itertools import chain
from types import TracebackType
from typing import TYPE_CHECKING, Any

from inferencesh.core import protocol
from inferencesh.core._follow import TaskFollower, outcome
from inferencesh.core._transport import convert
from inferencesh.core.deltas import TaskDelta
from inferencesh.core.errors import (
    APIConnectionError,
    InferenceError,
    ServerError,
    SessionError,
)
from inferencesh.core.protocol import EOF, NEXT, Call, Emit, Op, OpenStream
from inferencesh.core.reconnect import reconnect_options
from inferencesh.core.types import Task

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference

__all__ = ["AsyncTaskStream", "OnDelta", "TaskStream", "follow"]

OnDelta = Callable[[TaskDelta], Any]
"""A callback for each delta of a task (an async client also awaits what it returns)."""


def follow(follower: TaskFollower) -> Op[Task]:
    """Follow a task to its end: emits lists of new updates; returns the completed task.

    Updates are emitted in batches (one per received chunk): on long streams a resumed
    generator per update is a large part of the cost, a list per chunk is not. A task that
    ends FAILED or CANCELLED raises after its last update has been emitted.
    """
    first = follower.initial()
    if first is not None:
        yield Emit([first])
    while (action := follower.next_action()) is not None:
        if isinstance(action, OpenStream):
            error: APIConnectionError | ServerError | None = None
            try:
                yield action
                while (lines := (yield NEXT)) is not EOF:
                    follower.received_bytes()
                    updates = follower.feed_lines(lines)
                    if updates:
                        yield Emit(updates)
                    if follower.done or follower.expired:
                        break
            except (APIConnectionError, ServerError) as exc:
                if action.method != "GET" and exc.idempotency_key is not None:
                    # The task's creation failed past its retries (a refused connection, a
                    # 5xx), its outcome unknown: not a drop of its stream, to be sent again.
                    raise
                # A 5xx that outlasted the request's retries (a restarting platform) is one
                # more failed reconnect, like a refused connection: not the end of the wait.
                error = _transient(exc)
            follower.stream_ended(error)
        elif isinstance(action, Call):  # GET /tasks/{id}
            try:
                data = yield action
            except (APIConnectionError, ServerError) as exc:
                follower.fetch_failed(_transient(exc))
                continue
            task: Task = convert(data, Task, f"GET {action.path}")
            update = follower.fetched(task)
            if update is not None:
                yield Emit([update])
        else:  # Sleep
            yield action
            follower.slept()
    assert follower.current is not None  # done implies a current task
    return outcome(follower.current)


def _transient(exc: APIConnectionError | ServerError) -> APIConnectionError | ServerError:
    """``exc`` if following may go on after it; raises it when it is a definite answer (the
    session's worker is gone)."""
    if isinstance(exc, SessionError):
        raise exc
    return exc


def _follower_of(
    task: Task | Mapping[str, Any] | str | None,
    client: Inference | AsyncInference,
    auto_reconnect: bool,
    max_reconnects: int | None,
    reconnect_delay_ms: float | None,
) -> TaskFollower:
    """The follower of a stream built as 0.36 built it: ``(task, client, reconnect...)``."""
    if isinstance(task, Task):
        known = task
    elif isinstance(task, str) and task:
        known = Task(id=task)
    elif isinstance(task, Mapping) and isinstance(task.get("id"), str) and task["id"]:
        known = convert(dict(task), Task, "the task of a TaskStream")
    else:
        raise TypeError(f"a task stream follows a Task, its dict or its id, got {task!r}")
    reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
    return client._follower(known, None, reconnect)


class _StreamBase:
    def __init__(self, follower: TaskFollower, on_delta: OnDelta | None = None) -> None:
        self._follower = follower
        self._on_delta = on_delta
        follower.keep_deltas = on_delta is not None
        self._outcome: list[Task] = []
        # The batch being handed out: a loop left by `break` may stop inside one (updates
        # arrive in batches, one per received chunk), and the next loop starts with the rest.
        self._current: Iterator[Any] = iter(())

    def _keeping_deltas(self) -> bool:
        # While priming, deltas are kept whatever the caller asks for later (`with_deltas`);
        # returns the setting to restore.
        keep = self._follower.keep_deltas
        self._follower.keep_deltas = True
        return keep

    def _remember(self, batch: list[Any]) -> Iterator[Any]:
        self._current = current = iter(batch)
        return current

    @property
    def task_id(self) -> str:
        """The id of the task being followed."""
        return self._follower.task_id

    @property
    def task(self) -> Task | None:
        """The latest known state of the task."""
        return self._follower.current

    @property
    def result(self) -> Task | None:
        """The completed task, once the stream has ended with COMPLETED."""
        return self._outcome[0] if self._outcome else None

    def _final(self) -> Task:
        """The outcome once the updates are exhausted: the completed task, the task's error,
        or, for a stream closed before the end, an error saying how to wait again."""
        if self._outcome:
            return self._outcome[0]
        follower = self._follower
        if follower.done and follower.current is not None:
            return outcome(follower.current)
        raise InferenceError(
            f"the stream of task {follower.task_id} was closed before the task ended; wait "
            f"for it with client.wait_for_completion({follower.task_id!r})"
        )


class TaskStream(_StreamBase):
    """Updates of one task (sync); iterate it, or use it as a context manager.

    Example:
        >>> params = {"app": "local/hello", "input": {"prompt": "A cat"}}
        >>> with client.run(params, stream=True) as stream:  # closes the connection on exit
        ...     for update in stream:
        ...         if update.status.is_terminal:
        ...             print(update.status, update["logs"][-1]["content"].strip())
        completed Processing...
        >>> stream.result.output["result"]  # the completed task
        'modern: A cat'
    """

    def __init__(
        self,
        task: Task | Mapping[str, Any] | str | None,
        client: Inference,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follower: TaskFollower | None = None,
        on_delta: OnDelta | None = None,
        op: Op[Task] | None = None,
    ) -> None:
        """Follow ``task`` (a ``Task``, its dict or its id) with ``client``; the reconnect
        arguments are those of ``client.stream_task``. The client passes its own ``follower``
        (and ``op``, which may create the task first) instead."""
        if follower is None:
            follower = _follower_of(
                task, client, auto_reconnect, max_reconnects, reconnect_delay_ms
            )
        super().__init__(follower, on_delta)
        # `op` (default: `follow(follower)`) may do more first, such as create the task.
        self._run: Iterator[Any] = protocol.iterate(
            client, follow(follower) if op is None else op, self._outcome
        )
        self._source: Iterator[Any] = self._run
        self._batches: Iterator[Any] = self._source
        if on_delta is not None:
            self._batches = map(self._updates_only, self._source)

    def _prime(self) -> None:
        """Read the first batch now: the request that creates the task answers (or raises)
        before the stream is handed out, and names the task."""
        keep = self._keeping_deltas()
        try:
            first = next(self._run, None)
        finally:
            self._follower.keep_deltas = keep
        if first is None:
            return
        self._source = chain([first], self._run)
        if self._on_delta is not None:
            self._batches = map(self._updates_only, self._source)
        else:
            # The first batch may hold deltas nobody asked for (yet): not among the updates.
            # (No bound method is kept: a stream dropped by a loop's `break` is freed at once.)
            updates = [item for item in first if type(item) is not TaskDelta]
            self._batches = chain([updates], self._run)

    def _updates_only(self, batch: list[Any]) -> list[Task]:
        # Deltas go to the callback; the updates go on.
        return [item for item in self._notify(batch) if type(item) is not TaskDelta]

    def _notify(self, batch: list[Any]) -> list[Any]:
        if self._on_delta is not None:
            for item in batch:
                if type(item) is TaskDelta:
                    self._on_delta(item)
        return batch

    def __iter__(self) -> Iterator[Task]:
        # One `map` call per batch, not a generator step per update (long streams).
        return chain(self._current, chain.from_iterable(map(self._remember, self._batches)))

    def stream(self) -> Iterator[Task]:
        """The updates (0.36's spelling of ``iter(stream)``)."""
        return iter(self)

    def with_deltas(self) -> Iterator[Task | TaskDelta]:
        """Iterate the updates and, in order among them, the task's deltas (``TaskDelta``).

        Call it before reading the stream; an ``on_delta`` callback still gets each delta.

        Example:
            >>> from inferencesh.core import TaskDelta
            >>> params = {"app": "local/scripted-model", "input": {"text": "Hi there"}}
            >>> pieces = []
            >>> with client.run(params, stream=True) as stream:
            ...     for item in stream.with_deltas():
            ...         if isinstance(item, TaskDelta):
            ...             pieces.append(item.text)
            >>> pieces, stream.result.output["response"]
            (['You', ' said:', ' Hi', ' there'], 'You said: Hi there')
        """
        self._follower.keep_deltas = True
        batches = map(self._remember, map(self._notify, self._source))
        return chain(self._current, chain.from_iterable(batches))

    def wait(self) -> Task:
        """Read the stream to its end and return the completed task (or raise)."""
        for _ in self._batches:
            pass
        return self._final()

    def close(self) -> None:
        """Stop following and close the connection."""
        close = getattr(self._run, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> TaskStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTaskStream(_StreamBase):
    """Updates of one task (async); ``async for`` it, or use it with ``async with``."""

    def __init__(
        self,
        task: Task | Mapping[str, Any] | str | None,
        client: AsyncInference,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follower: TaskFollower | None = None,
        on_delta: OnDelta | None = None,
        op: Op[Task] | None = None,
    ) -> None:
        """Follow ``task`` with ``client``; see ``TaskStream``."""
        if follower is None:
            follower = _follower_of(
                task, client, auto_reconnect, max_reconnects, reconnect_delay_ms
            )
        super().__init__(follower, on_delta)
        self._batches: AsyncIterator[Any] = protocol.aiterate(
            client, follow(follower) if op is None else op, self._outcome
        )
        # The first batch when it was read before the stream was handed out (`_prime`).
        self._primed: list[Any] | None = None

    async def _prime(self) -> None:
        """Read the first batch now; see ``TaskStream._prime``."""
        keep = self._keeping_deltas()
        try:
            self._primed = await self._batches.__anext__()
        except StopAsyncIteration:
            pass
        finally:
            self._follower.keep_deltas = keep

    def _take_primed(self) -> list[Any]:
        primed, self._primed = self._primed, None
        return primed or []

    async def _notify(self, batch: list[Any]) -> None:
        if self._on_delta is not None:
            for item in batch:
                if type(item) is TaskDelta:
                    result = self._on_delta(item)
                    if inspect.isawaitable(result):
                        await result

    async def __aiter__(self) -> AsyncIterator[Task]:
        for update in self._current:
            if type(update) is not TaskDelta:
                yield update
        if self._primed is not None:
            primed = self._take_primed()
            await self._notify(primed)
            for update in self._remember([u for u in primed if type(u) is not TaskDelta]):
                yield update
        async for updates in self._batches:
            if self._follower.keep_deltas:
                await self._notify(updates)
                updates = [u for u in updates if type(u) is not TaskDelta]
            for update in self._remember(updates):
                yield update

    def stream(self) -> AsyncIterator[Task]:
        """The updates (0.36's spelling of ``aiter(stream)``)."""
        return self.__aiter__()

    async def with_deltas(self) -> AsyncIterator[Task | TaskDelta]:
        """Iterate the updates and, in order among them, the task's deltas (``TaskDelta``);
        see ``TaskStream.with_deltas``."""
        self._follower.keep_deltas = True
        for item in self._current:
            yield item
        if self._primed is not None:
            primed = self._take_primed()
            await self._notify(primed)
            for item in self._remember(primed):
                yield item
        async for batch in self._batches:
            await self._notify(batch)
            for item in self._remember(batch):
                yield item

    async def wait(self) -> Task:
        """Read the stream to its end and return the completed task (or raise)."""
        if self._primed is not None:
            await self._notify(self._take_primed())
        async for batch in self._batches:
            await self._notify(batch)
        return self._final()

    async def aclose(self) -> None:
        """Stop following and close the connection."""
        aclose = getattr(self._batches, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncTaskStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

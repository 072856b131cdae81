"""Task streams: every update of a task until it ends, across dropped connections.

``TaskStream`` (sync) and ``AsyncTaskStream`` (async) are what ``client.run(..., stream=True)``
and ``client.stream_task(id)`` return. Iterate them for updates (each a ``Task``, merged from
partial updates, never the same one twice); use them as context managers to close the
connection early. ``.result`` holds the completed task once the stream has ended. A task
that ends FAILED or CANCELLED is yielded, then ``TaskFailedError`` / ``TaskCancelledError``
is raised.

The decisions (merging, reconnecting, falling back to ``GET /tasks/{id}``, deadlines) are in
``TaskFollower``; the loops below only perform them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import aclosing, closing
from itertools import chain
from types import TracebackType
from typing import TYPE_CHECKING

from inferencesh.core import _transport
from inferencesh.core._follow import (
    Fetch,
    Sleep,
    Stream,
    TaskFollower,
    outcome,
    stream_path,
    task_path,
)
from inferencesh.core._transport import convert
from inferencesh.core.errors import APIConnectionError
from inferencesh.core.types import Task

if TYPE_CHECKING:
    from inferencesh.core.http import AsyncHTTPClient, HTTPClient

__all__ = ["AsyncTaskStream", "TaskStream"]


# The loops hand out updates in batches (one per received chunk): on long streams a resumed
# generator per update is a large part of the cost, a list per chunk is not.


def _follow(http: HTTPClient, follower: TaskFollower) -> Generator[list[Task], None, None]:
    first = follower.initial()
    if first is not None:
        yield [first]
    stream = stream_path(follower.task_id)
    while (action := follower.next_action()) is not None:
        if isinstance(action, Stream):
            error: APIConnectionError | None = None
            try:
                with closing(http.task_lines(stream, action.read_timeout)) as chunks:
                    for lines in chunks:
                        follower.received_bytes()
                        updates = follower.feed_lines(lines)
                        if updates:
                            yield updates
                        if follower.done or follower.expired:
                            break
            except APIConnectionError as exc:
                error = exc
            follower.stream_ended(error)
        elif isinstance(action, Fetch):
            path = task_path(follower.task_id)
            task: Task = convert(http.request("GET", path), Task, f"GET {path}")
            update = follower.fetched(task)
            if update is not None:
                yield [update]
        elif isinstance(action, Sleep):
            _transport.sleep(action.seconds)
            follower.slept()


async def _afollow(
    http: AsyncHTTPClient, follower: TaskFollower
) -> AsyncGenerator[list[Task], None]:
    first = follower.initial()
    if first is not None:
        yield [first]
    stream = stream_path(follower.task_id)
    while (action := follower.next_action()) is not None:
        if isinstance(action, Stream):
            error: APIConnectionError | None = None
            try:
                async with aclosing(http.task_lines(stream, action.read_timeout)) as chunks:
                    async for lines in chunks:
                        follower.received_bytes()
                        updates = follower.feed_lines(lines)
                        if updates:
                            yield updates
                        if follower.done or follower.expired:
                            break
            except APIConnectionError as exc:
                error = exc
            follower.stream_ended(error)
        elif isinstance(action, Fetch):
            path = task_path(follower.task_id)
            task: Task = convert(await http.request("GET", path), Task, f"GET {path}")
            update = follower.fetched(task)
            if update is not None:
                yield [update]
        elif isinstance(action, Sleep):
            await _transport.asleep(action.seconds)
            follower.slept()


class _StreamBase:
    def __init__(self, follower: TaskFollower) -> None:
        self._follower = follower
        self.result: Task | None = None
        """The completed task, once the stream has ended with COMPLETED."""

    @property
    def task_id(self) -> str:
        """The id of the task being followed."""
        return self._follower.task_id

    @property
    def task(self) -> Task | None:
        """The latest known state of the task."""
        return self._follower.current

    def _finish(self) -> None:
        current = self._follower.current
        if current is not None and self._follower.done:
            self.result = outcome(current)


class TaskStream(_StreamBase):
    """Updates of one task (sync); iterate it, or use it as a context manager."""

    def __init__(self, http: HTTPClient, follower: TaskFollower) -> None:
        super().__init__(follower)
        self._updates = _follow(http, follower)

    def __iter__(self) -> Iterator[Task]:
        return chain.from_iterable(self._batches())

    def _batches(self) -> Iterator[list[Task]]:
        yield from self._updates
        self._finish()

    def wait(self) -> Task:
        """Read the stream to its end and return the completed task (or raise)."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        """Stop following and close the connection."""
        self._updates.close()

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

    def __init__(self, http: AsyncHTTPClient, follower: TaskFollower) -> None:
        super().__init__(follower)
        self._updates = _afollow(http, follower)

    async def __aiter__(self) -> AsyncIterator[Task]:
        async for updates in self._updates:
            for update in updates:
                yield update
        self._finish()

    async def wait(self) -> Task:
        """Read the stream to its end and return the completed task (or raise)."""
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    async def aclose(self) -> None:
        """Stop following and close the connection."""
        await self._updates.aclose()

    async def __aenter__(self) -> AsyncTaskStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

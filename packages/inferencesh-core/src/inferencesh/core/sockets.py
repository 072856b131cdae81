"""``client.sockets``: the sockets of stream tasks (``/sockets``), and dialling them.

A stream function's run response carries its socket's caller credential (``task.socket``);
``await client.sockets.open(task)`` dials it (what ``client.live(params)`` does after the run).
``get``, ``list``, ``for_task``, ``access`` (a fresh credential) and ``delete`` are the HTTP
routes. The sync client's ``open`` refuses: a live session needs an event loop.

Example:
    >>> import asyncio
    >>> from inferencesh import async_inference
    >>> async def main():
    ...     client = async_inference()
    ...     task = await client.run(
    ...         {"app": "local/live-echo", "function": "echo", "input": {}}, wait=False
    ...     )
    ...     info = await client.sockets.for_task(task.id)
    ...     fresh = await client.sockets.access(info.id)
    ...     await client.sockets.delete(info.id)  # ends the stream: the app returns
    ...     done = await client.wait_for_completion(task.id)
    ...     await client.aclose()
    ...     return info.status, fresh.url.startswith("ws://"), done.status
    >>> asyncio.run(main())
    ('pending', True, <TaskStatus.COMPLETED: 10>)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from inferencesh.core._struct import WireStruct
from inferencesh.core._transport import convert
from inferencesh.core.protocol import Call, Op, id_path
from inferencesh.core.types import SocketAccess, SocketInfo, Task

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference
    from inferencesh.core.live import AsyncLiveSession

__all__ = ["AsyncSocketsAPI", "SocketList", "SocketsAPI"]

SocketTarget = Task | Mapping[str, Any] | str


class SocketList(WireStruct):
    """One page of sockets (a ``CursorListResponse``)."""

    items: list[SocketInfo] = msgspec.field(default_factory=list)
    next_cursor: str | None = None
    prev_cursor: str | None = None
    has_next: bool = False
    has_previous: bool = False
    items_per_page: int | None = None
    total_items: int | None = None


def _get(socket_id: str) -> Op[SocketInfo]:
    path = id_path("/sockets", socket_id, "socket_id")
    data = yield Call("GET", path, expect="a socket")
    result: SocketInfo = convert(data, SocketInfo, f"GET {path}")
    return result


def _list(params: Mapping[str, Any] | None) -> Op[SocketList]:
    data = yield Call("POST", "/sockets/list", json=dict(params or {}))
    result: SocketList = convert(data or {}, SocketList, "POST /sockets/list")
    return result


def _access(socket_id: str) -> Op[SocketAccess]:
    path = id_path("/sockets", socket_id, "socket_id", "/access")
    data = yield Call("POST", path, expect="a socket credential")
    result: SocketAccess = convert(data, SocketAccess, f"POST {path}")
    return result


def _delete(socket_id: str) -> Op[None]:
    yield Call("DELETE", id_path("/sockets", socket_id, "socket_id"))
    return None


def _task_filter(task_id: str) -> dict[str, Any]:
    return {"limit": 1, "filters": [{"field": "task_id", "operator": "eq", "value": task_id}]}


def _target(target: SocketTarget) -> tuple[str, SocketAccess | None]:
    """``(task_id, access or None)`` of a run response, a task mapping or a task id."""
    if isinstance(target, str):
        return target, None
    socket = target.socket if isinstance(target, Task) else target.get("socket")
    task_id = target.id if isinstance(target, Task) else target["id"]
    if socket is not None and not isinstance(socket, SocketAccess):
        socket = convert(socket, SocketAccess, "the task's socket")
    return str(task_id), socket


class SocketsAPI:
    """``client.sockets`` of the sync client: the HTTP routes; ``open`` needs the async one."""

    def __init__(self, client: Inference) -> None:
        self._client = client

    def get(self, socket_id: str) -> SocketInfo:
        """A socket (``GET /sockets/{id}``): status, pairing, frames and bytes each way."""
        return self._client._drive(_get(socket_id))

    def list(self, params: Mapping[str, Any] | None = None) -> SocketList:
        """Sockets, newest first (``POST /sockets/list``, a cursor list request)."""
        return self._client._drive(_list(params))

    def for_task(self, task_id: str) -> SocketInfo | None:
        """The task's socket, or ``None`` when it has none (not a stream function)."""
        items = self.list(_task_filter(task_id)).items
        return items[0] if items else None

    def access(self, socket_id: str) -> SocketAccess:
        """A fresh caller credential (``POST /sockets/{id}/access``)."""
        return self._client._drive(_access(socket_id))

    def delete(self, socket_id: str) -> None:
        """Close both ends of a socket (``DELETE /sockets/{id}``)."""
        self._client._drive(_delete(socket_id))

    def open(self, target: SocketTarget, **kwargs: Any) -> None:
        """Refused: a live session reads and writes frames concurrently on an event loop,
        which the sync client does not run. Use ``AsyncInference``: ``await client.live(...)``
        or ``await client.sockets.open(task)``."""
        raise NotImplementedError(
            "a live session needs the async client: use AsyncInference (async_inference()) and "
            "`await client.live(params)` or `await client.sockets.open(task)`; the sync client "
            "runs no event loop to read and write frames at the same time"
        )


class AsyncSocketsAPI:
    """``client.sockets`` of the async client."""

    def __init__(self, client: AsyncInference) -> None:
        self._client = client

    async def get(self, socket_id: str) -> SocketInfo:
        """A socket (``GET /sockets/{id}``)."""
        return await self._client._drive(_get(socket_id))

    async def list(self, params: Mapping[str, Any] | None = None) -> SocketList:
        """Sockets, newest first (``POST /sockets/list``)."""
        return await self._client._drive(_list(params))

    async def for_task(self, task_id: str) -> SocketInfo | None:
        """The task's socket, or ``None`` when it has none (not a stream function)."""
        items = (await self.list(_task_filter(task_id))).items
        return items[0] if items else None

    async def access(self, socket_id: str) -> SocketAccess:
        """A fresh caller credential (``POST /sockets/{id}/access``)."""
        return await self._client._drive(_access(socket_id))

    async def delete(self, socket_id: str) -> None:
        """Close both ends of a socket (``DELETE /sockets/{id}``)."""
        await self._client._drive(_delete(socket_id))

    async def open(
        self, target: SocketTarget, *, watch_task: bool = True, **session_options: Any
    ) -> AsyncLiveSession:
        """Dial the caller's end of a stream task's socket; returns once the relay accepted it
        (the session is ``waiting`` until the app's first frame).

        ``target`` is the run response (its ``socket`` is used), a task mapping or a task id
        (then the task's socket is looked up and a credential issued). ``watch_task`` ends a
        waiting session when the task ends first. ``session_options`` go to
        :class:`~inferencesh.core.live.AsyncLiveSession` (the callbacks, ``input_schema``,
        ``output_schema``, ``ws_connect``).
        """
        from inferencesh.core.live import AsyncLiveSession

        task_id, access = _target(target)
        if access is None:
            info = await self.for_task(task_id)
            if info is None:
                raise ValueError(f"task {task_id} has no socket: is it a stream function?")
            access = await self.access(info.id)
        socket_id = access.id

        async def renew() -> SocketAccess:
            return await self.access(socket_id)

        session = AsyncLiveSession(
            access.to_dict(),
            renew=lambda: _as_dict(renew()),
            task_watch=self._client.wait_for_completion(task_id) if watch_task else None,
            **session_options,
        )
        await session.connect()
        return session


async def _as_dict(access: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await access).to_dict()
    return result

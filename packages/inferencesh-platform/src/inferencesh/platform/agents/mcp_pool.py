"""Open MCP sessions kept per server, so a turn's calls do not each pay for a new one.

An MCP session costs a handshake (``initialize``) and, for a stdio server, a new process. The
pool keeps one session per server open between calls, within bounds: a session unused for
``INFERENCESH_MCP_IDLE`` seconds (default 60), or older than ``INFERENCESH_MCP_MAX_AGE``
seconds (default 600) once no call uses it, is closed; the next call opens a fresh one.

A session that fails (its transport breaks, the server process exits, a call times out) is
closed and dropped from the pool, never handed out again. A call that fails on a session it
*reused* is tried once more on a fresh one (the old session may simply have died while idle);
a call that fails on a fresh session fails, and the caller names the server.

Each session lives in a task of its own (the ``mcp`` transports are anyio task groups, which
must be left by the task that entered them); calls from any task of the same event loop use it.

Example:
    >>> import asyncio
    >>> from inferencesh.platform.agents.mcp_pool import MCPPool
    >>> pool = MCPPool(idle=5.0)
    >>> asyncio.run(pool.close())  # nothing open yet: closing is a no-op
    >>> pool.open_sessions()
    0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from mcp import ClientSession

    from .mcp import MCPServer

__all__ = ["DEFAULT_IDLE", "DEFAULT_MAX_AGE", "MCPPool"]

_log = logging.getLogger("inferencesh.platform.agents")

DEFAULT_IDLE = 60.0
DEFAULT_MAX_AGE = 600.0
_T = TypeVar("_T")
Opener = Callable[["MCPServer"], AbstractAsyncContextManager["ClientSession"]]


@dataclass(eq=False)
class _Entry:
    server: MCPServer
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0
    usable: bool = True
    session: ClientSession | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    owner: asyncio.Task[None] | None = None


class MCPPool:
    """One open session per MCP server, reused across calls (see the module docs)."""

    def __init__(
        self,
        opener: Opener | None = None,
        *,
        idle: float | None = None,
        max_age: float | None = None,
    ) -> None:
        self._opener = opener
        env_idle = os.environ.get("INFERENCESH_MCP_IDLE")
        env_age = os.environ.get("INFERENCESH_MCP_MAX_AGE")
        self.idle = idle if idle is not None else float(env_idle or DEFAULT_IDLE)
        self.max_age = max_age if max_age is not None else float(env_age or DEFAULT_MAX_AGE)
        self._entries: dict[MCPServer, _Entry] = {}
        self._locks: dict[MCPServer, asyncio.Lock] = {}

    def open_sessions(self) -> int:
        """How many sessions are open now."""
        return sum(1 for e in self._entries.values() if e.usable)

    async def run(self, server: MCPServer, work: Callable[[ClientSession], Awaitable[_T]]) -> _T:
        """``await work(session)`` on the server's pooled session (opened when none is)."""
        entry, fresh = await self._acquire(server)
        try:
            return await self._use(entry, work)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if fresh:
                raise
            _log.info(
                "MCP server %r: a pooled session failed (%r); opening a new one", server.name, exc
            )
        entry, _ = await self._acquire(server)
        return await self._use(entry, work)

    async def _use(self, entry: _Entry, work: Callable[[ClientSession], Awaitable[_T]]) -> _T:
        entry.busy += 1
        try:
            assert entry.session is not None
            result = await work(entry.session)
        except BaseException:
            # Failed or cut off (a timeout): the session may be broken or mid-request.
            self._drop(entry)
            raise
        finally:
            entry.busy -= 1
            entry.last_used = time.monotonic()
        return result

    async def _acquire(self, server: MCPServer) -> tuple[_Entry, bool]:
        entry = self._entries.get(server)
        if entry is not None and entry.usable:
            return entry, False
        lock = self._locks.setdefault(server, asyncio.Lock())
        async with lock:
            entry = self._entries.get(server)
            if entry is not None and entry.usable:
                return entry, False
            entry = await self._open(server)
            self._entries[server] = entry
            return entry, True

    async def _open(self, server: MCPServer) -> _Entry:
        entry = _Entry(server)
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        entry.owner = asyncio.ensure_future(self._own(entry, ready))
        try:
            entry.session = await asyncio.shield(ready)
        except BaseException:
            entry.usable = False
            entry.closing.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(entry.owner), 5)
            entry.owner.cancel()
            raise
        return entry

    async def _own(self, entry: _Entry, ready: asyncio.Future[ClientSession]) -> None:
        """The session's task: open it, keep it while it is wanted, close it."""
        opener = self._opener or _default_opener
        try:
            async with opener(entry.server) as session:
                if ready.done():  # the opener was given up on
                    return
                # Idle from now on, not from when opening began (a process may be slow to start).
                entry.created = entry.last_used = time.monotonic()
                ready.set_result(session)
                await self._keep(entry)
        except BaseException as exc:  # noqa: BLE001 - told to the caller, or logged
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            elif not isinstance(exc, asyncio.CancelledError):
                _log.info("MCP server %r: session closed: %r", entry.server.name, exc)
        finally:
            self._drop(entry)

    async def _keep(self, entry: _Entry) -> None:
        while not entry.closing.is_set():
            now = time.monotonic()
            if entry.busy:
                wait = self.idle
            else:
                wait = min(entry.last_used + self.idle, entry.created + self.max_age) - now
                if wait <= 0:
                    self._drop(entry)
                    return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(entry.closing.wait(), wait)

    def _drop(self, entry: _Entry) -> None:
        """Never hand ``entry`` out again, and let its task close it."""
        entry.usable = False
        if self._entries.get(entry.server) is entry:
            del self._entries[entry.server]
        entry.closing.set()

    async def close(self) -> None:
        """Close every session (the platform's shutdown)."""
        entries = list(self._entries.values())
        for entry in entries:
            self._drop(entry)
        owners = [e.owner for e in entries if e.owner is not None]
        if not owners:
            return
        _, pending = await asyncio.wait(owners, timeout=5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _default_opener(server: MCPServer) -> AbstractAsyncContextManager[ClientSession]:
    from .mcp import open_session

    return open_session(server)

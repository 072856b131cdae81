"""The last line of the server's error handling: an error no route handled becomes a reply
that says what happened (a full disk says so) on a connection that stays open.

Starlette's own handler of unexpected errors answers and then re-raises, which makes the
server close a kept-alive connection after every 500; :class:`ErrorGuard` answers and stops
there. It wraps the routes (inside the API-key check), so only requests that passed it reach it.

Example:
    >>> import errno, sqlite3
    >>> from inferencesh.platform.guard import disk_full
    >>> disk_full(OSError(errno.ENOSPC, "No space left on device"))
    True
    >>> disk_full(sqlite3.OperationalError("database or disk is full"))
    True
    >>> disk_full(ValueError("full"))
    False
"""

from __future__ import annotations

import errno
import logging
import sqlite3

from inferencesh.platform.responses import problem
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DISK_FULL", "ErrorGuard", "disk_full"]

log = logging.getLogger("inferencesh.platform")

DISK_FULL = "disk full"
"""The words every error caused by a full disk starts with (a task's ``error`` included)."""
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the disk or the database running out of space."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code == getattr(sqlite3, "SQLITE_FULL", 13) or "disk is full" in str(current):
                return True
        current = current.__cause__ or current.__context__
    return False


class ErrorGuard:
    """Answers an unhandled error with a 500 problem (507 ``disk_full`` for a full disk) and
    keeps the connection; an error after the reply started can only end that reply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.guarded(self.app, scope, receive, send)

    async def guarded(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve an HTTP request with ``app``, answering an error it raises before its reply
        started."""
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            await self.answer(Request(scope), exc)(scope, receive, send)

    def answer(self, request: Request, exc: Exception) -> Response:
        """The reply to an unhandled ``exc`` (logged): 507 for a full disk, else 500."""
        if disk_full(exc):
            log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
            reply = problem(
                request,
                507,
                "disk_full",
                f"{DISK_FULL}: the local platform could not save this request's changes "
                f"({exc}); nothing was changed. Free space in its data directory and retry.",
            )
            reply.headers["x-should-retry"] = "false"  # not before someone frees space
            return reply
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(request, 500, "internal_error", f"internal error: {type(exc).__name__}")

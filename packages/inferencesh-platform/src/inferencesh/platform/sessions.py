"""Sessions: a worker leased to one caller, keeping the app's in-memory state between calls.

``session: "new"`` on a run creates a session and starts a dedicated worker (never one from the
shared pool). Calls with ``session: "sess_..."`` go to that worker one at a time, in order. Each
call and each keepalive push the idle deadline forward; an idle session expires, ``DELETE`` ends
it; both stop the worker. A session whose worker dies is ended with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from typing import Any

from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.ids import iso, new_id, now_iso
from inferencesh.platform.store import Store
from inferencesh.platform.workers import Worker, WorkerError

__all__ = ["Session", "SessionManager"]

log = logging.getLogger("inferencesh.platform")


@dataclasses.dataclass(eq=False)
class Session:
    """A live session: its record, its worker and the lock that orders its calls."""

    doc: dict[str, Any]
    app: AppEntry
    idle_timeout: int
    deadline: float
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    worker: Worker | None = None
    inflight: int = 0

    @property
    def id(self) -> str:
        """The ``sess_...`` id."""
        return str(self.doc["id"])


class SessionManager:
    """Creates, routes to, keeps alive and ends sessions."""

    def __init__(self, config: PlatformConfig, store: Store) -> None:
        self._config = config
        self._store = store
        self._live: dict[str, Session] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    # lifecycle
    def recover(self) -> int:
        """End sessions left active by a previous run (their workers are gone)."""
        count = 0
        for doc in self._store.active_sessions():
            stamp = now_iso()
            doc.update(
                status="ended",
                ended_at=stamp,
                updated_at=stamp,
                end_reason="the local platform restarted",
            )
            self._store.put_session(doc)
            count += 1
        return count

    def start(self) -> None:
        """Start the idle-expiry loop."""
        self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def close(self) -> None:
        """Stop the expiry loop and end every live session."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(
            *(
                self._finish(s, "ended", "the local platform shut down")
                for s in list(self._live.values())
            ),
            return_exceptions=True,
        )

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await self._reap_once()
            except Exception:  # a full disk, say: try again next round, never stop reaping
                log.exception("session expiry failed; retrying")

    async def _reap_once(self) -> None:
        now = time.time()
        for session in list(self._live.values()):
            if session.inflight == 0 and _idle_worker_died(session):
                # Its status says so now, not at its next call.
                await self.worker_lost(session, await session.worker.loss_reason())  # type: ignore[union-attr]
            elif session.inflight == 0 and now >= session.deadline:
                await self._finish(session, "expired", f"idle for {session.idle_timeout}s")

    # operations
    def create(self, app: AppEntry, timeout: int | None, task_id: str) -> Session:
        """A new active session for ``app`` (its worker starts with the first call)."""
        if len(self._live) >= self._config.max_sessions:
            raise PlatformError(
                429,
                "rate_limited",
                f"too many live sessions (limit {self._config.max_sessions}); end one with DELETE /sessions/{{id}}",
            )
        idle = timeout if timeout is not None else self._config.default_session_timeout
        stamp = now_iso()
        session_id = new_id("sess_")
        deadline = time.time() + idle
        doc: dict[str, Any] = {
            "id": session_id,
            "short_id": session_id[-8:],
            "created_at": stamp,
            "updated_at": stamp,
            "app_id": app.ref,
            "app_version_id": "local",
            "status": "active",
            "expires_at": iso(deadline),
            "task_id": task_id,
            "call_count": 0,
            "idle_timeout": idle,
        }
        session = Session(doc, app, idle, deadline)
        self._live[session_id] = session
        self._store.put_session(doc)
        return session

    def lookup(self, session_id: str, app: AppEntry | None = None) -> Session:
        """The live session, or the error its record calls for (404, 410, 400 on app mismatch)."""
        session = self._live.get(session_id)
        if session is None:
            doc = self._store.get_session(session_id)
            if doc is None:
                raise PlatformError(404, "SESSION_NOT_FOUND", f"Session not found: {session_id}")
            status = doc.get("status")
            reason = doc.get("end_reason")
            suffix = f" ({reason})" if reason else ""
            if status == "expired":
                raise PlatformError(
                    410, "SESSION_EXPIRED", f"Session expired: {session_id}{suffix}"
                )
            if str(reason or "").startswith("worker lost"):
                # The documented error for a session whose worker went away with its state.
                raise PlatformError(410, "WORKER_LOST", f"Session ended: {session_id}{suffix}")
            raise PlatformError(410, "SESSION_ENDED", f"Session ended: {session_id}{suffix}")
        if session.inflight == 0 and _idle_worker_died(session):
            raise self._lost_between_calls(session)
        if app is not None and session.app.name != app.name:
            raise PlatformError(
                400,
                "APP_MISMATCH",
                f"session {session_id} belongs to {session.app.ref}, not {app.ref}",
            )
        return session

    def get(self, session_id: str) -> dict[str, Any]:
        """The session record (live or finished), or 404."""
        session = self._live.get(session_id)
        if session is not None:
            return session.doc
        doc = self._store.get_session(session_id)
        if doc is None:
            raise PlatformError(404, "SESSION_NOT_FOUND", f"Session not found: {session_id}")
        return doc

    def list(self) -> list[dict[str, Any]]:
        """All session records, newest first."""
        return self._store.list_sessions()

    def _extend(self, session: Session) -> None:
        session.deadline = time.time() + session.idle_timeout
        stamp = now_iso()
        session.doc.update(expires_at=iso(session.deadline), updated_at=stamp)
        self._store.put_session(session.doc)

    def keepalive(self, session_id: str) -> dict[str, Any]:
        """Reset the idle deadline of an active session."""
        session = self.lookup(session_id)
        self._extend(session)
        return session.doc

    async def lease(self, session: Session) -> Worker:
        """The session's worker, started on first use (call with ``session.lock`` held)."""
        if session.id not in self._live:
            self.lookup(session.id)  # raises the ended/expired error
        if session.worker is None or not session.worker.alive:
            if session.worker is not None:
                # Died between calls: end the session (its record says why), as when it dies
                # during a call.
                reason = await session.worker.loss_reason()
                await self.worker_lost(session, reason)
                raise PlatformError(
                    410, "SESSION_ENDED", f"Session ended: {session.id} (its worker was lost)"
                )
            try:
                worker = await Worker.start(session.app, self._config)
            except WorkerError as exc:
                await self._finish(
                    session, "ended", f"its worker could not start: {str(exc).splitlines()[0]}"
                )
                raise
            session.worker = worker
            session.doc["worker_id"] = worker.id
        return session.worker

    def begin_call(self, session: Session) -> None:
        """Mark a call queued or running (the session cannot expire meanwhile)."""
        session.inflight += 1

    def end_call(self, session: Session, task_id: str, counted: bool) -> None:
        """Mark a call finished: count it and push the idle deadline."""
        session.inflight -= 1
        if session.id not in self._live:
            return
        if counted:
            stamp = now_iso()
            session.doc["call_count"] = int(session.doc.get("call_count", 0)) + 1
            session.doc["last_call_at"] = stamp
            session.doc["task_id"] = task_id
        self._extend(session)

    async def worker_lost(self, session: Session, reason: str) -> None:
        """End a session whose worker died."""
        await self._finish(session, "ended", f"worker lost: {reason.splitlines()[0]}")

    async def end(self, session_id: str) -> dict[str, Any]:
        """End a session (``DELETE``); ending an already finished one is a no-op."""
        session = self._live.get(session_id)
        if session is None:
            return self.get(session_id)
        await self._finish(session, "ended", None)
        return session.doc

    def _lost_between_calls(self, session: Session) -> PlatformError:
        """End a session whose worker died while it was idle (before the reaper saw it) and
        return the error its caller gets: 410 ``WORKER_LOST`` (the client's
        ``WorkerLostError``), never a task that fails as any other."""
        worker, session.worker = session.worker, None
        code = None if worker is None else worker.process.returncode
        what = (
            f"the worker process was killed by signal {-code}"
            if code is not None and code < 0
            else f"the worker process exited with code {code}"
        )
        self._live.pop(session.id, None)
        stamp = now_iso()
        session.doc.update(
            status="ended", updated_at=stamp, ended_at=stamp, end_reason=f"worker lost: {what}"
        )
        self._store.put_session(session.doc)
        if worker is not None:
            task = asyncio.get_running_loop().create_task(worker.stop(timeout=0.1))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        return PlatformError(
            410,
            "WORKER_LOST",
            f"Session {session.id} lost its worker while idle ({what}); its in-memory state "
            "is gone: start a new session",
        )

    async def _finish(self, session: Session, status: str, reason: str | None) -> None:
        if self._live.pop(session.id, None) is None:
            return
        stamp = now_iso()
        session.doc.update(status=status, updated_at=stamp, ended_at=stamp)
        if reason:
            session.doc["end_reason"] = reason
        self._store.put_session(session.doc)
        worker, session.worker = session.worker, None
        if worker is not None:
            # A call still running on it fails with a lost worker; the session is over either way.
            await worker.stop(timeout=2.0)


def _idle_worker_died(session: Session) -> bool:
    """Whether the session's worker is gone (exited, killed or given up).

    The process is also asked directly: its exit status reaches the event loop from the child
    watcher a moment after the process is reaped, and a call arriving in that moment must not
    be handed to a dead worker."""
    worker = session.worker
    if worker is None:
        return False
    if not worker.alive:
        return True
    try:
        os.kill(worker.process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # running as another user: it exists
        return False
    return False

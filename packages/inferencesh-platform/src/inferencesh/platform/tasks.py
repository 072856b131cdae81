"""Tasks: records, live updates to streams, and running each task on a worker.

Every task gets a runner (an asyncio task) that waits for a worker (the app's pool, or the
session's leased worker), sends the run over the worker contract and turns the worker's events
into status changes, logs and partial outputs. Each change is saved to SQLite and sent to the
task's stream subscribers as ``{"data": Task(changed fields), "fields": [...]}``; the terminal
update carries the whole task. A worker that dies or stops answering fails its task with the
reason and is replaced; the server itself keeps serving.

A task's record is a ``TaskRecord`` struct (``inferencesh.platform.records``). A change is made on
a copy, written, and only then becomes the live record: a write that fails leaves both the stored
and the live record as they were. Passing states are written with the store's group commit and
may wait a moment for a later state to supersede them (``Store.put_task_soon``); a read of a live
task commits the state it is about to be told first (``Store.settle``). A task's end is committed
(``Store.commit_task``) before it becomes the live record and anyone is told: its waiters, its
streams, its webhook. A new task is committed before its creation's reply names it, unless the
caller waits for its end (then its first write is a later state, often the end itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec
from inferencesh.core.types import TERMINAL_STATUSES as TERMINAL
from inferencesh.core.types import Task, TaskEvent, TaskLog
from inferencesh.core.types import TaskStatus as Status
from inferencesh.platform import deadline
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.deltas import DeltaLog, RecentDeltas
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.files import FileStore
from inferencesh.platform.guard import DISK_FULL, disk_full
from inferencesh.platform.ids import new_id, now_iso
from inferencesh.platform.paths import produced_by_task
from inferencesh.platform.pool import AppPool
from inferencesh.platform.records import TaskRecord, set_fields, task_reply
from inferencesh.platform.reserve import SpaceReserve
from inferencesh.platform.responses import EventBatch
from inferencesh.platform.sessions import Session, SessionManager
from inferencesh.platform.store import Store
from inferencesh.platform.workers import Worker, WorkerError, WorkerLost

__all__ = ["RunSpec", "TaskManager"]

log = logging.getLogger("inferencesh.platform")

_LOG_TYPES = {"build": 0, "run": 1, "serve": 2, "setup": 3, "task": 4}
_END = object()  # closes a subscriber queue
_MAX_LOG_CHARS = 1_000_000  # per log entry (one entry per log type)
_TRUNCATED = "[... earlier output truncated ...]\n"
_LOG_FLUSH_SECONDS = 0.05


@dataclasses.dataclass
class RunSpec:
    """A validated run request."""

    app: AppEntry
    input: Any
    function: str
    setup: dict[str, Any] | None
    session: str | None  # None, "new" or a session id
    session_timeout: int | None
    webhook: str | None
    metadata: dict[str, Any] | None
    run_at: datetime | None = None  # aware; the task stays queued until then
    socket: dict[str, str] | None = None  # a stream function's: the relay end the worker dials


@dataclasses.dataclass(eq=False)
class _Live:
    record: TaskRecord
    subscribers: set[asyncio.Queue[Any]] = dataclasses.field(default_factory=set)
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    runner: asyncio.Task[None] | None = None
    worker: Worker | None = None
    cancel_requested: bool = False
    lost_reason: str | None = None
    session: Session | None = None
    session_released: bool = False
    logs_pending: bool = False
    cancel_deadline: float | None = None  # monotonic time the cancel's grace period ends
    timed_out: str | None = None  # the error of a task stopped at its time limit
    deltas: DeltaLog | None = None  # the app's streamed deltas (never stored; see deltas.py)
    ending: TaskRecord | None = None  # the end, waiting for its commit (nothing changes it now)
    discarded: bool = False  # its creation could not be saved: it never runs


_REPLY_FIELDS = frozenset(Task.__struct_fields__) - {"id", "status"}


def _full(record: TaskRecord) -> dict[str, Any]:
    """A stream update carrying the whole task (``output`` listed even when unset)."""
    reply = task_reply(record)
    fields = set_fields(reply)
    if "output" not in fields:
        fields.append("output")
    return {"data": reply, "fields": fields}


def _drain(queue: asyncio.Queue[Any], batch: list[dict[str, Any]]) -> bool:
    """Move the queue's waiting updates to ``batch``; whether the stream's end was among them."""
    while not queue.empty():
        item = queue.get_nowait()
        if item is _END:
            return True
        batch.append(item)
    return False


def _setup_key(setup: dict[str, Any] | None) -> str:
    return msgspec.json.encode(setup, order="sorted").decode() if setup else "{}"


def _watch_interval(hang_timeout: float) -> float:
    """Seconds between two ``/health`` questions to a worker that runs a task."""
    return max(0.2, min(hang_timeout / 3, 5.0))


_WORKER_STATUSES = {"setting_up": Status.SETTING_UP, "running": Status.RUNNING}
_MOVES: dict[tuple[Status, Status], bool] = {}  # the platform's transition rule, remembered


def _can_move(current: Status, target: Status) -> bool:
    allowed = _MOVES.get((current, target))
    if allowed is None:
        allowed = _MOVES[current, target] = current.can_transition_to(target)
    return allowed


class TaskManager:
    """Creates tasks, runs them on workers and serves their state and streams."""

    def __init__(
        self, config: PlatformConfig, store: Store, files: FileStore, sessions: SessionManager
    ) -> None:
        self._config = config
        self._store = store
        self._files = files
        self._sessions = sessions
        self._pools = {app.name: AppPool(app, config, config.concurrency) for app in config.apps}
        self._live: dict[str, _Live] = {}
        self._recent_deltas = RecentDeltas()
        self._background: set[asyncio.Task[Any]] = set()
        self.space: SpaceReserve | None = None
        """Space given up to save a task's end when the disk is full (see :mod:`.reserve`)."""
        self._unsaved: dict[str, TaskRecord] = {}  # ended, but the disk took no write at all

    @property
    def pools(self) -> dict[str, AppPool]:
        """The worker pool of each app, by app name."""
        return self._pools

    # lifecycle
    def recover(self) -> int:
        """Fail tasks a previous run left unfinished, saying so; returns how many."""
        count = 0
        for record in self._store.unfinished_tasks():
            previous = Status(record.status).name.lower()
            stamp = now_iso()
            failed = msgspec.structs.replace(
                record,
                status=Status.FAILED,
                error=f"the local platform stopped while this task was {previous}; it did not finish",
                updated_at=stamp,
                events=[*(record.events or []), self._event(record.id, Status.FAILED, stamp)],
            )
            self._store.put_task(failed)
            count += 1
        return count

    def warm(self) -> None:
        """Start one worker per app in the background (a failure shows on the first task)."""

        async def warm_all() -> None:
            for pool in self._pools.values():
                try:
                    await pool.warm()
                except WorkerError as exc:
                    log.warning("could not warm a worker for %s: %s", pool.app.ref, exc)

        self._spawn(warm_all())

    async def close(self) -> None:
        """Fail running tasks (the server is stopping) and stop every worker."""
        runners = [live.runner for live in self._live.values() if live.runner is not None]
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(
            *(pool.close() for pool in self._pools.values()), return_exceptions=True
        )

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # creation and reads
    async def create(
        self, spec: RunSpec, *, wait: bool = False, idempotency: tuple[str, str] | None = None
    ) -> TaskRecord:
        """Create a task and start running it; returns the new task record, committed (with
        ``wait`` the caller is told only of the task's end, so the record is written with a
        later state instead). ``idempotency`` is the ``(Idempotency-Key, request digest)``
        that created it, saved with the record. Raises the store's error when the record
        cannot be saved; the task then never runs."""
        live = self._start(spec, idempotency)
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] | None = None
        if wait:
            self._store.put_task_soon(live.record)
        else:
            committed = loop.create_future()
            # Runs before the runner's first step (both are scheduled now, the commit first).
            self._store.commit_task(live.record, functools.partial(self._created, live, committed))
        record = live.record
        self._launch(live, spec)
        if committed is not None:
            await committed
        return record

    async def run(self, spec: RunSpec, *, idempotency: tuple[str, str] | None = None) -> TaskRecord:
        """Create a task, run it in the calling task and return its end: what ``create(spec,
        wait=True)`` then :meth:`wait` do, without a task (and its turns of the event loop) of
        its own. Cancelling a queued task cancels the caller's wait for a worker, and the task
        then ends cancelled as any other."""
        live = self._start(spec, idempotency)
        self._store.put_task_soon(live.record)
        live.runner = asyncio.current_task()
        try:
            await self._run(live, spec, live.session)
        finally:
            live.runner = None
            self._settle(live)
        await live.done.wait()
        return live.record

    async def run_streamed(
        self, spec: RunSpec, *, idempotency: tuple[str, str] | None = None
    ) -> AsyncIterator[EventBatch]:
        """Create a task and stream it (a run whose reply is its stream): ``create`` then
        :meth:`events`, with the new record committed together with the state the stream's
        first batch tells (that batch is what names the task) rather than by a commit of its
        own. The first batch raises the store's error when the record cannot be saved; the
        task is then stopped and never told of."""
        live = self._start(spec, idempotency)
        self._store.put_task_soon(live.record)
        runner = self._launch(live, spec)
        # The runner's first step (queued, on a worker if one is idle) comes before the first
        # batch, as it did after a commit of the new record: the stream starts further along.
        await asyncio.sleep(0)
        try:
            self._store.flush()
        except (sqlite3.Error, OSError):
            # Told of nobody: dropped, as a task whose creation could not be saved.
            live.discarded = True
            self._live.pop(live.record.id, None)
            runner.cancel()
            raise
        async for batch in self.events(live.record.id):
            yield batch

    def _launch(self, live: _Live, spec: RunSpec) -> asyncio.Task[None]:
        """Start the task's runner in a task of its own."""
        runner = live.runner = asyncio.get_running_loop().create_task(
            self._run(live, spec, live.session)
        )
        # Also tracked past the terminal status: a runner may still be settling its worker.
        self._background.add(runner)
        runner.add_done_callback(functools.partial(self._runner_done, live))
        return runner

    def _start(self, spec: RunSpec, idempotency: tuple[str, str] | None) -> _Live:
        """A new task's live state, its session call begun and its idempotency key noted."""
        task_id = new_id()
        session: Session | None = None
        if spec.session == "new":
            session = self._sessions.create(spec.app, spec.session_timeout, task_id)
        elif spec.session is not None:
            session = self._sessions.lookup(spec.session, spec.app)
        stamp = now_iso()
        record = TaskRecord(
            id=task_id,
            short_id=task_id[-8:],
            created_at=stamp,
            updated_at=stamp,
            status=Status.RECEIVED,
            app=spec.app.ref,
            app_id=spec.app.ref,
            app_version_id="local",
            app_variant="default",
            function=spec.function,
            infra="local",
            input=spec.input,
            logs=[],
            events=[self._event(task_id, Status.RECEIVED, stamp)],
            setup=spec.setup,
            session_id=None if session is None else session.id,
            session_timeout=session.idle_timeout
            if session is not None and spec.session == "new"
            else None,
            webhook=spec.webhook or None,
            metadata=spec.metadata or None,
            run_at=None if spec.run_at is None else spec.run_at.isoformat().replace("+00:00", "Z"),
        )
        live = _Live(record, session=session)
        self._live[task_id] = live
        if session is not None:
            self._sessions.begin_call(session)
        if idempotency is not None:
            self._store.remember_idempotent(idempotency[0], task_id, idempotency[1])
        return live

    def _created(
        self, live: _Live, committed: asyncio.Future[None], error: BaseException | None
    ) -> None:
        """A new task's record is committed (``error`` is ``None``) or could not be: then the
        task is dropped before its runner takes a step, and its creation fails."""
        if error is not None:
            live.discarded = True
            self._live.pop(live.record.id, None)
            if live.runner is not None:
                live.runner.cancel()
        if committed.done():
            return
        if error is None:
            committed.set_result(None)
        else:
            committed.set_exception(error)

    def _runner_done(self, live: _Live, runner: asyncio.Task[None]) -> None:
        self._background.discard(runner)
        self._settle(live)

    def _settle(self, live: _Live) -> None:
        # A runner cancelled before its first step never runs its own handlers.
        if live.session is not None and not live.session_released:
            live.session_released = True
            self._sessions.end_call(live.session, live.record.id, False)
        if live.record.status not in TERMINAL and live.ending is None and not live.discarded:
            if live.cancel_requested:
                self._update(live, Status.CANCELLED)
            else:
                self._update(
                    live,
                    Status.FAILED,
                    error="the local platform shut down while this task was queued",
                )

    def get(self, task_id: str) -> TaskRecord:
        """The task record, or 404."""
        live = self._live.get(task_id)
        if live is not None:
            self._store.settle(task_id)  # the state told is one a crash keeps
            return live.record
        record = self._unsaved.get(task_id) or self._store.get_task(task_id)
        if record is None:
            raise PlatformError.not_found(f"no task {task_id!r}")
        return record

    def list(self, limit: int, offset: int) -> list[TaskRecord]:
        """Task records, newest first."""
        return self._store.list_tasks(limit, offset)

    def finished(self, task_id: str) -> TaskRecord:
        """A finished task's record: 404 when there is none, 409 while it runs."""
        if task_id in self._live:
            raise PlatformError(
                409, "conflict", f"task {task_id} is still running; cancel it first"
            )
        return self.get(task_id)

    def delete(self, task_id: str, *, files: bool = False) -> None:
        """Delete a finished task's record (a live one must be cancelled first: 409); with
        ``files``, first the stored files its input and output reference. When one of them
        cannot be deleted, the record is kept (it is what still names that file, so the same
        call can be tried again) and the error says which file and why."""
        record = self.finished(task_id)
        if files:
            skipped = self._files.delete_task_files(record)["skipped"]
            if skipped:
                reasons = "; ".join(s["reason"] for s in skipped)
                raise PlatformError(
                    500,
                    "internal_error",
                    f"task {task_id} was kept: {len(skipped)} of its files could not be "
                    f"deleted ({reasons}); its other files were deleted",
                )
        if not self._store.delete_task(task_id):
            raise PlatformError.not_found(f"no task {task_id!r}")

    async def wait(self, task_id: str) -> TaskRecord:
        """Wait for the task to reach a terminal status; returns the final record."""
        live = self._live.get(task_id)
        if live is None:
            return self.get(task_id)
        await live.done.wait()
        return live.record

    async def events(self, task_id: str) -> AsyncIterator[EventBatch]:
        """The stream of a task, in batches: a full snapshot, then partial updates; the batch
        holding the terminal update is the last (``last``).

        A batch is every update there is when the stream wakes: a quick task's updates go out
        together, as one write to the client and one wake-up of it, not one each."""
        live = self._live.get(task_id)
        if live is None:
            record = self.get(task_id)
            # It ended a moment ago: its deltas first, then its end.
            yield EventBatch([*self._recent_deltas.replay(task_id), _full(record)], last=True)
            return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        live.subscribers.add(queue)
        replay = live.deltas.replay() if live.deltas is not None else ()
        # After two heartbeat intervals without a change the current status is sent again:
        # some clients (the published one gives up after 30 s) stop following a stream that
        # carries only heartbeats, which would fail them on long, quiet tasks.
        refresh = max(self._config.heartbeat_interval * 2, 0.1)
        try:
            self._store.settle(task_id)  # each state told is one a crash keeps
            first = _full(live.record)
            if live.record.status in TERMINAL:
                # Its end was committed by the settle: the deltas sent so far go first, since
                # a reader stops at the end.
                yield EventBatch([*replay, first], last=True)
                return
            batch = [first, *replay]
            while True:
                # What arrived meanwhile goes with this batch; the settle of what it tells may
                # commit the task's end, which then goes too.
                ended = _drain(queue, batch)
                if not ended:
                    self._store.settle(task_id)
                    ended = _drain(queue, batch)
                if ended:
                    yield EventBatch(batch, last=True)
                    return
                yield EventBatch(batch)
                try:
                    item = await asyncio.wait_for(queue.get(), refresh)
                except asyncio.TimeoutError:
                    self._store.settle(task_id)
                    record = live.record
                    state = Task(id=record.id, status=record.status, updated_at=record.updated_at)
                    batch = [{"data": state, "fields": ["status"]}]
                    continue
                if item is _END:
                    yield EventBatch([], last=True)
                    return
                batch = [item]
        finally:
            live.subscribers.discard(queue)

    # updates
    @staticmethod
    def _event(task_id: str, status: Status, stamp: str) -> TaskEvent:
        return TaskEvent(
            id=new_id(), created_at=stamp, event_time=stamp, task_id=task_id, status=int(status)
        )

    def _update(self, live: _Live, status: Status | None = None, **fields: Any) -> None:
        """Change the live record, save it (on a status change) and tell the stream
        subscribers. The change is made on a copy; a task's end becomes the live record only
        once committed (:meth:`_ended`)."""
        current = live.record
        if current.status in TERMINAL or live.ending is not None or live.discarded:
            return  # ended (a full disk ends a task wherever it was): nothing changes it now
        changed = list(fields)
        if status is not None and status != current.status:
            if not _can_move(current.status, status):
                log.debug(
                    "task %s: ignoring transition %s -> %s", current.id, current.status, status
                )
                status = None
            else:
                fields["status"] = status
                changed.append("status")
        if not changed:
            return
        stamp = now_iso()
        if status is not None:
            fields["events"] = [*(current.events or []), self._event(current.id, status, stamp)]
        record = msgspec.structs.replace(current, **fields, updated_at=stamp)
        if record.status in TERMINAL:
            live.ending = record
            self._store.commit_task(record, functools.partial(self._ended, live, record))
            return
        # Logs and partial outputs are saved with the next status change, keeping writes few.
        if status is not None:
            try:
                self._store.put_task_soon(record)
            except (sqlite3.Error, OSError) as exc:  # without a loop it writes at once
                self._end_unsaved(live, exc)
                return
        live.record = record
        if live.subscribers:
            keys = [*dict.fromkeys([*changed, "updated_at"])]
            partial = Task(
                id=record.id,
                status=record.status,
                **{key: getattr(record, key) for key in keys if key in _REPLY_FIELDS},
            )
            message = {"data": partial, "fields": keys}
            for queue in live.subscribers:
                queue.put_nowait(message)

    def _ended(self, live: _Live, record: TaskRecord, error: BaseException | None) -> None:
        """A task's end is committed (``error`` is ``None``): it becomes the live record and
        everyone waiting is told. When the commit failed, the task ends failed instead."""
        if error is not None:
            self._end_unsaved(live, error)
            return
        if self.space is not None:
            self.space.restore_later()
        self._publish_end(live, record)
        if record.webhook:
            self._spawn(self._webhook(record))

    def _publish_end(self, live: _Live, record: TaskRecord) -> None:
        live.record = record
        live.ending = None
        if live.subscribers:
            message = _full(record)
            for queue in live.subscribers:
                queue.put_nowait(message)
                queue.put_nowait(_END)
        live.done.set()
        self._live.pop(record.id, None)
        if live.deltas is not None:
            self._recent_deltas.keep(record.id, live.deltas)

    def _end_unsaved(self, live: _Live, exc: BaseException) -> None:
        """End a task whose state change could not be saved: failed, from its last saved
        state (never half of the change), saved in the reserved space when the disk is full.
        Its worker is stopped; readers and waiters see the end."""
        current = live.record
        stamp = now_iso()
        if disk_full(exc):
            reason = f"{DISK_FULL}: the task's state could not be saved ({exc}); it was stopped"
        else:
            reason = (
                f"the task's state could not be saved ({type(exc).__name__}: {exc}); it was stopped"
            )
        failed = msgspec.structs.replace(
            current,
            status=Status.FAILED,
            error=reason,
            updated_at=stamp,
            events=[*(current.events or []), self._event(current.id, Status.FAILED, stamp)],
        )
        for _ in range(2):
            try:
                self._store.put_task(failed)
                break
            except (sqlite3.Error, OSError) as again:
                if not disk_full(again) or self.space is None or not self.space.release():
                    # Kept in memory; the next start fails the stored record as unfinished.
                    log.error("task %s: its end could not be saved: %s", current.id, again)
                    self._unsaved[current.id] = failed
                    break
        if live.worker is not None:
            live.worker.kill()  # its run's state is unknown; the pool replaces it
        self._publish_end(live, failed)

    def _append_log(self, live: _Live, log_type: str, content: str) -> None:
        kind = _LOG_TYPES.get(log_type, 1)
        record = live.record
        if record.logs is None:
            record.logs = []
        logs = record.logs
        stamp = now_iso()
        entry = next((e for e in logs if e.log_type == kind), None)
        if entry is None:
            entry = TaskLog(id=new_id(), created_at=stamp, task_id=record.id, log_type=kind)
            logs.append(entry)
        text = content if content.endswith("\n") else content + "\n"
        combined = entry.content + text
        if len(combined) > _MAX_LOG_CHARS:
            # Keep the end of a very chatty log: memory and stream updates stay bounded.
            combined = _TRUNCATED + combined[len(combined) - _MAX_LOG_CHARS :]
        entry.content = combined
        entry.updated_at = stamp
        if not live.logs_pending:
            # Coalesce bursts of lines into one stream update per interval.
            live.logs_pending = True
            asyncio.get_running_loop().call_later(_LOG_FLUSH_SECONDS, self._flush_logs, live)

    def _flush_logs(self, live: _Live) -> None:
        live.logs_pending = False
        if live.record.status not in TERMINAL:
            self._update(live, logs=live.record.logs)

    # running
    async def _run(self, live: _Live, spec: RunSpec, session: Session | None) -> None:
        worker: Worker | None = None
        pool = self._pools[spec.app.name]
        completed = False
        try:
            self._update(live, Status.QUEUED)
            if spec.run_at is not None:
                # Cancelling a scheduled task cancels this sleep, like any queued task's wait.
                delay = (spec.run_at - datetime.now(timezone.utc)).total_seconds()
                if delay > 0:
                    await asyncio.sleep(delay)
            setup_key = _setup_key(spec.setup)
            if session is not None:
                async with session.lock:
                    worker = await self._sessions.lease(session)
                    completed = await self._execute(live, spec, worker, setup_key)
            else:
                worker = await pool.acquire(setup_key)
                completed = await self._execute(live, spec, worker, setup_key)
        except asyncio.CancelledError:
            if worker is not None and live.worker is not None:
                worker.kill()  # the run was abandoned mid-way; its state is unknown
            if live.cancel_requested:
                self._update(live, Status.CANCELLED)
            else:
                waiting = live.record.status in (Status.RECEIVED, Status.QUEUED)
                self._update(
                    live,
                    Status.FAILED,
                    error="the local platform shut down while this task was "
                    + ("queued" if waiting else "running"),
                )
                raise
        except WorkerLost as exc:
            reason = live.lost_reason or str(exc)
            ended = _session_ended(live)
            if live.timed_out is not None and not live.cancel_requested:
                self._update(live, Status.FAILED, error=live.timed_out)
            elif live.cancel_requested:
                self._update(live, Status.CANCELLED)
            elif ended is not None:  # the session's end stopped its worker under the call
                self._update(live, Status.CANCELLED, error=ended)
            else:
                self._update(live, Status.FAILED, error=f"worker lost: {reason}")
        except PlatformError as exc:
            self._update(live, Status.FAILED, error=exc.message)
        except (WorkerError, OSError) as exc:
            error = f"{DISK_FULL}: {exc}" if disk_full(exc) else str(exc)
            self._update(live, Status.FAILED, error=error)
        except Exception as exc:  # a bug here must fail the task loudly, not leave it hanging
            log.exception("task %s: unexpected error", live.record.id)
            self._update(live, Status.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            live.worker = None
            if worker is not None:
                if session is None:
                    pool.release(worker)
                elif not worker.alive:
                    await self._sessions.worker_lost(
                        session, live.lost_reason or live.record.error or "worker died"
                    )
            if session is not None and not live.session_released:
                live.session_released = True
                self._sessions.end_call(session, live.record.id, completed)
            if live.record.status not in TERMINAL:  # never leave a task hanging
                self._update(live, Status.FAILED, error="the task ended without a result")

    async def _execute(self, live: _Live, spec: RunSpec, worker: Worker, setup_key: str) -> bool:
        """Run on ``worker``; returns whether the task completed."""
        if live.cancel_requested:
            self._update(live, Status.CANCELLED)
            return False
        live.worker = worker
        self._update(live, Status.DISPATCHED, worker_id=worker.id)
        body = {
            "input": spec.input,
            "function": spec.function,
            "setup": spec.setup,
            "metadata": {
                "task_id": live.record.id,
                "app_id": spec.app.ref,
                "app_version_id": "local",
                "worker_id": worker.id,
                "session_id": live.record.session_id,
            },
        }
        if spec.socket is not None:
            body["socket"] = spec.socket
        worker.setup_key = setup_key
        started = time.time()  # output files must be the run's own (see paths.py)
        # The hang watch starts once the run has lasted a watch interval: most runs end first,
        # and then it cost a timer, not a task.
        loop = asyncio.get_running_loop()
        watch: list[asyncio.Task[None]] = []
        start_watch = loop.call_later(
            _watch_interval(self._config.hang_timeout),
            lambda: watch.append(loop.create_task(self._watch(live, worker))),
        )
        limit = deadline.time_limit(spec.app, self._config)
        timer = None
        if limit is not None:
            reason = deadline.timeout_reason(limit, spec.app)
            timer = self._spawn(
                deadline.enforce(
                    worker,
                    live.record.id,
                    limit,
                    self._config.cancel_timeout,
                    lambda: setattr(live, "timed_out", reason),
                    lambda: live.worker is worker and live.record.status not in TERMINAL,
                )
            )
        final: dict[str, Any] | None = None

        def on_event(event: dict[str, Any]) -> None:
            nonlocal final
            kind = event.get("type")
            if kind == "status":
                status = _WORKER_STATUSES.get(event.get("status", ""))
                if status is not None and not live.cancel_requested:
                    self._update(live, status)
            elif kind == "log":
                self._append_log(
                    live, str(event.get("log_type", "run")), str(event.get("content", ""))
                )
            elif kind == "output":
                self._update(live, output=self._public_output(live, event.get("output")))
            elif kind == "delta":
                self._relay_delta(live, event.get("delta"))
            elif kind in ("result", "error"):
                final = event

        try:
            await worker.run(body, on_event)
        finally:
            start_watch.cancel()
            if timer is not None:
                timer.cancel()
            for watching in watch:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
        if live.timed_out is not None and not live.cancel_requested:
            self._update(live, Status.FAILED, error=live.timed_out)
            if final is not None:
                await self._await_idle(live, worker)  # stopped by the cancel: never handed out busy
            return False
        if final is None:
            raise WorkerLost(live.lost_reason or await worker.loss_reason())
        if final["type"] == "error":
            error_kind = final.get("kind", "app")
            if error_kind == "cancelled" or live.cancel_requested:
                # Not asked for by the caller: the session was ended (its worker shut down).
                ended = None if live.cancel_requested else _session_ended(live)
                self._update(live, Status.CANCELLED, **({"error": ended} if ended else {}))
                await self._await_idle(live, worker)
                return False
            trace = final.get("traceback")
            if trace and not any(str(trace).strip() in e.content for e in live.record.logs or ()):
                self._append_log(live, "task", str(trace))
            self._update(live, Status.FAILED, error=_error_message(error_kind, final.get("error")))
            return False
        output = self._public_output(live, final.get("output"))
        if _has_local_files(output):
            self._update(live, Status.UPLOADING)
            own = [p for p in (worker.home, spec.app.directory) if p is not None]
            output = await self._store_outputs(
                output,
                lambda path: produced_by_task(path, started, own, self._config.data_dir),
            )
        self._update(live, Status.COMPLETED, output=output)
        return True

    def _relay_delta(self, live: _Live, delta: Any) -> None:
        """Send a delta to the task's streams (no write: deltas are transient)."""
        if live.deltas is None:
            live.deltas = DeltaLog()
        message = live.deltas.accept(delta)
        if isinstance(message, str):
            self._append_log(live, "run", message)
            return
        for queue in live.subscribers:
            queue.put_nowait(message)

    @staticmethod
    def _public_output(live: _Live, output: Any) -> Any:
        """``output`` without ``output_meta``, which the platform keeps on the record (under a
        key no reply carries) for usage accounting: the API never returns it."""
        if isinstance(output, dict) and "output_meta" in output:
            output = dict(output)
            live.record.output_meta = output.pop("output_meta")
        return output

    async def _await_idle(self, live: _Live, worker: Worker) -> None:
        """Keep a worker whose cancelled call is still running (sync code stuck in native code
        outlives the worker's own grace) until the call returns, killing it when the cancel's
        grace period ends: a busy worker must never be handed the next task."""
        deadline = live.cancel_deadline
        if deadline is None:
            deadline = time.monotonic() + self._config.cancel_timeout
        while worker.alive:
            try:
                busy = (await worker.health(5.0)).get("status") == "busy"
            except (httpx.HTTPError, ValueError):
                return  # no answer: the worker gave itself up (`Worker.lost_contact`)
            if not busy:
                return
            if time.monotonic() >= deadline:
                log.info("task %s: worker still busy after the cancel; killing it", live.record.id)
                worker.kill()
                return
            await asyncio.sleep(0.05)

    async def _watch(self, live: _Live, worker: Worker) -> None:
        """Kill a worker that stops answering ``/health`` (a hang) so its task fails: asked
        now (a watch interval into the run), then every interval."""
        timeout = self._config.hang_timeout
        interval = _watch_interval(timeout)
        while True:
            try:
                await worker.health(timeout)
            except httpx.TimeoutException:
                # Killed by `Worker.lost_contact`; the hang is the better reason to give.
                live.lost_reason = f"the worker stopped responding (no /health answer within {timeout:g}s) and was killed"
                return
            except (httpx.HTTPError, ValueError):
                # Given up by `Worker.lost_contact` (killed if still running); the run stream
                # reports why.
                return
            await asyncio.sleep(interval)

    async def _store_outputs(self, value: Any, produced: Callable[[Path], bool]) -> Any:
        """``value`` with every local output file stored and replaced by its ``uri``; all or
        nothing: when one file cannot be stored (or the task is cancelled meanwhile), the files
        stored before it are deleted again."""
        stored: set[str] = set()
        try:
            return await self._store_files(value, stored, produced)
        except BaseException:
            for file_id in stored:
                try:
                    self._files.delete(file_id)
                except (PlatformError, OSError) as exc:  # the original error matters more
                    log.warning("could not remove output file %s: %s", file_id, exc)
            raise

    async def _store_files(
        self, value: Any, stored: set[str], produced: Callable[[Path], bool]
    ) -> Any:
        if isinstance(value, list):
            return [await self._store_files(v, stored, produced) for v in value]
        if not isinstance(value, dict):
            return value
        if _is_local_file(value):
            source = Path(value["path"])
            if not await asyncio.to_thread(source.is_file):
                raise PlatformError(
                    500, "internal_error", f"the app returned a file that does not exist: {source}"
                )
            if not await asyncio.to_thread(produced, source):
                raise PlatformError(
                    403,
                    "forbidden_path",
                    f"the app returned the file {source}, which this task did not produce "
                    "(only files it wrote, in its temp dir or anywhere during the run, are served)",
                )
            record = await self._files.store_local(
                source, filename=value.get("filename"), content_type=value.get("content_type")
            )
            stored.add(record["id"])
            return {
                "uri": record["uri"],
                "filename": record["filename"],
                "content_type": record["content_type"],
                "size": record["size"],
            }
        return {k: await self._store_files(v, stored, produced) for k, v in value.items()}

    # cancellation
    async def cancel(
        self, task_id: str, force: bool = False, timeout: float | None = None
    ) -> TaskRecord:
        """Cancel a task: queued ones at once; running ones gracefully, killed after ``timeout``."""
        live = self._live.get(task_id)
        if live is None:
            return self.get(task_id)  # already finished: nothing to do
        if live.cancel_requested and not force:
            return live.record
        live.cancel_requested = True
        worker = live.worker
        if worker is None:
            if live.runner is not None:
                live.runner.cancel()
                # Not yet on a worker: it ends as soon as its runner sees the cancel, so the
                # reply can already say cancelled.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(live.done.wait()), 1.0)
            return live.record
        self._update(live, Status.CANCELLING)
        if force:
            worker.kill()
            return live.record
        grace = self._config.cancel_timeout if timeout is None else timeout
        live.cancel_deadline = time.monotonic() + grace
        self._spawn(self._cancel_running(live, worker, grace))
        return live.record

    async def _cancel_running(self, live: _Live, worker: Worker, grace: float) -> None:
        # The grace period starts now: a frozen worker that never answers /cancel is killed
        # on time too.
        deadline = time.monotonic() + grace
        while not live.done.is_set() and time.monotonic() < deadline:
            accepted = False
            with contextlib.suppress(httpx.HTTPError, ValueError, asyncio.TimeoutError):
                accepted = await asyncio.wait_for(
                    worker.cancel(live.record.id), max(deadline - time.monotonic(), 0.001)
                )
            if accepted or not worker.alive:  # not alive: given up, its run ends with it
                break
            # Nothing to cancel there yet: the run's request may still be on its way (a large
            # input). Ask again shortly, or the run goes on until the worker is killed.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    live.done.wait(), min(0.05, max(deadline - time.monotonic(), 0.001))
                )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(live.done.wait(), max(deadline - time.monotonic(), 0.001))
        if not live.done.is_set() and live.worker is worker:
            log.info(
                "task %s did not stop within %.1fs of cancel; killing its worker",
                live.record.id,
                grace,
            )
            worker.kill()

    async def _webhook(self, record: TaskRecord) -> None:
        event = {Status.COMPLETED: "task.completed", Status.FAILED: "task.failed"}.get(
            record.status, "task.cancelled"
        )
        payload = {"event": event, "timestamp": now_iso(), "data": task_reply(record)}
        try:
            async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
                await client.post(
                    str(record.webhook),
                    content=msgspec.json.encode(payload),
                    headers={"Content-Type": "application/json"},
                )
        except httpx.HTTPError as exc:
            log.warning("task %s: webhook delivery failed: %s", record.id, exc)


def _session_ended(live: _Live) -> str | None:
    """The ``error`` of a call cut short because its session ended, or ``None``."""
    session = live.session
    if session is None or session.doc.get("status") == "active":
        return None
    reason = session.doc.get("end_reason")
    return "the session was ended while this call ran" + (f" ({reason})" if reason else "")


_ERROR_LABELS = {
    "validation": "invalid input",
    "setup": "setup failed",
    "not_found": "unknown function",
}


def _error_message(kind: str, error: Any) -> str:
    """A failed task's ``error``: the worker's message, labelled with its kind unless the
    message already says it (the worker's own start with `invalid input:`, `invalid setup:`
    or `setup failed:`)."""
    message = str(error or "the app failed")
    label = _ERROR_LABELS.get(kind)
    if label is None or message.startswith((label, "invalid ")):
        return message
    return f"{label}: {message}"


def _is_local_file(value: dict[str, Any]) -> bool:
    path = value.get("path")
    return isinstance(path, str) and path.startswith("/") and not value.get("uri")


def _has_local_files(value: Any) -> bool:
    if isinstance(value, dict):
        return _is_local_file(value) or any(_has_local_files(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_local_files(v) for v in value)
    return False

"""SQLite records of tasks, sessions and files, kept under the data directory.

Each record is a JSON document plus a few indexed columns, with an index for every list order
(newest first: ``created_at DESC, id DESC``), and the number of tasks and of files in a
``counts`` table kept by triggers (a list's total), so a page and its total cost the same at
100 records as at 100 000. One connection is used from the event loop thread, in WAL mode with
``synchronous=NORMAL``: a commit is in the WAL when it returns, so it survives the server
process being killed (a power cut may take the last ones back; SQLite's documented trade of
that mode). The WAL is copied into the database by a thread with a connection of its own
(:class:`_Checkpointer`), so the loop never waits for that copy and its fsyncs. Records are
updated in place (an upsert, not a delete and insert) and a transaction is all or nothing:
readers never see half a record.

Task writes are grouped (group commit), in three kinds:

* ``commit_task``: a write someone is told of once it is committed (a task's end, a new task
  the reply names). It is committed in one transaction with every other such write of the
  same event-loop turn, right after that turn; then the callers' callbacks run, told of the
  error when the commit failed (and then none of its records was written).
* ``put_task_soon``: a passing state (queued, running, ...) a crash may lose, since a task the
  platform stopped under is failed at the next start either way. A task's newest state is
  written at most ``PASSING_WINDOW`` seconds after its first unsaved one (in rounds every
  half window), so a short task is written once, with its end, however busy the server.
  ``settle(task_id)`` commits it at once (a reader was told of that state), and so does any
  read of the store.
* ``put_task``: committed when it returns, with whatever is waiting.

Tasks are ``TaskRecord`` structs (``inferencesh.platform.records``), stored as the same JSON
the dict records were, so older data directories load; sessions and files are still dicts.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import msgspec
from inferencesh.core.types import TERMINAL_STATUSES
from inferencesh.platform.records import TaskRecord

__all__ = ["PASSING_WINDOW", "Committed", "Store"]

log = logging.getLogger("inferencesh.platform")

PASSING_WINDOW = 1.0
"""Seconds a passing task state may wait to be written (a later state supersedes it). The
waiting ones are written in rounds every half window, those that waited half a window each
time: a task that ends within half a window is written once, with its end."""

Committed = Callable[[BaseException | None], None]
"""Called once a queued write is committed (``None``), or with the error that failed it."""

_TERMINAL = tuple(sorted(int(status) for status in TERMINAL_STATUSES))
# Written out, not bound: SQLite uses a partial index only for the condition it was made with.
_UNFINISHED = f"status NOT IN ({', '.join(str(status) for status in _TERMINAL)})"


def _counted(table: str) -> str:
    """The schema that keeps ``table``'s row count in ``counts``, so a list's total is one
    row read rather than a scan of the table. Triggers, not the store's code: the count
    changes in the transaction that adds or deletes the row (a rollback takes both back),
    whoever writes. Only ``AFTER INSERT`` and ``AFTER DELETE``: an upsert of an existing row
    fires ``UPDATE`` triggers only, and a ``REPLACE`` fires the delete of the row it replaces
    when ``recursive_triggers`` is on (the store's connection turns it on). The count of a
    database made before this is taken once, when it is first opened: the triggers exist
    before it is taken, and a row written in between is in ``COUNT(*)`` while its trigger
    found no count to change."""
    return f"""CREATE TRIGGER IF NOT EXISTS {table}_counted_in AFTER INSERT ON {table}
    BEGIN UPDATE counts SET n = n + 1 WHERE name = '{table}'; END;
CREATE TRIGGER IF NOT EXISTS {table}_counted_out AFTER DELETE ON {table}
    BEGIN UPDATE counts SET n = n - 1 WHERE name = '{table}'; END;
INSERT INTO counts (name, n) SELECT '{table}', (SELECT COUNT(*) FROM {table})
    WHERE NOT EXISTS (SELECT 1 FROM counts WHERE name = '{table}');
"""


# Only unfinished tasks are in the status index (the start-up check reads it): a task's end
# takes it out, and a task first written at its end never enters it.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, status INTEGER NOT NULL, app TEXT NOT NULL, session_id TEXT,
    created_at TEXT NOT NULL, doc BLOB NOT NULL);
DROP INDEX IF EXISTS tasks_status;
CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks(status) WHERE {_UNFINISHED};
CREATE INDEX IF NOT EXISTS tasks_newest ON tasks(created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, app TEXT NOT NULL, created_at TEXT NOT NULL,
    doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS files_newest ON files(created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_newest ON sessions(created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, task_id TEXT NOT NULL, digest TEXT NOT NULL, created REAL NOT NULL);
{_counted("tasks")}{_counted("files")}"""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict[str, Any])
_task_decoder = msgspec.json.Decoder(TaskRecord)
_PUT_TASK = (
    "INSERT INTO tasks (id, status, app, session_id, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET status = excluded.status, app = excluded.app,"
    " session_id = excluded.session_id, created_at = excluded.created_at, doc = excluded.doc"
)
_PUT_FILE = (
    "INSERT INTO files (id, created_at, doc) VALUES (?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, doc = excluded.doc"
)
_PUT_KEY = "INSERT OR REPLACE INTO idempotency (key, task_id, digest, created) VALUES (?, ?, ?, ?)"
_KEY_MAX_AGE = 86400.0
# The loop's connection checkpoints only when the checkpointer thread has not kept up (it
# died, or a reader held the WAL): the WAL stays bounded either way.
_LOOP_AUTOCHECKPOINT_PAGES = 16384
_WAL_KEPT_BYTES = 16 * 1024 * 1024  # a WAL restarted after a burst is cut back to this


def _task_row(task: TaskRecord) -> tuple[Any, ...]:
    return (
        task.id,
        int(task.status),
        task.app or "",
        task.session_id,
        task.created_at or "",
        _encoder.encode(task),
    )


def _tell(waiting: list[Committed], error: BaseException | None) -> None:
    for then in waiting:
        try:
            then(error)
        except Exception:  # one caller's bug must not keep the others waiting
            log.exception("a task commit's callback failed")


class _Checkpointer:
    """Copies the WAL into the database (a passive checkpoint) from a thread with its own
    connection, at most every ``INTERVAL`` seconds and only after new commits: the copy and
    its fsyncs never stall the event loop. Ends when its store is closed or collected."""

    INTERVAL = 0.5

    def __init__(self, store: Store) -> None:
        self.dirty = False
        """Set by the store after a commit; the next round checkpoints."""
        self.rounds = 0
        """Checkpoints run so far (tests wait on it)."""
        self._path = store.path
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(weakref.ref(store),), name="inferencesh-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self, store: weakref.ref[Store]) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA synchronous=NORMAL")  # per connection: the fsyncs of that mode
            db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:  # the loop's connection checkpoints past its bound
            log.warning("no WAL checkpoint thread: %s", exc)
            return
        try:
            while not self._stopping and store() is not None:
                self._wake.wait(self.INTERVAL)
                self._wake.clear()
                if self.dirty and not self._stopping:
                    self.checkpoint(db)
        finally:
            db.close()

    def checkpoint(self, db: sqlite3.Connection) -> None:
        self.dirty = False
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next round (or the loop's own bound) tries again
            log.debug("WAL checkpoint failed: %s", exc)
        self.rounds += 1

    def poke(self) -> None:
        """Run a round now."""
        self.dirty = True
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(10)


class Store:
    """Task, session and file records in one SQLite database."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(f"PRAGMA wal_autocheckpoint={_LOOP_AUTOCHECKPOINT_PAGES}")
        self._db.execute(f"PRAGMA journal_size_limit={_WAL_KEPT_BYTES}")
        # A REPLACE then fires the delete trigger of the row it replaces: the counts stay exact.
        self._db.execute("PRAGMA recursive_triggers=ON")
        self._db.executescript(_SCHEMA)
        # Task writes waiting for their group commit, by task id (the newest record wins).
        self._urgent: dict[str, TaskRecord] = {}
        # A passing state waits with the loop time of its task's first unsaved state: the
        # newest is written at most ``PASSING_WINDOW`` after that.
        self._passing: dict[str, tuple[TaskRecord, float]] = {}
        self._keys: dict[str, tuple[str, str, float]] = {}  # idempotency keys, same commit
        self._committed: list[Committed] = []
        self._urgent_armed = False
        self._passing_timer: asyncio.TimerHandle | None = None
        self._checkpointer: _Checkpointer | None = None
        self.commits = 0
        """Transactions of task writes so far (tests count them)."""

    def close(self) -> None:
        """Commit the pending task writes and close the connection."""
        try:
            self.flush()
        finally:
            if self._passing_timer is not None:
                self._passing_timer.cancel()
                self._passing_timer = None
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            self._db.close()

    # tasks
    def put_task(self, task: TaskRecord) -> None:
        """Insert or update a task record, committed when this returns (with the writes that
        were waiting, in one transaction: each row is the old record or the new one)."""
        self._passing.pop(task.id, None)  # superseded
        self._urgent[task.id] = task
        self.flush()

    def commit_task(self, task: TaskRecord, then: Committed) -> None:
        """Write a task record with the others of this event-loop turn, in one transaction
        committed right after it; ``then(None)`` once it is committed, ``then(error)`` when
        the commit failed (nothing of it was written). Without a running loop the record is
        committed at once (``then`` runs before this returns)."""
        self._passing.pop(task.id, None)
        self._urgent[task.id] = task
        self._committed.append(then)
        if not self._urgent_armed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._commit_urgent()
                return
            self._urgent_armed = True
            loop.call_soon(self._commit_urgent)

    def put_task_soon(self, task: TaskRecord) -> None:
        """Write a passing state of a task within ``PASSING_WINDOW`` seconds of its task's
        first unsaved state, unless a later record of the task supersedes it first (see the
        module's docstring). Without a running loop it is written at once."""
        if task.id in self._urgent:  # its newer state goes with the commit already due
            self._urgent[task.id] = task
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._passing[task.id] = (task, 0.0)
            self.flush()
            return
        waiting = self._passing.get(task.id)
        self._passing[task.id] = (task, loop.time() if waiting is None else waiting[1])
        if self._passing_timer is None:
            self._passing_timer = loop.call_later(PASSING_WINDOW / 2, self._commit_passing)

    def remember_idempotent(self, key: str, task_id: str, digest: str) -> None:
        """Record that ``key`` created ``task_id``: committed together with the task's record
        when that is waiting too (a key never names a task a crash lost), else with the next
        commit. Old keys are pruned as it goes."""
        self._keys[key] = (task_id, digest, time.time())
        if self._passing_timer is None and not self._urgent_armed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._passing_timer = loop.call_later(PASSING_WINDOW / 2, self._commit_passing)

    def idempotent_task(self, key: str, max_age: float) -> tuple[str, str] | None:
        """The ``(task_id, request digest)`` an ``Idempotency-Key`` created, if recent enough."""
        pending = self._keys.get(key)
        if pending is not None:
            return pending[0], pending[1]
        row = self._db.execute(
            "SELECT task_id, digest FROM idempotency WHERE key = ? AND created > ?",
            (key, time.time() - max_age),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def settle(self, task_id: str) -> None:
        """Commit now the waiting write of ``task_id`` (a reader is about to be told of that
        state), with all the others. A failure is logged: the callers of ``commit_task`` are
        told of it, and the reader reads what the task manager holds."""
        if task_id in self._passing or task_id in self._urgent:
            try:
                self.flush()
            except (sqlite3.Error, OSError) as exc:
                log.warning("could not save the state of running tasks: %s", exc)

    def flush(self) -> None:
        """Commit every waiting task write now, in one transaction; raises what failed it
        (after telling the callers of ``commit_task``)."""
        if self._urgent or self._passing or self._keys or self._committed:
            self._commit(None)

    def _commit_urgent(self) -> None:
        self._urgent_armed = False
        if not (self._urgent or self._committed):
            return  # committed meanwhile (a read, ``put_task``)
        try:
            self._commit(())
        except (sqlite3.Error, OSError) as exc:  # the callers were told; a task ends failed
            log.warning("could not commit task records: %s", exc)

    def _commit_passing(self) -> None:
        """A round: write the passing states of the tasks whose first unsaved state waited
        half a window (the others wait for the next round, half a window on)."""
        self._passing_timer = None
        loop = asyncio.get_running_loop()
        # A timer may fire a hair early: what is due by then counts as due.
        due = loop.time() - PASSING_WINDOW / 2 + 0.001
        try:
            self._commit([key for key, (_, since) in self._passing.items() if since <= due])
        except (sqlite3.Error, OSError) as exc:  # the task's end reports for itself
            log.warning("could not save the state of running tasks: %s", exc)
        if (self._passing or self._keys) and self._passing_timer is None:
            self._passing_timer = loop.call_later(PASSING_WINDOW / 2, self._commit_passing)

    def _commit(self, passing: Collection[str] | None) -> None:
        """One transaction of the urgent writes and the passing ones of ``passing`` (all of
        them with ``None``), then the callbacks waiting for it."""
        rows = [_task_row(task) for task in self._urgent.values()]
        self._urgent.clear()
        for task_id in list(self._passing) if passing is None else passing:
            rows.append(_task_row(self._passing.pop(task_id)[0]))
        # A round's timer is left to fire even when nothing waits any more: a round with
        # nothing to write costs less than arming and cancelling a timer for every task.
        keys = [(key, *value) for key, value in self._keys.items()]
        if self._passing:  # a key whose task's record still waits, waits with it
            keys = [key for key in keys if key[1] not in self._passing]
        for key in keys:
            del self._keys[key[0]]
        waiting, self._committed = self._committed, []
        try:
            self._write(rows, keys)
        except BaseException as exc:
            _tell(waiting, exc)
            raise
        _tell(waiting, None)

    def _write(self, rows: list[tuple[Any, ...]], keys: list[tuple[Any, ...]]) -> None:
        if not rows and not keys:
            return
        self.commits += 1
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(self)
        self._checkpointer.dirty = True
        db = self._db
        if len(rows) == 1 and not keys:
            db.execute(_PUT_TASK, rows[0])  # one statement: its own transaction
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_PUT_TASK, rows)
            if keys:
                db.executemany(_PUT_KEY, keys)
                now = keys[-1][-1]
                if int(now) % 64 == 0:
                    db.execute("DELETE FROM idempotency WHERE created < ?", (now - _KEY_MAX_AGE,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def get_task(self, task_id: str) -> TaskRecord | None:
        """The task record, or ``None``."""
        self.flush()
        row = self._db.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else _task_decoder.decode(row[0])

    def list_tasks(self, limit: int = 50, offset: int = 0) -> list[TaskRecord]:
        """Tasks, newest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT doc FROM tasks ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [_task_decoder.decode(r[0]) for r in rows]

    def count_tasks(self) -> int:
        """How many task records exist."""
        self.flush()
        return self._count("tasks")

    def delete_task(self, task_id: str) -> bool:
        """Delete a task record; whether it existed."""
        self.flush()
        return self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount > 0

    def unfinished_tasks(self) -> list[TaskRecord]:
        """Tasks whose status is not terminal (used at start-up to fail them)."""
        self.flush()
        rows = self._db.execute(f"SELECT doc FROM tasks WHERE {_UNFINISHED}").fetchall()
        return [_task_decoder.decode(r[0]) for r in rows]

    # sessions
    def put_session(self, session: dict[str, Any]) -> None:
        """Insert or replace a session record."""
        self._db.execute(
            "INSERT OR REPLACE INTO sessions (id, status, app, created_at, doc) VALUES (?, ?, ?, ?, ?)",
            (
                session["id"],
                session["status"],
                session.get("app_id", ""),
                session["created_at"],
                _encoder.encode(session),
            ),
        )

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """The session record, or ``None``."""
        row = self._db.execute("SELECT doc FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else _decoder.decode(row[0])

    def list_sessions(self) -> list[dict[str, Any]]:
        """All sessions, newest first."""
        rows = self._db.execute(
            "SELECT doc FROM sessions ORDER BY created_at DESC, id DESC"
        ).fetchall()
        return [_decoder.decode(r[0]) for r in rows]

    def active_sessions(self) -> list[dict[str, Any]]:
        """Sessions still marked active."""
        rows = self._db.execute("SELECT doc FROM sessions WHERE status = 'active'").fetchall()
        return [_decoder.decode(r[0]) for r in rows]

    # files
    def put_file(self, record: dict[str, Any]) -> None:
        """Insert or update a file record."""
        self._db.execute(_PUT_FILE, (record["id"], record["created_at"], _encoder.encode(record)))

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        """The file record, or ``None``."""
        row = self._db.execute("SELECT doc FROM files WHERE id = ?", (file_id,)).fetchone()
        return None if row is None else _decoder.decode(row[0])

    def count_files(self) -> int:
        """How many file records exist."""
        return self._count("files")

    def list_files(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Files, newest first."""
        rows = self._db.execute(
            "SELECT doc FROM files ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [_decoder.decode(r[0]) for r in rows]

    def delete_file(self, file_id: str) -> bool:
        """Delete a file record; whether it existed."""
        return self._db.execute("DELETE FROM files WHERE id = ?", (file_id,)).rowcount > 0

    def _count(self, table: str) -> int:
        # Kept by the triggers of ``_counted``: one row read, however many records there are.
        row = self._db.execute("SELECT n FROM counts WHERE name = ?", (table,)).fetchone()
        return int(row[0])

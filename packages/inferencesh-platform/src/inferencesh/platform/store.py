"""SQLite records of tasks, sessions and files, kept under the data directory.

Each record is a JSON document plus a few indexed columns, with an index for every list order
(newest first: ``created_at DESC, id DESC``), so a page costs the same at 100 records as at
100 000. One connection is used from the event loop thread, in WAL mode; a record is updated in
place (an upsert, not a delete and insert). A write through ``put_task`` is its own short
transaction, done when it returns, so a crash loses at most the write in flight and readers
never see half a record. A task's passing states (queued, running, ...) go through
``put_task_soon``: the writes of one event-loop turn, of every task, are committed together in
one transaction right after it (group commit), and a later ``put_task`` or any read of the
store commits them first. Tasks are ``TaskRecord`` structs (``inferencesh.platform.records``),
stored as the same JSON the dict records were, so older data directories load; sessions and
files are still dicts.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec
from inferencesh.core.types import TERMINAL_STATUSES
from inferencesh.platform.records import TaskRecord

__all__ = ["Store"]

log = logging.getLogger("inferencesh.platform")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, status INTEGER NOT NULL, app TEXT NOT NULL, session_id TEXT,
    created_at TEXT NOT NULL, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS tasks_newest ON tasks(created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, app TEXT NOT NULL, created_at TEXT NOT NULL,
    doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS files_newest ON files(created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_newest ON sessions(created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, task_id TEXT NOT NULL, digest TEXT NOT NULL, created REAL NOT NULL);
"""

_TERMINAL = tuple(sorted(int(status) for status in TERMINAL_STATUSES))
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict[str, Any])
_task_decoder = msgspec.json.Decoder(TaskRecord)
_PUT_TASK = (
    "INSERT INTO tasks (id, status, app, session_id, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET status = excluded.status, app = excluded.app,"
    " session_id = excluded.session_id, created_at = excluded.created_at, doc = excluded.doc"
)


def _task_row(task: TaskRecord) -> tuple[Any, ...]:
    return (
        task.id,
        int(task.status),
        task.app or "",
        task.session_id,
        task.created_at or "",
        _encoder.encode(task),
    )


class Store:
    """Task, session and file records in one SQLite database."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._soon: dict[str, TaskRecord] = {}  # task writes waiting for the group commit

    def close(self) -> None:
        """Commit the pending task writes and close the connection."""
        self.flush()
        self._db.close()

    # tasks
    def put_task(self, task: TaskRecord) -> None:
        """Insert or update a task record, committed when this returns (one statement: the row
        is the old record or the new one, never a mix)."""
        self._soon.pop(task.id, None)  # superseded
        self.flush()
        self._db.execute(_PUT_TASK, _task_row(task))

    def put_task_soon(self, task: TaskRecord) -> None:
        """Write a task record with the others of this event-loop turn, in one transaction
        committed right after it (group commit): for states a crash may lose, since a task
        the platform stopped under is failed at the next start either way. Without a running
        loop the record is written at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.put_task(task)
            return
        if not self._soon:
            loop.call_soon(self._commit_soon)
        self._soon[task.id] = task

    def _commit_soon(self) -> None:
        try:
            self.flush()
        except sqlite3.Error as exc:  # the task's next write (its end) reports for itself
            log.warning("could not save the state of running tasks: %s", exc)

    def flush(self) -> None:
        """Commit the writes waiting for the group commit now (one transaction)."""
        if not self._soon:
            return
        rows = [_task_row(task) for task in self._soon.values()]
        self._soon.clear()
        if len(rows) == 1:
            self._db.execute(_PUT_TASK, rows[0])
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(_PUT_TASK, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        return int(self._db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def delete_task(self, task_id: str) -> bool:
        """Delete a task record; whether it existed."""
        self.flush()
        return self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount > 0

    def unfinished_tasks(self) -> list[TaskRecord]:
        """Tasks whose status is not terminal (used at start-up to fail them)."""
        self.flush()
        rows = self._db.execute(
            f"SELECT doc FROM tasks WHERE status NOT IN ({', '.join('?' * len(_TERMINAL))})",
            _TERMINAL,
        ).fetchall()
        return [_task_decoder.decode(r[0]) for r in rows]

    # idempotency keys of task creation
    def idempotent_task(self, key: str, max_age: float) -> tuple[str, str] | None:
        """The ``(task_id, request digest)`` an ``Idempotency-Key`` created, if recent enough."""
        row = self._db.execute(
            "SELECT task_id, digest FROM idempotency WHERE key = ? AND created > ?",
            (key, time.time() - max_age),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def remember_idempotent(self, key: str, task_id: str, digest: str) -> None:
        """Record that ``key`` created ``task_id`` (old keys are pruned as it goes)."""
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency (key, task_id, digest, created) VALUES (?, ?, ?, ?)",
            (key, task_id, digest, now),
        )
        if int(now) % 64 == 0:
            self._db.execute("DELETE FROM idempotency WHERE created < ?", (now - 86400,))

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
        """Insert or replace a file record."""
        self._db.execute(
            "INSERT OR REPLACE INTO files (id, created_at, doc) VALUES (?, ?, ?)",
            (record["id"], record["created_at"], _encoder.encode(record)),
        )

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        """The file record, or ``None``."""
        row = self._db.execute("SELECT doc FROM files WHERE id = ?", (file_id,)).fetchone()
        return None if row is None else _decoder.decode(row[0])

    def count_files(self) -> int:
        """How many file records exist."""
        return int(self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

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

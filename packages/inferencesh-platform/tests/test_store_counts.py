"""The totals of the task and file lists: kept in a ``counts`` row by triggers, so reading one
costs the same at any size, and exact through inserts, upserts, deletes, rolled-back
transactions, writes by other connections, and a database made before the counts existed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from inferencesh.core.types import TaskStatus
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.store import Store


def _task(task_id: str, status: TaskStatus = TaskStatus.RECEIVED) -> TaskRecord:
    return TaskRecord(id=task_id, status=status, app="local/a", created_at="2026-01-01T00:00:00Z")


def _file(file_id: str, uploaded: bool = False) -> dict[str, Any]:
    return {"id": file_id, "created_at": "2026-01-01T00:00:00Z", "uploaded": uploaded}


def _exact(store: Store) -> tuple[int, int]:
    """The totals, checked against a scan of each table."""
    scanned = tuple(
        store._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("tasks", "files")
    )
    totals = (store.count_tasks(), store.count_files())
    assert totals == scanned
    return totals


def test_inserts_and_upserts_of_existing_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "platform.db")
    assert _exact(store) == (0, 0)
    for name in ("a", "b", "c"):
        store.put_task(_task(name))
        store.put_file(_file(name))
    assert _exact(store) == (3, 3)
    # Updates of existing records, by every way the store writes a task.
    store.put_task(_task("a", TaskStatus.RUNNING))
    store.put_task_soon(_task("b", TaskStatus.RUNNING))
    store.commit_task(_task("c", TaskStatus.COMPLETED), lambda error: None)
    store.put_file(_file("a", uploaded=True))
    assert _exact(store) == (3, 3)

    async def turn() -> None:  # a group commit of new and existing tasks together
        for name in ("a", "d", "e"):
            store.commit_task(_task(name, TaskStatus.COMPLETED), lambda error: None)
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert _exact(store) == (5, 3)
    store.close()


def test_deletes(tmp_path: Path) -> None:
    store = Store(tmp_path / "platform.db")
    for name in ("a", "b"):
        store.put_task(_task(name))
        store.put_file(_file(name))
    assert store.delete_task("a") and not store.delete_task("a")
    assert store.delete_file("b") and not store.delete_file("missing")
    assert _exact(store) == (1, 1)
    # A DELETE of every row (which SQLite would otherwise do without visiting the rows).
    store._db.execute("DELETE FROM tasks")
    store._db.execute("DELETE FROM files")
    assert _exact(store) == (0, 0)
    store.close()


def test_a_replace_counts_the_row_it_deletes(tmp_path: Path) -> None:
    store = Store(tmp_path / "platform.db")
    store.put_file(_file("a"))
    # The store's connection: REPLACE deletes the old row, and that delete is counted.
    store._db.execute("INSERT OR REPLACE INTO files (id, created_at, doc) VALUES ('a', '', x'')")
    assert _exact(store) == (0, 1)
    store.close()


def test_a_rolled_back_transaction_takes_its_counts_back(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    store.put_task(_task("a"))
    store.put_file(_file("a"))
    with sqlite3.connect(path) as db:  # the database refuses b, mid-transaction
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON tasks WHEN NEW.id = 'b'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    told: list[BaseException | None] = []

    async def turn() -> None:
        store.commit_task(_task("new"), told.append)  # inserted, then rolled back
        store.commit_task(_task("b"), told.append)
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert len(told) == 2 and all(isinstance(error, sqlite3.Error) for error in told)
    assert store.get_task("new") is None
    assert _exact(store) == (1, 1)
    # A transaction of the caller's own, rolled back after a delete and an insert.
    store._db.execute("BEGIN")
    store.delete_file("a")
    store.put_file(_file("c"))
    store.put_file(_file("d"))
    store._db.execute("ROLLBACK")
    assert _exact(store) == (1, 1)
    store.close()


def test_writes_of_another_connection_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    with sqlite3.connect(path) as db:  # the triggers live in the database, not the store
        db.execute("INSERT INTO files (id, created_at, doc) VALUES ('x', '', x'')")
        db.execute("INSERT INTO files (id, created_at, doc) VALUES ('y', '', x'')")
        db.execute("DELETE FROM files WHERE id = 'x'")
    assert _exact(store) == (0, 1)
    store.close()


_OLD_SCHEMA = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, status INTEGER NOT NULL, app TEXT NOT NULL, session_id TEXT,
    created_at TEXT NOT NULL, doc BLOB NOT NULL);
CREATE INDEX tasks_newest ON tasks(created_at DESC, id DESC);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, app TEXT NOT NULL, created_at TEXT NOT NULL,
    doc BLOB NOT NULL);
CREATE TABLE files (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, doc BLOB NOT NULL);
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY, task_id TEXT NOT NULL, digest TEXT NOT NULL, created REAL NOT NULL);
"""


def test_a_database_made_before_the_counts_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    with sqlite3.connect(path) as db:  # the schema before the counts, with records
        db.executescript(_OLD_SCHEMA)
        for i in range(7):
            db.execute(
                "INSERT INTO tasks VALUES (?, 10, 'local/a', NULL, '2026-01-01T00:00:00Z', ?)",
                (f"t{i}", b'{"id": "t%d", "status": 10}' % i),
            )
        for i in range(4):
            db.execute("INSERT INTO files VALUES (?, '', x'')", (f"f{i}",))
    db.close()
    store = Store(path)
    assert _exact(store) == (7, 4)
    store.put_task(_task("new"))
    store.delete_file("f0")
    assert _exact(store) == (8, 3)
    store.close()
    # Taken once: a reopened database reads its count, it does not scan the table again.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE counts SET n = 100 WHERE name = 'tasks'")
    db.close()
    store = Store(path)
    assert store.count_tasks() == 100
    store.close()


@pytest.mark.parametrize("table", ["tasks", "files"])
def test_a_total_reads_one_row(tmp_path: Path, table: str) -> None:
    path = tmp_path / "platform.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        query = "SELECT n FROM counts WHERE name = ?"
        plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + query, (table,)))
        assert "SEARCH counts USING PRIMARY KEY" in plan, plan
    db.close()

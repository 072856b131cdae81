"""How the store writes and reads at scale: the group commit of passing task states, records
updated in place, and an index for every list order."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from inferencesh.core.types import TaskStatus
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.store import Store


def _task(task_id: str, status: TaskStatus, stamp: str = "2026-01-01T00:00:00Z") -> TaskRecord:
    return TaskRecord(id=task_id, status=status, app="local/a", created_at=stamp)


def _stored(path: Path, task_id: str) -> int | None:
    """The status on disk, read through a connection of its own (what a restart would see)."""
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else int(row[0])


def test_passing_states_of_one_turn_are_committed_together_right_after_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    for name in ("a", "b"):
        store.put_task(_task(name, TaskStatus.RECEIVED))

    async def turn() -> tuple[int | None, int | None]:
        store.put_task_soon(_task("a", TaskStatus.QUEUED))
        store.put_task_soon(_task("b", TaskStatus.QUEUED))
        store.put_task_soon(_task("a", TaskStatus.RUNNING))  # the last one of a task wins
        during = _stored(path, "a")
        await asyncio.sleep(0)  # the turn ends: the group commit runs
        await asyncio.sleep(0)
        return during, _stored(path, "a")

    during, after = asyncio.run(turn())
    assert during == int(TaskStatus.RECEIVED)  # not yet committed inside the turn
    assert after == int(TaskStatus.RUNNING)
    assert _stored(path, "b") == int(TaskStatus.QUEUED)
    store.close()


def test_a_later_write_or_a_read_commits_the_pending_ones_first(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)

    async def turn() -> None:
        store.put_task_soon(_task("a", TaskStatus.RUNNING))
        assert store.get_task("a") == _task("a", TaskStatus.RUNNING)  # a read sees it
        store.put_task_soon(_task("b", TaskStatus.RUNNING))
        store.put_task(_task("b", TaskStatus.COMPLETED))  # the end supersedes it, at once
        assert _stored(path, "b") == int(TaskStatus.COMPLETED)

    asyncio.run(turn())
    assert _stored(path, "b") == int(TaskStatus.COMPLETED)  # never overwritten by the older
    store.put_task_soon(_task("c", TaskStatus.QUEUED))  # no loop: written at once
    assert _stored(path, "c") == int(TaskStatus.QUEUED)
    store.close()


def test_close_commits_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)

    async def turn() -> None:
        store.put_task_soon(_task("a", TaskStatus.RUNNING))
        store.close()

    asyncio.run(turn())
    assert _stored(path, "a") == int(TaskStatus.RUNNING)


def test_records_are_updated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    store.put_task(_task("a", TaskStatus.RECEIVED))
    with sqlite3.connect(path) as db:
        rowid = db.execute("SELECT rowid FROM tasks WHERE id = 'a'").fetchone()[0]
    store.put_task(_task("a", TaskStatus.COMPLETED))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT rowid, status FROM tasks WHERE id = 'a'").fetchone() == (
            rowid,
            int(TaskStatus.COMPLETED),
        )
    store.close()


def test_every_list_order_reads_an_index_not_the_table(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    Store(path).close()
    queries = {
        "tasks": "SELECT doc FROM tasks ORDER BY created_at DESC, id DESC LIMIT 51 OFFSET 0",
        "files": "SELECT doc FROM files ORDER BY created_at DESC, id DESC LIMIT 51 OFFSET 0",
        "sessions": "SELECT doc FROM sessions ORDER BY created_at DESC, id DESC",
    }
    with sqlite3.connect(path) as db:
        for table, query in queries.items():
            plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + query))
            assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, (table, plan)


def test_the_newest_page_is_the_same_with_many_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "platform.db")
    for i in range(300):
        # Ties on created_at are ordered by id, newest first, as the list has always been.
        store.put_task(_task(f"t{i:03d}", TaskStatus.COMPLETED, f"2026-01-01T00:{i // 2:04d}Z"))
    ids = [t.id for t in store.list_tasks(5)]
    assert ids == ["t299", "t298", "t297", "t296", "t295"]
    assert [t.id for t in store.list_tasks(2, 298)] == ["t001", "t000"]
    store.close()

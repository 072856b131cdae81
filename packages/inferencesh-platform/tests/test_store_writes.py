"""How the store writes and reads at scale: the group commit of task states (ends committed
together before anyone is told, passing states within a window), the WAL checkpointed off the
event loop, records updated in place, and an index for every list order."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from inferencesh.core.types import TaskStatus
from inferencesh.platform import store as store_module
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.store import Store


def _task(task_id: str, status: TaskStatus, stamp: str = "2026-01-01T00:00:00Z") -> TaskRecord:
    return TaskRecord(id=task_id, status=status, app="local/a", created_at=stamp)


def _stored(path: Path, task_id: str) -> int | None:
    """The status on disk, read through a connection of its own (what a restart would see)."""
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else int(row[0])


@contextmanager
def _clock_stopped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The running loop's clock stands still inside: no round of passing states falls due
    there, however busy the machine (a stalled test would otherwise see a round between two
    puts it meant to land in one)."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    with monkeypatch.context() as patch:
        patch.setattr(loop, "time", lambda: now)
        yield


def test_passing_states_wait_for_the_window_then_are_committed_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PASSING_WINDOW", 0.05)
    path = tmp_path / "platform.db"
    store = Store(path)
    for name in ("a", "b"):
        store.put_task(_task(name, TaskStatus.RECEIVED))
    before = store.commits

    async def turns() -> tuple[int | None, int | None]:
        with _clock_stopped(monkeypatch):
            store.put_task_soon(_task("a", TaskStatus.QUEUED))
            store.put_task_soon(_task("b", TaskStatus.QUEUED))
            await asyncio.sleep(0)
            store.put_task_soon(_task("a", TaskStatus.RUNNING))  # the last one of a task wins
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            during = _stored(path, "a")  # turns later, still inside the window
        await asyncio.sleep(0.2)
        return during, _stored(path, "a")

    during, after = asyncio.run(turns())
    assert during == int(TaskStatus.RECEIVED)
    assert after == int(TaskStatus.RUNNING)
    assert _stored(path, "b") == int(TaskStatus.QUEUED)
    assert store.commits == before + 1  # one transaction, one row per task
    store.close()


def test_ends_of_one_turn_are_one_transaction_and_nobody_is_told_before_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    told: list[tuple[str, BaseException | None, int | None]] = []

    def tell(task_id: str) -> Callable[[BaseException | None], None]:
        return lambda error: told.append((task_id, error, _stored(path, task_id)))

    async def turn() -> int:
        before = store.commits
        store.commit_task(_task("a", TaskStatus.COMPLETED), tell("a"))
        store.commit_task(_task("b", TaskStatus.FAILED), tell("b"))
        assert told == []  # not inside the turn that queued them
        await asyncio.sleep(0)
        return store.commits - before

    assert asyncio.run(turn()) == 1
    # Each caller is told once, after the commit: the row is on disk when it hears of it.
    assert told == [
        ("a", None, int(TaskStatus.COMPLETED)),
        ("b", None, int(TaskStatus.FAILED)),
    ]
    store.close()


def test_a_failed_commit_fails_every_waiter_and_writes_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    for name in ("a", "b"):
        store.put_task(_task(name, TaskStatus.RUNNING))
    with sqlite3.connect(path) as db:  # the database refuses b's change, mid-transaction
        db.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON tasks WHEN NEW.id = 'b'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    told: dict[str, BaseException | None] = {}

    async def turn() -> None:
        store.commit_task(_task("a", TaskStatus.COMPLETED), lambda e: told.setdefault("a", e))
        store.commit_task(_task("b", TaskStatus.COMPLETED), lambda e: told.setdefault("b", e))
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert set(told) == {"a", "b"}
    for error in told.values():
        assert isinstance(error, sqlite3.Error) and "refused by the test" in str(error)
    # All or nothing: a's change, written before b's failed, was rolled back with it.
    assert _stored(path, "a") == int(TaskStatus.RUNNING)
    assert _stored(path, "b") == int(TaskStatus.RUNNING)
    store.close()


def test_a_newer_state_joins_the_commit_already_due_for_its_task(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)

    async def turn() -> int:
        before = store.commits
        store.commit_task(_task("a", TaskStatus.RECEIVED), lambda error: None)
        store.put_task_soon(_task("a", TaskStatus.QUEUED))  # same turn: written with it
        await asyncio.sleep(0)
        await asyncio.sleep(store_module.PASSING_WINDOW + 0.1)  # and nothing is left waiting
        return store.commits - before

    assert asyncio.run(turn()) == 1
    assert _stored(path, "a") == int(TaskStatus.QUEUED)
    store.close()


def test_settle_commits_a_told_state_at_once(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)

    async def turn() -> tuple[int | None, int | None]:
        store.put_task_soon(_task("a", TaskStatus.RUNNING))
        waiting = _stored(path, "a")
        store.settle("a")
        return waiting, _stored(path, "a")

    assert asyncio.run(turn()) == (None, int(TaskStatus.RUNNING))
    store.close()


def test_an_idempotency_key_is_committed_with_its_tasks_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PASSING_WINDOW", 0.05)
    path = tmp_path / "platform.db"
    store = Store(path)

    def stored_key() -> tuple[str, str] | None:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT task_id, digest FROM idempotency WHERE key = 'k'").fetchone()
        return None if row is None else (row[0], row[1])

    async def turns() -> None:
        with _clock_stopped(monkeypatch):
            store.remember_idempotent("k", "a", "digest")
            store.put_task_soon(_task("a", TaskStatus.RECEIVED))
            # Another task's end is committed first: the key waits for its own task's
            # record, so a crash never leaves a key naming a task that was not saved.
            store.commit_task(_task("z", TaskStatus.COMPLETED), lambda error: None)
            await asyncio.sleep(0)
            assert _stored(path, "z") == int(TaskStatus.COMPLETED)
            assert stored_key() is None and _stored(path, "a") is None
            assert store.idempotent_task("k", 60) == ("a", "digest")  # a retry finds it
        await asyncio.sleep(0.2)

    asyncio.run(turns())
    assert stored_key() == ("a", "digest") and _stored(path, "a") == int(TaskStatus.RECEIVED)
    assert store.idempotent_task("k", 60) == ("a", "digest")
    store.close()


def test_the_wal_is_checkpointed_by_a_thread_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    # The loop's connection never checkpoints on its own short of its bound.
    limit = store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert limit == store_module._LOOP_AUTOCHECKPOINT_PAGES
    for i in range(50):
        store.put_task(_task(f"t{i:02d}", TaskStatus.COMPLETED))
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    rounds = checkpointer.rounds
    checkpointer.poke()
    deadline = time.monotonic() + 10
    while checkpointer.rounds == rounds and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.rounds > rounds
    # The database file alone (without its WAL) now holds the rows: they were copied in.
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as db:
        assert db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 50
    store.close()
    assert not checkpointer._thread.is_alive()


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


def test_only_unfinished_tasks_are_in_the_status_index(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    with sqlite3.connect(path) as db:  # a database made before: its index of every status
        db.execute(
            "CREATE TABLE tasks (id TEXT PRIMARY KEY, status INTEGER NOT NULL, app TEXT NOT NULL,"
            " session_id TEXT, created_at TEXT NOT NULL, doc BLOB NOT NULL)"
        )
        db.execute("CREATE INDEX tasks_status ON tasks(status)")
    store = Store(path)
    store.put_task(_task("done", TaskStatus.COMPLETED))
    store.put_task(_task("running", TaskStatus.RUNNING))
    assert [t.id for t in store.unfinished_tasks()] == ["running"]
    with sqlite3.connect(path) as db:
        indexes = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert "tasks_status" not in indexes and "tasks_unfinished" in indexes
        plan = " ".join(
            str(row[-1])
            for row in db.execute(
                f"EXPLAIN QUERY PLAN SELECT doc FROM tasks WHERE {store_module._UNFINISHED}"
            )
        )
        assert "USING INDEX tasks_unfinished" in plan, plan
        # The ended task is not in the index (its write never touched it).
        entries = db.execute(
            "SELECT COUNT(*) FROM tasks INDEXED BY tasks_unfinished"
            f" WHERE {store_module._UNFINISHED}"
        ).fetchone()[0]
        assert entries == 1
    store.put_task(_task("running", TaskStatus.COMPLETED))  # its end takes it out
    assert store.unfinished_tasks() == []
    store.close()


def test_a_passing_state_waits_its_own_window_not_an_older_ones(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    store = Store(path)
    half = store_module.PASSING_WINDOW / 2

    async def turns() -> None:
        store.put_task_soon(_task("old", TaskStatus.QUEUED))
        store.put_task_soon(_task("young", TaskStatus.QUEUED))
        loop = asyncio.get_running_loop()
        record, since = store._passing["old"]
        store._passing["old"] = (record, since - half)  # waited half a window
        store.put_task_soon(_task("old", TaskStatus.RUNNING))  # keeps its first unsaved time
        store._commit_passing()  # a round
        assert _stored(path, "old") == int(TaskStatus.RUNNING)
        assert _stored(path, "young") is None  # not yet: written by the next round
        timer = store._passing_timer
        assert timer is not None
        assert timer.when() == pytest.approx(loop.time() + half, abs=0.05)

    asyncio.run(turns())
    store.close()


def test_tasks_one_after_another_share_a_round_timer(tmp_path: Path) -> None:
    store = Store(tmp_path / "platform.db")

    async def tasks() -> set[int]:
        timers = set()
        for name in ("a", "b", "c"):
            store.put_task_soon(_task(name, TaskStatus.QUEUED))
            timers.add(id(store._passing_timer))
            ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            store.commit_task(_task(name, TaskStatus.COMPLETED), ended.set_result)
            await ended
            assert _stored(tmp_path / "platform.db", name) == int(TaskStatus.COMPLETED)
        return timers

    # One timer armed for the round, not one armed and cancelled per task.
    assert len(asyncio.run(tasks())) == 1
    store.close()

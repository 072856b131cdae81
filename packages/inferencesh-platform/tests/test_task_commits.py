"""When a task's records are committed, against when anyone is told: a task's end is committed
(with the other ends of its event-loop turn, in one transaction) before its waiters, streams
and readers see it; a failed commit ends the tasks failed saying why; a new task is committed
before its creation returns, unless the caller waits for its end."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh.core.types import TaskStatus
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.server import Platform
from inferencesh.platform.tasks import RunSpec, _Live


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", apps=[]))
    yield platform
    platform.store.close()


def _stored(platform: Platform, task_id: str) -> int | None:
    """The status on disk, through a connection of its own (what a restart would see)."""
    with sqlite3.connect(platform.store.path) as db:
        row = db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else int(row[0])


def _running(platform: Platform, task_id: str) -> tuple[_Live, asyncio.Queue[Any]]:
    record = TaskRecord(
        id=task_id, status=TaskStatus.RUNNING, app="local/a", created_at="2026-01-01T00:00:00Z"
    )
    platform.store.put_task(record)
    live = _Live(record)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    live.subscribers.add(queue)
    platform.tasks._live[task_id] = live
    return live, queue


def test_two_ends_in_one_turn_are_one_commit_and_nobody_is_told_before_it(
    platform: Platform,
) -> None:
    tasks = platform.tasks

    async def turn() -> None:
        (a, a_stream), (b, b_stream) = _running(platform, "a"), _running(platform, "b")
        before = platform.store.commits
        tasks._update(a, TaskStatus.COMPLETED, output={"text": "a"})
        tasks._update(b, TaskStatus.COMPLETED, output={"text": "b"})
        # Inside the turn: nothing committed, so nobody is told (waiters, streams, readers
        # of the live record) and the task is still live.
        for live, stream in ((a, a_stream), (b, b_stream)):
            assert not live.done.is_set() and stream.empty()
            assert live.record.status == TaskStatus.RUNNING
        assert set(tasks._live) == {"a", "b"}
        assert _stored(platform, "a") == _stored(platform, "b") == TaskStatus.RUNNING
        await asyncio.sleep(0)
        assert platform.store.commits == before + 1  # both ends, one transaction
        for live, stream in ((a, a_stream), (b, b_stream)):
            assert live.done.is_set() and live.record.status == TaskStatus.COMPLETED
            assert stream.get_nowait()["data"].status == TaskStatus.COMPLETED
        assert _stored(platform, "a") == _stored(platform, "b") == TaskStatus.COMPLETED
        assert tasks._live == {}

    asyncio.run(turn())


def test_a_failed_commit_of_two_ends_fails_both_saying_why(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = platform.tasks
    real_write = platform.store._write
    failures = [sqlite3.OperationalError("disk I/O error")]

    def fails_once(rows: list[tuple[Any, ...]], keys: list[tuple[Any, ...]]) -> None:
        if failures:
            raise failures.pop()
        real_write(rows, keys)

    async def turn() -> None:
        (a, a_stream), (b, b_stream) = _running(platform, "a"), _running(platform, "b")
        monkeypatch.setattr(platform.store, "_write", fails_once)
        tasks._update(a, TaskStatus.COMPLETED, output={"text": "a"})
        tasks._update(b, TaskStatus.COMPLETED, output={"text": "b"})
        await asyncio.sleep(0)
        for live, stream in ((a, a_stream), (b, b_stream)):
            # Never told it completed: the only end anyone sees is the failure, with the
            # reason, and that one is saved.
            assert live.done.is_set() and live.record.status == TaskStatus.FAILED
            assert live.record.output is None
            assert "could not be saved (OperationalError: disk I/O error)" in str(live.record.error)
            end = stream.get_nowait()["data"]
            assert end.status == TaskStatus.FAILED and end.error == live.record.error
            assert _stored(platform, live.record.id) == TaskStatus.FAILED

    asyncio.run(turn())


def _spec(tmp_path: Path) -> RunSpec:
    return RunSpec(
        app=AppEntry(name="a", directory=tmp_path),
        input={"text": "x"},
        function="run",
        setup=None,
        session=None,
        session_timeout=None,
        webhook=None,
        metadata=None,
    )


def _no_runs(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Runners that only note what was on disk when they took their first step."""
    seen: list[int | None] = []

    async def run(live: _Live, spec: RunSpec, session: object) -> None:
        seen.append(_stored(platform, live.record.id))

    monkeypatch.setattr(platform.tasks, "_run", run)
    return seen


def test_a_new_task_is_committed_before_its_creation_returns(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_steps = _no_runs(platform, monkeypatch)

    async def create() -> TaskRecord:
        record = await platform.tasks.create(_spec(tmp_path))
        assert _stored(platform, record.id) == TaskStatus.RECEIVED
        return record

    asyncio.run(create())
    assert first_steps == [TaskStatus.RECEIVED]  # the runner starts after the commit too


def test_a_task_whose_caller_waits_for_its_end_is_written_later(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_runs(platform, monkeypatch)

    async def create() -> tuple[int | None, int]:
        before = platform.store.commits
        record = await platform.tasks.create(_spec(tmp_path), wait=True)
        return _stored(platform, record.id), platform.store.commits - before

    assert asyncio.run(create()) == (None, 0)


def test_a_task_whose_record_cannot_be_saved_is_refused_and_never_runs(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_steps = _no_runs(platform, monkeypatch)

    def refused(rows: object, keys: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(platform.store, "_write", refused)

    async def create() -> None:
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            await platform.tasks.create(_spec(tmp_path))
        await asyncio.sleep(0.05)

    asyncio.run(create())
    assert first_steps == [] and platform.tasks._live == {}
    monkeypatch.undo()
    assert platform.store.list_tasks() == []


def test_a_stream_opened_while_an_end_is_committed_gets_the_deltas_before_the_end(
    platform: Platform,
) -> None:
    # Opening the stream commits the task's pending state (its end, here): the end is then the
    # live record, and a reader stops at it, so the deltas sent so far must come first.
    tasks = platform.tasks

    async def turn() -> list[Any]:
        live, _ = _running(platform, "a")
        tasks._relay_delta(live, {"response": "Hel"})
        tasks._relay_delta(live, {"response": "lo"})
        tasks._update(live, TaskStatus.COMPLETED, output={"response": "Hello"})
        items = []
        async for batch in tasks.events("a"):
            items.extend(batch.events)
        return items

    items = asyncio.run(turn())
    kinds = [
        "delta" if item.get("event") == "delta" else int(item["data"].status) for item in items
    ]
    first_end = kinds.index(TaskStatus.COMPLETED)
    assert kinds[:first_end] == ["delta", "delta"]


def test_updates_made_together_reach_a_stream_as_one_batch_with_the_end(
    platform: Platform,
) -> None:
    # A quick task's updates (a partial output, then its end in the same turn) go to its
    # stream as one batch, the last: one write to the client, not one per update.
    tasks = platform.tasks

    async def turn() -> None:
        live, _ = _running(platform, "a")
        stream = tasks.events("a")
        first = await stream.__anext__()
        assert [e["data"].status for e in first.events] == [TaskStatus.RUNNING]
        assert not first.last
        before = platform.store.commits
        tasks._update(live, output={"text": "part"})
        tasks._update(live, TaskStatus.COMPLETED, output={"text": "done"})
        second = await stream.__anext__()
        assert second.last
        assert [e["data"].output for e in second.events] == [{"text": "part"}, {"text": "done"}]
        assert second.events[-1]["data"].status == TaskStatus.COMPLETED
        assert platform.store.commits == before + 1  # the end, committed before it was told
        assert _stored(platform, "a") == TaskStatus.COMPLETED
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()

    asyncio.run(turn())


def test_a_streamed_run_commits_its_record_with_the_state_its_first_batch_tells(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No commit of its own for the new record: the stream's first batch (which names the
    # task) commits it with the state it tells; the end is the second and last commit.
    tasks = platform.tasks
    first_steps: list[int | None] = []
    finish = asyncio.Event()

    async def run(live: _Live, spec: RunSpec, session: object) -> None:
        first_steps.append(_stored(platform, live.record.id))
        tasks._update(live, TaskStatus.QUEUED)
        await finish.wait()
        tasks._update(live, TaskStatus.COMPLETED, output={"text": "done"})

    monkeypatch.setattr(tasks, "_run", run)

    async def stream() -> None:
        before = platform.store.commits
        events = tasks.run_streamed(_spec(tmp_path))
        first = await events.__anext__()
        assert first_steps == [None]  # the runner took its first step before any commit
        told = first.events[0]["data"]
        assert told.status == TaskStatus.QUEUED and not first.last
        assert _stored(platform, told.id) == TaskStatus.QUEUED
        assert platform.store.commits == before + 1
        finish.set()
        second = await events.__anext__()
        assert second.last and second.events[-1]["data"].status == TaskStatus.COMPLETED
        assert platform.store.commits == before + 2
        assert _stored(platform, told.id) == TaskStatus.COMPLETED

    asyncio.run(stream())


def test_a_streamed_run_whose_record_cannot_be_saved_raises_and_is_dropped(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = platform.tasks
    cancelled: list[bool] = []

    async def run(live: _Live, spec: RunSpec, session: object) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    monkeypatch.setattr(tasks, "_run", run)

    def refused(rows: object, keys: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(platform.store, "_write", refused)

    async def stream() -> None:
        events = tasks.run_streamed(_spec(tmp_path))
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            await events.__anext__()
        await asyncio.sleep(0.05)

    asyncio.run(stream())
    assert cancelled == [True] and tasks._live == {}
    monkeypatch.undo()
    assert platform.store.list_tasks() == []

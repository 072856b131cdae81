"""How a task's run on a worker is driven: its events become the task's states, and the hang
watch (``GET /health`` every interval) is only started for a run that lasts an interval."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh.core.types import TaskStatus
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.server import Platform
from inferencesh.platform.tasks import RunSpec, _Live
from inferencesh.platform.worker_channel import OnEvent


class FakeWorker:
    """Answers a run with ``running`` then ``result`` after ``seconds``; counts health checks."""

    def __init__(self, seconds: float) -> None:
        self.id = "wrk_fake"
        self.home: Path | None = None
        self.setup_key: str | None = None
        self.alive = True
        self.seconds = seconds
        self.health_checks = 0
        self.tasks_during_run: set[str] = set()

    async def run(self, body: dict[str, Any], on_event: OnEvent) -> None:
        on_event({"type": "status", "status": "running"})
        await asyncio.sleep(self.seconds)
        self.tasks_during_run = {
            getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()
        }
        on_event({"type": "result", "output": {"text": body["input"]["text"]}})

    async def health(self, timeout: float) -> dict[str, Any]:
        self.health_checks += 1
        return {"status": "busy"}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    config = PlatformConfig(data_dir=tmp_path / "data", apps=[], hang_timeout=0.6)  # 0.2 s
    platform = Platform(config)
    yield platform
    platform.store.close()


def _run(platform: Platform, tmp_path: Path, worker: FakeWorker) -> TaskRecord:
    spec = RunSpec(
        app=AppEntry(name="a", directory=tmp_path),
        input={"text": "hi"},
        function="run",
        setup=None,
        session=None,
        session_timeout=None,
        webhook=None,
        metadata=None,
    )
    record = TaskRecord(id="t1", status=TaskStatus.QUEUED, app="local/a", created_at="x")
    live = _Live(record)
    platform.tasks._live["t1"] = live

    async def go() -> TaskRecord:
        completed = await platform.tasks._execute(live, spec, worker, "{}")  # type: ignore[arg-type]
        assert completed
        await live.done.wait()
        return live.record

    return asyncio.run(go())


def test_a_short_run_is_not_watched(platform: Platform, tmp_path: Path) -> None:
    worker = FakeWorker(seconds=0.01)
    ended = _run(platform, tmp_path, worker)
    assert ended.status == TaskStatus.COMPLETED and ended.output == {"text": "hi"}
    statuses = [event.status for event in ended.events or []]
    assert statuses == [TaskStatus.DISPATCHED, TaskStatus.RUNNING, TaskStatus.COMPLETED]
    assert worker.health_checks == 0
    assert not any("_watch" in name for name in worker.tasks_during_run)


def test_a_run_that_lasts_is_watched_every_interval(platform: Platform, tmp_path: Path) -> None:
    worker = FakeWorker(seconds=0.75)  # the watch asks at 0.2, 0.4 and 0.6 s
    ended = _run(platform, tmp_path, worker)
    assert ended.status == TaskStatus.COMPLETED
    assert 2 <= worker.health_checks <= 4
    assert any("_watch" in name for name in worker.tasks_during_run)


class _Seen(FakeWorker):
    def __init__(self) -> None:
        super().__init__(seconds=0.0)
        self.ran_in: asyncio.Task[Any] | None = None

    async def run(self, body: dict[str, Any], on_event: OnEvent) -> None:
        self.ran_in = asyncio.current_task()
        await super().run(body, on_event)


@pytest.fixture
def one_app(tmp_path: Path) -> Iterator[Platform]:
    app = AppEntry(name="a", directory=tmp_path)
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", apps=[app], concurrency=1))
    yield platform
    platform.store.close()


def _spec_of(platform: Platform) -> RunSpec:
    return RunSpec(
        app=platform.config.apps[0],
        input={"text": "hi"},
        function="run",
        setup=None,
        session=None,
        session_timeout=None,
        webhook=None,
        metadata=None,
    )


def test_a_waited_run_runs_in_the_callers_own_task(one_app: Platform) -> None:
    pool = one_app.tasks.pools["a"]
    worker = _Seen()
    pool._slots, pool._all[worker], pool._idle = 1, 0, [worker]  # type: ignore[index,list-item]

    async def call() -> tuple[TaskRecord, asyncio.Task[Any] | None]:
        ended = await one_app.tasks.run(_spec_of(one_app))
        return ended, asyncio.current_task()

    ended, caller = asyncio.run(call())
    assert ended.status == TaskStatus.COMPLETED and ended.output == {"text": "hi"}
    assert worker.ran_in is caller  # no task of its own
    assert one_app.tasks._background == set() and one_app.tasks._live == {}
    assert pool._idle == [worker]  # handed back


def test_cancelling_a_queued_waited_run_ends_it_cancelled(one_app: Platform) -> None:
    pool = one_app.tasks.pools["a"]
    pool._slots = 1  # the one worker is busy elsewhere: the run waits in line

    async def call() -> TaskRecord:
        waiting = asyncio.ensure_future(one_app.tasks.run(_spec_of(one_app)))
        while not one_app.tasks._live:
            await asyncio.sleep(0)
        (task_id,) = one_app.tasks._live
        await asyncio.sleep(0.01)
        answer = await one_app.tasks.cancel(task_id)
        assert answer.status == TaskStatus.CANCELLED
        return await waiting  # the caller is told the end; it is not cancelled itself

    ended = asyncio.run(call())
    assert ended.status == TaskStatus.CANCELLED
    assert [e.status for e in ended.events or []][-1] == TaskStatus.CANCELLED
    assert one_app.store.get_task(ended.id) == ended

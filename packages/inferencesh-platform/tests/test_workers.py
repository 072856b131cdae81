"""The local platform's workers and their pool: a cancel that outlives its call, a worker that
dies while idle or fails to start, a broken connection, and a pool closed while a worker starts;
over a real ``inferencesh dev`` process and real worker processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from inferencesh.platform.config import AppEntry, PlatformConfig, load_app
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.pool import AppPool
from inferencesh.platform.workers import WorkerError
from platform_apps import echo_source
from platform_testkit import data, kill_and_wait, run, wait_status, write_app

# --- a cancelled call that outlives its cancel never reaches the next task -------------------


def test_a_worker_still_busy_after_a_cancel_is_not_handed_the_next_task(
    one_slot_http: httpx.Client,
) -> None:
    # The worker gives up waiting for the stuck call after its own 10 s grace and reports the
    # run cancelled while still busy; the cancel's longer grace (11 s) has not run out yet.
    stuck = run(one_slot_http, "local/stuck", {"seconds": 60})
    wait_status(one_slot_http, stuck["id"], {7})
    data(one_slot_http.post(f"/tasks/{stuck['id']}/cancel", json={"timeout": 11_000}))
    final = wait_status(one_slot_http, stuck["id"], {10, 11, 12}, timeout=30)
    assert final["status"] == 12
    after = run(one_slot_http, "local/stuck", {"seconds": 0}, wait=True)
    assert after["status"] == 10, after.get("error")
    assert after["worker_id"] != final["worker_id"]  # the busy one was killed and replaced


# --- a cancel that reaches the worker before the run does is not lost ------------------------


def test_a_cancel_right_after_dispatch_reaches_the_app(one_slot_http: httpx.Client) -> None:
    # A large input keeps the run's request on its way to the worker for a while; a cancel sent
    # meanwhile finds nothing to cancel there. It must still stop the run gracefully (on_cancel,
    # worker kept), not leave it running until the grace period ends and the worker is killed.
    warm = run(one_slot_http, "local/slow", {"seconds": 0}, wait=True)
    pad = "x" * 3_000_000
    for _ in range(6):
        task = run(one_slot_http, "local/slow", {"seconds": 30, "pad": pad})
        data(one_slot_http.post(f"/tasks/{task['id']}/cancel"))
        final = wait_status(one_slot_http, task["id"], {10, 11, 12})
        assert final["status"] == 12
        # Lost, the cancel would end in a kill at the grace period, on_cancel never called.
        assert "cancel requested" in str(final["logs"]), "on_cancel never ran"
    after = run(one_slot_http, "local/slow", {"seconds": 0}, wait=True)
    assert after["worker_id"] == warm["worker_id"], "a worker was killed"


# --- a worker that dies while idle gives its place back ---------------------------------------


def test_a_worker_that_dies_while_idle_does_not_keep_its_slot(one_slot_http: httpx.Client) -> None:
    # Concurrency 1: the dead worker's slot is the only one; kept, every later task waits forever.
    first = run(one_slot_http, "local/stuck", {}, wait=True)
    assert first["status"] == 10
    kill_and_wait(first["output"]["pid"])
    after = data(
        one_slot_http.post(
            "/apps/run", json={"app": "local/stuck", "input": {}, "wait": True}, timeout=20
        )
    )
    assert after["status"] == 10, after.get("error")
    assert after["output"]["pid"] != first["output"]["pid"]
    health = data(one_slot_http.get("/health"))["apps"]["stuck"]
    assert health == {"workers": 1, "queued": 0}


# --- failures leave nothing behind ----------------------------------------------------------


def test_workers_that_fail_to_start_leave_no_log_files(
    one_slot_http: httpx.Client, one_slot: LocalPlatform
) -> None:
    logs = one_slot.data_dir / "workers"
    before = set(logs.glob("*.log")) if logs.is_dir() else set()
    for _ in range(2):
        task = run(one_slot_http, "local/unloadable", {}, wait=True)
        assert task["status"] == 11 and "exited with code 1" in task["error"]
    assert set(logs.glob("*.log")) <= before


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Whether process ``pid`` is gone (and reaped by the platform) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


# --- a cancel names the run it means ------------------------------------------------------


def test_the_platform_names_the_task_in_every_cancel_it_sends(recording_http: httpx.Client) -> None:
    task = run(recording_http, "local/recorder", {"seconds": 30})
    wait_status(recording_http, task["id"], {7})
    data(recording_http.post(f"/tasks/{task['id']}/cancel"))
    final = wait_status(recording_http, task["id"], {10, 11, 12})
    assert final["status"] == 12
    report = run(recording_http, "local/recorder", {}, wait=True)
    assert report["worker_id"] == final["worker_id"]  # a graceful cancel: the worker was kept
    cancels = report["output"]["cancels"]
    assert cancels, "no cancel reached the worker"
    assert cancels == [{"task_id": task["id"]}] * len(cancels)


# --- a worker whose connection failed is never handed out again ---------------------------


def test_a_worker_whose_connection_failed_is_killed_and_replaced(
    recording_http: httpx.Client,
) -> None:
    first = run(recording_http, "local/sever", {}, wait=True)
    assert first["status"] == 10
    cut = run(recording_http, "local/sever", {"sever": True}, wait=True)
    assert cut["status"] == 11
    assert cut["worker_id"] == first["worker_id"]
    assert "worker lost: the worker connection failed" in cut["error"], cut["error"]
    assert "it was killed" in cut["error"], cut["error"]
    assert wait_gone(first["output"]["pid"]), "the worker in an unknown state was kept"
    after = run(recording_http, "local/sever", {}, wait=True)
    assert after["status"] == 10, after.get("error")
    assert after["worker_id"] != first["worker_id"]
    assert after["output"]["pid"] != first["output"]["pid"]
    assert data(recording_http.get("/health"))["apps"]["sever"] == {"workers": 1, "queued": 0}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_pool_closed_while_a_worker_starts_hands_out_nothing(tmp_path: Path) -> None:
    # Bug: a worker whose start was under way when the pool closed was handed out afterwards
    # (and then kept idle by a pool nobody stops again): a leaked process.
    slow_import = (
        "import os, pathlib, time\n"
        "pathlib.Path(__file__).with_name('pid').write_text(str(os.getpid()))\n"
        "time.sleep(1)\n"
    )
    app = write_app(tmp_path, "slowstart", slow_import + echo_source("v1"))
    config = PlatformConfig(data_dir=tmp_path / "data", apps=[load_app(app)])
    pool = AppPool(config.apps[0], config, 1)
    starting = asyncio.ensure_future(pool.acquire(""))
    while not (app / "pid").exists():
        await asyncio.sleep(0.02)
    await pool.close()
    with pytest.raises(WorkerError, match="local/slowstart: the local platform is shutting down"):
        await starting
    assert gone(int((app / "pid").read_text()))
    with pytest.raises(WorkerError, match="shutting down"):
        await pool.acquire("")


class _Idle:
    """A stand-in for an idle worker: what the pool reads of one."""

    def __init__(self, setup_key: str) -> None:
        self.setup_key = setup_key
        self.alive = True


async def test_the_pool_hands_out_the_most_recently_released_worker(tmp_path: Path) -> None:
    config = PlatformConfig(
        data_dir=tmp_path / "data", apps=[AppEntry(name="a", directory=tmp_path)]
    )
    pool = AppPool(config.apps[0], config, 3)
    older, newer, other = _Idle("{}"), _Idle("{}"), _Idle('{"x":1}')
    pool._slots = 3
    for worker in (older, newer, other):
        pool._all[worker] = 0  # type: ignore[index]
        pool.release(worker)  # type: ignore[arg-type]
    # Same setup: the one released last, so sequential tasks stay on one warm worker.
    assert await pool.acquire("{}") is newer
    pool.release(newer)  # type: ignore[arg-type]
    assert await pool.acquire("{}") is newer
    # A matching setup still wins over a more recently released worker; without one, the
    # most recent goes.
    assert await pool.acquire("{}") is older
    assert await pool.acquire('{"y":2}') is other

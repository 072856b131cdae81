"""The task time limit: a run still going when its limit is up is asked to stop, and its
worker is killed when it has not stopped within the cancel grace; the task then ends failed
with a reason that names the limit (never cancelled, never stuck).

The limit is the app's ``inf.yml`` ``timeout`` (seconds), else the server's
``--task-timeout``, else none; it counts from the moment the task is handed to a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import httpx
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.workers import Worker

__all__ = ["enforce", "time_limit", "timeout_reason"]

log = logging.getLogger("inferencesh.platform")


def time_limit(app: AppEntry, config: PlatformConfig) -> float | None:
    """The seconds a task of ``app`` may run, or ``None`` for no limit."""
    return app.timeout if app.timeout is not None else config.task_timeout


def timeout_reason(limit: float, app: AppEntry) -> str:
    """A timed-out task's ``error``."""
    where = "its inf.yml `timeout`" if app.timeout is not None else "--task-timeout"
    return f"timed out: the task ran longer than its time limit of {limit:g}s ({where})"


async def enforce(
    worker: Worker,
    task_id: str,
    limit: float,
    grace: float,
    expired: Callable[[], None],
    running: Callable[[], bool],
) -> None:
    """Wait ``limit`` seconds, then call ``expired()``, ask ``worker`` to stop the run and kill
    it after ``grace`` seconds if ``running()`` still says the run goes on (by then the worker
    may serve another task). Cancel this coroutine when the run ends first."""
    await asyncio.sleep(limit)
    expired()
    log.info("task %s reached its time limit of %gs; stopping it", task_id, limit)
    with contextlib.suppress(httpx.HTTPError, ValueError, asyncio.TimeoutError):
        await asyncio.wait_for(worker.cancel(task_id), max(grace, 0.1))
    await asyncio.sleep(grace)
    if worker.alive and running():
        worker.kill()

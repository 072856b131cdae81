"""Per-app worker pools: bounded concurrency with a FIFO queue of waiting tasks.

A pool keeps at most ``limit`` workers for an app (alive or starting). A task that finds no idle
worker and no free slot waits in line; a released worker is handed straight to the first waiter,
so the queue is fair and no slot is ever double-booked. Idle workers stay warm, and a worker whose
last setup matches the task's is preferred so ``setup`` runs as rarely as possible.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

from inferencesh.apps.platform.config import AppEntry, PlatformConfig
from inferencesh.apps.platform.workers import Worker

__all__ = ["AppPool"]


class AppPool:
    """Workers of one app, outside sessions."""

    def __init__(self, app: AppEntry, config: PlatformConfig, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {limit}")
        self.app = app
        self.limit = limit
        self._config = config
        self._idle: list[Worker] = []
        self._slots = 0  # workers alive or starting
        # Each waiter receives a worker, or None meaning "a slot is reserved for you: start one".
        self._waiters: collections.deque[asyncio.Future[Worker | None]] = collections.deque()
        self._all: set[Worker] = set()
        self._reapers: set[asyncio.Task[None]] = set()
        # The app's schemas (``GET /schema``), read once per server life: apps are not
        # reloaded while the server runs, so a new worker would serve the same document.
        self._schema: dict[str, Any] | None = None
        self._schema_lock = asyncio.Lock()

    @property
    def queued(self) -> int:
        """Tasks waiting for a worker."""
        return len(self._waiters)

    @property
    def size(self) -> int:
        """Workers alive or starting."""
        return self._slots

    def _take_idle(self, setup_key: str) -> Worker | None:
        while self._idle:
            best = next((w for w in self._idle if w.setup_key == setup_key), self._idle[-1])
            self._idle.remove(best)
            if best.alive:
                return best
            # Died while idle (killed, crashed): give its slot back, or it is held forever.
            self.discard(best)
        return None

    async def acquire(self, setup_key: str) -> Worker:
        """A worker for one run, waiting in line when the pool is at its limit."""
        if not self._waiters:
            worker = self._take_idle(setup_key)
            if worker is not None:
                return worker
            if self._slots < self.limit:
                self._slots += 1
                return await self._start()
        future: asyncio.Future[Worker | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            handed = await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Handed over as we were cancelled: pass it on so nothing leaks.
                got = future.result()
                if got is None:
                    self._slots -= 1
                    self._wake_for_slot()
                else:
                    self.release(got)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            raise
        if handed is None:
            return await self._start()
        return handed

    async def _start(self) -> Worker:
        """Start a worker in a slot already counted in ``_slots``."""
        try:
            worker = await Worker.start(self.app, self._config)
        except BaseException:
            self._slots -= 1
            self._wake_for_slot()
            raise
        self._all.add(worker)
        return worker

    def _wake_for_slot(self) -> None:
        while self._waiters and self._slots < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self._slots += 1
                future.set_result(None)

    def release(self, worker: Worker) -> None:
        """Return a worker after a run; a dead or broken one is dropped and its slot reused."""
        if not worker.alive:
            self.discard(worker)
            return
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(worker)
                return
        self._idle.append(worker)

    def discard(self, worker: Worker) -> None:
        """Drop a worker (killed, crashed or hung); kills it if still running."""
        if worker not in self._all:
            return
        worker.kill()
        self._forget(worker)
        self._slots -= 1
        self._wake_for_slot()
        # Reap the process and close its client in the background (keeping a reference:
        # the event loop holds tasks only weakly).
        reaper = asyncio.get_running_loop().create_task(worker.stop(timeout=1.0))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)

    def _forget(self, worker: Worker) -> None:
        self._all.discard(worker)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)

    async def schema(self) -> dict[str, Any]:
        """The app's schemas as its worker serves them at ``GET /schema``, cached.

        Read from a worker borrowed through the normal :meth:`acquire`/:meth:`release`, so it
        takes an idle worker (or starts one that then stays warm for the tasks that follow) and
        waits in line like a task when all are busy, never taking one a task holds. Raises
        :class:`~inferencesh.apps.platform.workers.WorkerError` (or an HTTP error) when no
        worker can be had or it does not answer.
        """
        if self._schema is not None:
            return self._schema
        async with self._schema_lock:
            if self._schema is None:
                worker = await self.acquire("")
                try:
                    self._schema = await worker.schema()
                finally:
                    self.release(worker)
            return self._schema

    async def warm(self) -> None:
        """Start one idle worker now if the pool is empty."""
        if self._slots == 0 and not self._waiters:
            self._slots += 1
            self.release(await self._start())

    async def close(self) -> None:
        """Stop every worker of the pool."""
        for future in self._waiters:
            future.cancel()
        self._waiters.clear()
        workers = list(self._all)
        self._all.clear()
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), *self._reapers, return_exceptions=True)

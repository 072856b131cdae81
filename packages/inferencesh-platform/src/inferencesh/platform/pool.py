"""Per-app worker pools: bounded concurrency with a FIFO queue of waiting tasks.

A pool keeps at most ``limit`` workers for an app (alive or starting). A task that finds no idle
worker and no free slot waits in line; a released worker is handed straight to the first waiter,
so the queue is fair and no slot is ever double-booked. Idle workers stay warm, and a worker whose
last setup matches the task's is preferred so ``setup`` runs as rarely as possible.

Edits apply without a restart (``PlatformConfig.reload``): whenever a worker is asked for or
handed to a queued task, the app's source fingerprint (:mod:`.sources`) is checked, and when it
changed, the workers started before are retired: idle ones at once, busy ones when their run
ends. New workers import the code as it is now.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any

from inferencesh.platform.config import AppEntry, PlatformConfig, load_app
from inferencesh.platform.sources import CodeWatch
from inferencesh.platform.workers import Worker, WorkerError

__all__ = ["AppPool"]

log = logging.getLogger(__name__)

_RETIRE_TIMEOUT = 5.0
"""Seconds a retired worker gets to shut down cleanly before it is killed."""


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
        # Every worker of the pool, with the code generation it was started in.
        self._all: dict[Worker, int] = {}
        self._reapers: set[asyncio.Task[None]] = set()
        # Bumped each time the app's sources are seen to change; a worker started in an
        # older one runs old code and is retired.
        self._generation = 0
        self._watch = (
            CodeWatch(app.directory, skip=config.data_dir.resolve()) if config.reload else None
        )
        if self._watch is not None and self._watch.bounded:
            log.warning(
                "%s: the app folder holds more files than a code check reads; edits past them "
                "are not noticed (keep data and environments out of %s)",
                app.ref,
                app.directory,
            )
        # The app's schemas (``GET /schema``) and the generation of the worker that served them.
        self._schema: tuple[int, dict[str, Any]] | None = None
        self._schema_lock = asyncio.Lock()
        self._closed = False

    @property
    def queued(self) -> int:
        """Tasks waiting for a worker."""
        return len(self._waiters)

    @property
    def size(self) -> int:
        """Workers alive or starting."""
        return self._slots

    def _take_idle(self, setup_key: str) -> Worker | None:
        # The most recently released worker first (its setup matching, if one does): tasks
        # one after another stay on one warm process instead of taking turns on all of them.
        while self._idle:
            best = next(
                (w for w in reversed(self._idle) if w.setup_key == setup_key), self._idle[-1]
            )
            self._idle.remove(best)
            if best.alive:
                return best
            # Died while idle (killed, crashed): give its slot back, or it is held forever.
            self.discard(best)
        return None

    def check_code(self) -> bool:
        """Whether the app's sources changed since the workers were started (checked at most
        as often as is cheap, see :class:`~.sources.CodeWatch`). When they did: idle workers
        are stopped, busy ones are retired when given back, the cached schema is dropped, and
        what of an edited ``inf.yml`` needs a restart is logged. ``acquire``, ``schema`` and
        ``release`` (when a task waits) call it."""
        if self._watch is None or not self._watch.changed():
            return False
        self._generation += 1
        self._schema = None
        log.warning("%s: code changed, new workers load it", self.app.ref)
        self._reload_manifest()
        for worker in list(self._idle):
            self._retire(worker)
        return True

    def _reload_manifest(self) -> None:
        """Say what of an edited ``inf.yml`` waits for a restart: the name (refs are fixed at
        start) and the declared secrets (checked by the server before a task reaches the
        pool). Everything else in it is read by the new workers themselves."""
        try:
            fresh = load_app(self.app.directory)
        except ValueError as exc:
            # The new workers fail to load the same file and say so on the task.
            log.warning("%s: %s", self.app.ref, exc)
            return
        if fresh.name != self.app.name:
            log.warning(
                "%s: inf.yml now names the app %r; it is served as %s until the server restarts",
                self.app.ref,
                fresh.name,
                self.app.ref,
            )
        if (fresh.secrets, fresh.optional_secrets) != (self.app.secrets, self.app.optional_secrets):
            log.warning(
                "%s: inf.yml declares other secrets now; runs are checked against the ones it "
                "declared at start (%s) until the server restarts",
                self.app.ref,
                ", ".join(self.app.secrets + self.app.optional_secrets) or "none",
            )

    async def acquire(self, setup_key: str) -> Worker:
        """A worker for one run, waiting in line when the pool is at its limit; a
        :class:`~inferencesh.platform.workers.WorkerError` once the pool is closed."""
        if self._closed:
            raise WorkerError(f"{self.app.ref}: the local platform is shutting down")
        self.check_code()
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
        # Taken before the import starts: an edit seen during it makes this worker old.
        generation = self._generation
        try:
            worker = await Worker.start(self.app, self._config)
        except BaseException:
            self._slots -= 1
            self._wake_for_slot()
            raise
        if self._closed:
            # ``close`` ran while this worker started: it stopped every worker it knew of, and
            # this one would be handed out (or kept idle) by a pool nobody stops again.
            self._slots -= 1
            await worker.stop(timeout=1.0)
            raise WorkerError(f"{self.app.ref}: the local platform is shutting down")
        self._all[worker] = generation
        return worker

    def _wake_for_slot(self) -> None:
        while self._waiters and self._slots < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self._slots += 1
                future.set_result(None)

    def release(self, worker: Worker) -> None:
        """Return a worker after a run; a dead or broken one is dropped and its slot reused,
        and one started before the app's code changed is retired."""
        if not worker.alive:
            self.discard(worker)
            return
        if self._waiters:
            # Handed straight to a task that queued before a save, maybe: that task must not
            # run code older than the sources now (the check is as cheap as in ``acquire``).
            self.check_code()
        if self._all.get(worker, self._generation) != self._generation:
            self._retire(worker)
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

    def _retire(self, worker: Worker) -> None:
        """Stop a worker that runs old code, cleanly and in the background. Its slot is freed
        once it has exited, so the pool never runs more than ``limit`` processes (an app's
        model memory is not held twice)."""
        if worker not in self._all:
            return
        self._forget(worker)

        def freed(task: asyncio.Task[None]) -> None:
            self._reapers.discard(task)
            self._slots -= 1
            self._wake_for_slot()
            if not task.cancelled() and task.exception() is not None:
                log.warning(
                    "%s: stopping a retired worker failed: %r", self.app.ref, task.exception()
                )

        reaper = asyncio.get_running_loop().create_task(worker.stop(timeout=_RETIRE_TIMEOUT))
        self._reapers.add(reaper)
        reaper.add_done_callback(freed)

    def _forget(self, worker: Worker) -> None:
        self._all.pop(worker, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)

    async def schema(self) -> dict[str, Any]:
        """The app's schemas as its worker serves them at ``GET /schema``, cached until the
        app's code changes.

        Read from a worker borrowed through the normal :meth:`acquire`/:meth:`release`, so it
        takes an idle worker (or starts one that then stays warm for the tasks that follow) and
        waits in line like a task when all are busy, never taking one a task holds. Raises
        :class:`~inferencesh.platform.workers.WorkerError` (or an HTTP error) when no
        worker can be had or it does not answer.
        """
        self.check_code()
        cached = self._schema
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        async with self._schema_lock:
            cached = self._schema
            if cached is not None and cached[0] == self._generation:
                return cached[1]
            worker = await self.acquire("")
            try:
                generation = self._all.get(worker, self._generation)
                document = await worker.schema()
            finally:
                self.release(worker)
            self._schema = (generation, document)
            return document

    async def warm(self) -> None:
        """Start one idle worker now if the pool is empty."""
        if self._slots == 0 and not self._waiters:
            self._slots += 1
            self.release(await self._start())

    async def close(self) -> None:
        """Stop every worker of the pool, those it is retiring included (awaited: none is
        left running); it hands out no worker afterwards."""
        self._closed = True
        for future in self._waiters:
            future.cancel()
        self._waiters.clear()
        workers = list(self._all)
        self._all.clear()
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), *self._reapers, return_exceptions=True)

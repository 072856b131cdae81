"""The one thread an app's sync methods run on.

``setup`` and every call of a sync method run on the same dedicated thread, so thread-bound
resources made in ``setup`` (a CUDA context, a sqlite connection) keep working, and the event
loop never blocks. A call on it can be interrupted: :class:`RunCancelled` is raised inside the
app's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["AppThread", "RunCancelled"]


class RunCancelled(BaseException):
    """Raised inside a sync app method when its run is cancelled.

    A ``BaseException``, so ``except Exception`` in app code does not swallow it.
    """


class AppThread:
    """The one thread sync app methods run on; a call on it can be interrupted."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._interruptible = False
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                job = self._jobs.get()
                if job is None:
                    return
                job()
            except BaseException:  # noqa: BLE001 - a late interrupt must not kill the thread
                continue

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` on the thread, in the caller's context; cancelling the
        awaiting task interrupts the call."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()

        def settle(ok: bool, value: Any) -> None:
            if future.done():
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def job() -> None:
            with self._lock:
                self._interruptible = True
                self.busy = True
            ok, value = True, None
            try:
                try:
                    value = context.run(func, *args, **kwargs)
                finally:
                    with self._lock:
                        self._interruptible = False
                        # Drop an interrupt that arrived too late to hit the app's code.
                        _set_async_exc(threading.get_ident(), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                ok, value = False, exc
            # Idle before the result is delivered, so the next call never sees us busy.
            self.busy = False
            loop.call_soon_threadsafe(settle, ok, value)

        self._jobs.put(job)
        try:
            return await future
        except asyncio.CancelledError:
            self.interrupt()
            raise

    def post(self, func: Callable[[], Any]) -> None:
        """Run ``func`` on the thread after the current call, without waiting for it."""

        def job() -> None:
            # Cleanup after an already-failed call: its own error adds nothing.
            with contextlib.suppress(Exception):
                func()

        self._jobs.put(job)

    def interrupt(self) -> bool:
        """Raise :class:`RunCancelled` in the running app call, if any."""
        with self._lock:
            if not self._interruptible or self._thread.ident is None:
                return False
            _set_async_exc(self._thread.ident, RunCancelled)
            return True

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until the current call has returned; ``False`` if it is still running."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.busy:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def stop(self) -> None:
        """End the thread after the jobs already queued."""
        self._jobs.put(None)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )

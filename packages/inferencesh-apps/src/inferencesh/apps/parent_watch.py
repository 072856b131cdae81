"""A worker ends with the process that started it, even when its app blocks the event loop
(sync sleep or a busy loop inside ``async def``) or ignores ``SIGTERM``.

The platform names itself in ``INFERENCESH_PARENT_PID``. A daemon thread, which needs no event
loop, checks every quarter second whether that process is still the parent; once it is not, it
gives the ordinary shutdown (``SIGTERM`` from the parent-death signal) a moment, then kills the
worker's whole process group (the app's own child processes included).

Example:
    >>> from inferencesh.apps.parent_watch import watch_parent
    >>> watch_parent({}) is None  # not started by a platform: nothing to watch
    True
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping

__all__ = ["PARENT_ENV", "watch_parent"]

PARENT_ENV = "INFERENCESH_PARENT_PID"
_INTERVAL = 0.25
_GRACE = 2.0


def watch_parent(environ: Mapping[str, str] = os.environ) -> threading.Thread | None:
    """Start the watchdog thread when ``environ`` names the parent; returns it (or ``None``)."""
    raw = environ.get(PARENT_ENV, "")
    if not raw.isdigit() or not hasattr(os, "getppid"):
        return None
    parent = int(raw)
    thread = threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_INTERVAL)
    time.sleep(_GRACE)  # a clean shutdown by SIGTERM ends the process before this
    try:
        group = os.getpgrp()
        if group == os.getpid():  # our own group (the platform starts each worker in one)
            os.killpg(group, signal.SIGKILL)
    finally:
        os._exit(1)

"""Task statuses as integers on the wire, and the platform's transition rule."""

from __future__ import annotations

import enum

__all__ = ["TERMINAL", "Status", "can_transition"]


class Status(enum.IntEnum):
    """Task status codes 0..12, exactly as the platform sends them."""

    UNKNOWN = 0
    RECEIVED = 1
    QUEUED = 2
    DISPATCHED = 3
    PREPARING = 4
    SERVING = 5
    SETTING_UP = 6
    RUNNING = 7
    CANCELLING = 8
    UPLOADING = 9
    COMPLETED = 10
    FAILED = 11
    CANCELLED = 12


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


def can_transition(current: int, new: int) -> bool:
    """The platform rule: terminal is final; anything may end or start cancelling; else forward.

    ``dispatched`` may also fall back to ``received``/``queued`` (a worker rejected the task).
    """
    if current in TERMINAL:
        return False
    if new in TERMINAL or new == Status.CANCELLING:
        return True
    if current == Status.DISPATCHED and new in (Status.RECEIVED, Status.QUEUED):
        return True
    return new > current

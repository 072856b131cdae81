"""Status helpers of the earlier ``inferencesh`` 0.36 client: ``parse_status``,
``is_terminal_status`` and ``is_message_ready``.

A task's status on the wire is an integer (``TaskStatus``); older and future servers may send its
name. A chat message's status is a string (``ChatMessageStatus``). These helpers take either
form, so code that polls with them keeps working.

Example:
    >>> from inferencesh import ChatMessageStatus, TaskStatus, is_message_ready, parse_status
    >>> from inferencesh import is_terminal_status
    >>> parse_status("COMPLETED") is TaskStatus.COMPLETED, parse_status(None)
    (True, None)
    >>> is_terminal_status(10), is_terminal_status("running"), is_terminal_status(None)
    (True, False, False)
    >>> is_message_ready(ChatMessageStatus.READY), is_message_ready("queued")
    (True, False)
"""

from __future__ import annotations

from typing import overload

from inferencesh.core.chat import ChatMessageStatus
from inferencesh.core.types import TaskStatus
from inferencesh.core.types import parse_status as _parse

__all__ = ["ChatMessageStatus", "is_message_ready", "is_terminal_status", "parse_status"]

# A message is ready once the agent finished with it, one way or another.
_MESSAGE_DONE = frozenset({"ready", "failed", "cancelled"})


@overload
def parse_status(status: None) -> None: ...


@overload
def parse_status(status: object) -> TaskStatus | None: ...


def parse_status(status: object) -> TaskStatus | None:
    """A task status as ``TaskStatus``: from its number, or its name in any case.

    ``None`` stays ``None``. An unknown name, or a value that is neither a number nor a string,
    gives ``TaskStatus.UNKNOWN``; a number this SDK does not know keeps its value (it prints as
    ``unknown_14``, is not terminal, and ``.is_known`` is false).

    Example:
        >>> from inferencesh import parse_status
        >>> parse_status(10), parse_status("cancelled"), parse_status("soon")
        (<TaskStatus.COMPLETED: 10>, <TaskStatus.CANCELLED: 12>, <TaskStatus.UNKNOWN: 0>)
        >>> unknown = parse_status(14)
        >>> print(unknown, int(unknown), unknown.is_known)
        unknown_14 14 False
    """
    if status is None:
        return None
    return _parse(status)


def is_terminal_status(status: object) -> bool:
    """Whether a task status (number or name) is final: completed, failed, cancelled or
    rejected. ``None`` and unknown values are not.

    Example:
        >>> from inferencesh import is_terminal_status
        >>> [is_terminal_status(s) for s in (7, "failed", "REJECTED", None, "nonsense")]
        [False, True, True, False, False]
    """
    parsed = parse_status(status)
    return parsed is not None and parsed.is_terminal


def is_message_ready(status: str | None) -> bool:
    """Whether a chat message is final: ``ready``, ``failed`` or ``cancelled`` (any case).

    ``pending`` and ``queued`` messages, ``None``, ``""`` and statuses this SDK does not know
    are not ready.

    Example:
        >>> from inferencesh import is_message_ready
        >>> [is_message_ready(s) for s in ("ready", "FAILED", "pending", "queued", None)]
        [True, True, False, False, False]
    """
    if not isinstance(status, str):
        return False
    return str.lower(status) in _MESSAGE_DONE

"""The events a run produces, exactly as the worker streams them (one JSON object per line)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "DeltaRunEvent",
    "ErrorEvent",
    "ErrorKind",
    "LogEvent",
    "LogType",
    "OutputEvent",
    "ResultEvent",
    "RunEvent",
    "StatusEvent",
    "is_final",
]

ErrorKind = Literal["validation", "setup", "app", "not_found", "cancelled"]
LogType = Literal["setup", "run"]


class StatusEvent(TypedDict):
    """The run entered a phase: ``setting_up`` (only when setup runs) or ``running``."""

    type: Literal["status"]
    status: Literal["setting_up", "running"]


class LogEvent(TypedDict):
    """Text the app wrote (stdout, stderr, logging, ``metadata.log``): whole lines, no final newline."""

    type: Literal["log"]
    log_type: LogType
    content: str


class OutputEvent(TypedDict):
    """A partial output: every yield of a generator function but the last."""

    type: Literal["output"]
    output: dict[str, Any]


class DeltaRunEvent(TypedDict):
    """A delta the function yielded (a ``StreamDelta``'s set fields): the delta channel, never
    an output. The platform relays it on the task stream as a ``DeltaEvent``."""

    type: Literal["delta"]
    delta: dict[str, Any]


class ResultEvent(TypedDict):
    """The final output; the last event of a successful run."""

    type: Literal["result"]
    output: dict[str, Any]


class _ErrorEventRequired(TypedDict):
    type: Literal["error"]
    kind: ErrorKind
    error: str


class ErrorEvent(_ErrorEventRequired, total=False):
    """The run failed; the last event of a failed run. ``traceback`` is set for app errors."""

    traceback: str


RunEvent = StatusEvent | LogEvent | OutputEvent | DeltaRunEvent | ResultEvent | ErrorEvent


def is_final(event: RunEvent) -> bool:
    """Whether ``event`` ends a run (a result or an error)."""
    return event["type"] in ("result", "error")

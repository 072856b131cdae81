"""How a run fails: error events, tracebacks cut to the app's own frames, and one-line
validation messages."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from types import TracebackType

from inferencesh.apps.runtime.events import ErrorEvent, ErrorKind
from pydantic import ValidationError

__all__ = ["RunFailed", "error_event", "format_traceback", "format_validation_error"]

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


class RunFailed(Exception):
    """Ends a run early with a given error event."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(event["error"])
        self.event = event


def error_event(kind: ErrorKind, message: str, exc: BaseException | None = None) -> ErrorEvent:
    """The error event of a failed run, with the app's traceback when ``exc`` is given."""
    event = ErrorEvent(type="error", kind=kind, error=message)
    if exc is not None:
        event["traceback"] = format_traceback(exc)
    return event


def format_traceback(exc: BaseException) -> str:
    """The traceback from the app's code on: the runtime's own frames are noise to authors."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__)).rstrip()


def format_validation_error(exc: ValidationError, root: str = "input") -> str:
    """One line naming each bad field by path and the reason, e.g.
    ``invalid input: count: Input should be a valid integer (got 'many')``."""
    problems = []
    for error in exc.errors(include_url=False):
        path = "".join(
            f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
            for i, part in enumerate(error.get("loc", ()))
        )
        reason = error.get("msg", "invalid value")
        if error.get("type") != "missing" and "input" in error:
            shown = json.dumps(error["input"], default=str)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            reason = f"{reason} (got {shown})"
        problems.append(f"{path or '(root)'}: {reason}")
    return f"invalid {root}: " + "; ".join(problems)

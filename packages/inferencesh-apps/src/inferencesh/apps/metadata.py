"""``Metadata``: what the runtime tells an app about the current task, and its log channel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["Metadata"]

_logger = logging.getLogger("inferencesh.app")


class Metadata(BaseModel):
    """Ids of the current task and worker, plus ``log`` and ``progress`` helpers.

    Apps receive it as the second argument of ``run`` (and of ``setup`` when they ask for it).
    Unknown keys the platform sends are kept as attributes (``extra="allow"``).

    ``log`` and ``progress`` format one line and hand it to the sink the runtime installed with
    :meth:`set_sink`, so the line lands in the task's logs; without a sink (a plain script or a
    test) lines go to the ``inferencesh.app`` logger.

    Example:
        >>> from inferencesh import Metadata
        >>> metadata = Metadata(task_id="task_1")
        >>> metadata.set_sink(print)  # the runtime's sink writes to the task's logs
        >>> metadata.log("loading", "weights")
        loading weights
        >>> metadata.progress(3, 10, "steps")
        [progress] 30% (3/10) steps
    """

    model_config = ConfigDict(extra="allow")

    app_id: str | None = None
    app_version_id: str | None = None
    app_variant: str | None = None
    worker_id: str | None = None
    task_id: str | None = None
    session_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    gpu_ids: list[str] | None = Field(default=None)

    _sink: Callable[[str], None] | None = PrivateAttr(default=None)

    def set_sink(self, sink: Callable[[str], None] | None) -> None:
        """Send every later ``log``/``progress`` line to ``sink`` (``None`` restores the logger)."""
        self._sink = sink

    def update(self, other: dict[str, Any] | BaseModel) -> None:
        """Set every key of ``other`` as an attribute (the published SDK's helper)."""
        items = other.model_dump() if isinstance(other, BaseModel) else dict(other)
        for key, value in items.items():
            setattr(self, key, value)

    def log(self, *parts: object) -> None:
        """Write one log line made of ``parts`` joined by spaces, like ``print``."""
        self._emit(" ".join(str(part) for part in parts))

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress: ``done`` out of ``total`` (or a fraction/count alone), with a message.

        The line reads ``[progress] 30% (3/10) loading weights`` with a total, or
        ``[progress] 3 loading weights`` without one.
        """
        if total is not None:
            if total <= 0:
                raise ValueError(f"progress total must be positive, got {total!r}")
            percent = max(0.0, min(100.0, 100.0 * done / total))
            line = f"[progress] {percent:.0f}% ({_num(done)}/{_num(total)})"
        else:
            line = f"[progress] {_num(done)}"
        if message:
            line = f"{line} {message}"
        self._emit(line)

    def _emit(self, line: str) -> None:
        sink = self._sink
        if sink is None:
            _logger.info(line)
        else:
            sink(line)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

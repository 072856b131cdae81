"""How a dropped stream is reopened: one small set of options for every stream that follows
something to its end (a task stream in ``inferencesh.core.tasks``, a chat stream in
``inferencesh.agents``).

Our own argument is ``max_reconnects`` (consecutive reopen attempts that bring nothing before
giving up). The arguments of the earlier ``inferencesh`` 0.36 are accepted too and mean:

* ``auto_reconnect=False``: never reopen; the first drop raises its error, and a stream that
  closes before its end raises ``APIConnectionError``.
* ``reconnect_delay_ms``: the pause before the first reopen, in milliseconds. Later reopens in
  a row that bring nothing new wait longer, doubling up to a cap (5 s, or the given delay if
  it is longer); a task stream that was making progress is reopened at once, without a pause.

Example:
    >>> from inferencesh.core.reconnect import reconnect_options
    >>> reconnect_options(auto_reconnect=False).max_reconnects
    0
    >>> reconnect_options(reconnect_delay_ms=250).delay
    0.25
    >>> reconnect_options(reconnect_delay_ms=-1)
    Traceback (most recent call last):
    ...
    ValueError: reconnect_delay_ms must be a number of milliseconds, 0 or more, got -1
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["DEFAULT_RECONNECT", "MAX_RECONNECT_DELAY", "Reconnect", "reconnect_options"]

MAX_RECONNECT_DELAY = 5.0
"""Seconds: the longest pause between reopens, unless the first pause asked for is longer."""


class Reconnect(NamedTuple):
    """What to do when a stream drops (build it with ``reconnect_options``)."""

    max_reconnects: int | None = None
    """Consecutive reopen attempts that bring nothing before giving up (``None``: the
    client's or agent's own setting)."""
    delay: float | None = None
    """Seconds before the first reopen (``None``: the stream's own default)."""
    enabled: bool = True
    """False: never reopen (``auto_reconnect=False``)."""

    def attempts(self, default: int) -> int:
        """``max_reconnects``, or ``default`` when it is not set here."""
        if not self.enabled:
            return 0
        return default if self.max_reconnects is None else self.max_reconnects

    def first_delay(self, default: float) -> float:
        """``delay``, or ``default`` when it is not set here."""
        return default if self.delay is None else self.delay


DEFAULT_RECONNECT = Reconnect()
"""Reopen with the client's own settings."""


def reconnect_options(
    auto_reconnect: bool = True,
    max_reconnects: int | None = None,
    reconnect_delay_ms: float | None = None,
) -> Reconnect:
    """The ``Reconnect`` of a call's arguments (see the module); a ``ValueError`` names the
    argument that is out of range."""
    if auto_reconnect is True and max_reconnects is None and reconnect_delay_ms is None:
        return DEFAULT_RECONNECT  # the common call: nothing to check or build
    if max_reconnects is not None and (
        isinstance(max_reconnects, bool)
        or not isinstance(max_reconnects, int)
        or max_reconnects < 0
    ):
        raise ValueError(f"max_reconnects must be an integer, 0 or more, got {max_reconnects!r}")
    delay = None
    if reconnect_delay_ms is not None:
        if (
            isinstance(reconnect_delay_ms, bool)
            or not isinstance(reconnect_delay_ms, (int, float))
            or not math.isfinite(reconnect_delay_ms)
            or reconnect_delay_ms < 0
        ):
            raise ValueError(
                "reconnect_delay_ms must be a number of milliseconds, 0 or more, "
                f"got {reconnect_delay_ms!r}"
            )
        delay = reconnect_delay_ms / 1000
    enabled = bool(auto_reconnect)
    return Reconnect(max_reconnects if enabled else 0, delay, enabled)

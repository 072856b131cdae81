"""The retry policy: which failures are tried again, and how long to wait before each try.

One policy for everything the SDK fetches: the API client's requests (``inferencesh.core.http``)
and an app's input file downloads (``inferencesh.apps.file``). Nothing here does I/O.

* A connection failure (refused, reset, timed out) is retried; so is an error status that may
  pass on a second try: 408, 429 and every 5xx. A 409 is a state conflict (deleting a running
  task) and is retried only when the server marks it passing (``Retry-After``, as for an
  idempotency key whose first request is still in flight). ``x-should-retry: true|false`` from
  the server overrides all of that either way.
* The wait is the server's ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``
  when it sends one, else jittered exponential backoff (about 0.5 s, 1 s, 2 s ... capped at
  8 s). A server asking for more than 120 s is not retried: that is longer than a caller
  should be kept blocked.
* ``RetryState`` counts the retries of one request and gives up past ``max_retries``
  (default 2: three attempts in all).

Example:
    A loop around one fetch that may fail (``attempt`` stands for the request)::

        state = RetryState(DEFAULT_MAX_RETRIES)
        while True:
            status, headers = attempt()
            if status < 300:
                break
            delay = state.delay_after_status(status, headers)
            if delay is None:
                raise RuntimeError(f"HTTP {status}")  # not retryable, or out of retries
            time.sleep(delay)

    >>> from inferencesh.core.retry import RetryState, status_retryable
    >>> status_retryable(503, {}), status_retryable(404, {})
    (True, False)
    >>> state = RetryState(max_retries=1)
    >>> state.delay_after_status(429, {"retry-after": "2"})  # the server's wait, in seconds
    2.0
    >>> state.delay_after_error() is None  # the one retry is used up
    True
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Mapping

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRY_STATUSES",
    "RetryState",
    "backoff",
    "retry_after",
    "status_retryable",
]

DEFAULT_MAX_RETRIES = 2
"""Retries of one request after its first attempt."""
INITIAL_RETRY_DELAY = 0.5
"""The backoff before the first retry (before jitter), doubled for each later one."""
MAX_RETRY_DELAY = 8.0
"""The longest backoff (before jitter)."""
MAX_RETRY_AFTER = 120.0
"""The longest ``Retry-After`` that is waited for; a longer one ends the retries."""
RETRY_STATUSES = frozenset({408, 429})
"""The 4xx statuses that are retried (every 5xx is too; a 409 only when marked retryable)."""


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's requested delay in seconds (``retry-after-ms``, seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        ms = _seconds(raw_ms)
        if ms is not None:
            return ms / 1000.0
    raw = headers.get("retry-after")
    if not raw:
        return None
    seconds = _seconds(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a zone-less one must not read as local time
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(float(when.timestamp()) - time.time(), 0.0)


def _seconds(raw: str) -> float | None:
    """A header's number, at least 0; ``None`` when it is not a number (``nan`` would reach
    ``sleep`` and fail there; ``inf`` is kept: longer than any wait allowed, so no retry)."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return None if math.isnan(value) else max(value, 0.0)


def backoff(attempt: int) -> float:
    """Jittered exponential backoff before retry number ``attempt`` (0-based)."""
    ceiling = min(INITIAL_RETRY_DELAY * (2.0**attempt), MAX_RETRY_DELAY)
    return ceiling * (0.5 + random.random() / 2)


def status_retryable(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an error status may succeed when sent again."""
    explicit = headers.get("x-should-retry")
    if explicit == "true":
        return True
    if explicit == "false":
        return False
    if status == 409:
        # A plain state conflict stays one until the caller changes something; only a
        # conflict the server says will pass (it sent a wait) is worth another try.
        return retry_after(headers) is not None
    return status in RETRY_STATUSES or status >= 500


class RetryState:
    """Counts the retries of one request and decides whether and when to try again."""

    def __init__(self, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        self.max_retries = max_retries
        self.attempt = 0
        """Retries decided so far (0 while the first attempt is out)."""

    def delay_after_status(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before retrying this error status, or ``None`` to give up."""
        if self.attempt >= self.max_retries or not status_retryable(status, headers):
            return None
        requested = retry_after(headers)
        if requested is not None and requested > MAX_RETRY_AFTER:
            return None  # the server asks for longer than a client should block
        delay = requested if requested is not None else backoff(self.attempt)
        self.attempt += 1
        return delay

    def delay_after_error(self) -> float | None:
        """Seconds to wait before retrying a connection failure, or ``None`` to give up."""
        if self.attempt >= self.max_retries:
            return None
        delay = backoff(self.attempt)
        self.attempt += 1
        return delay

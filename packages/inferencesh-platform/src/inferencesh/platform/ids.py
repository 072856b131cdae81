"""Identifiers and timestamps in the platform's formats.

Both are made several times per task, so they are cheap: an id's time part is written once
per millisecond and its random part taken from a buffer of random characters that
``os.urandom`` fills a few hundred ids at a time; a timestamp formats its date and time of day
once per second.

Example:
    >>> from inferencesh.platform.ids import iso, new_id
    >>> len(new_id()), new_id("sess_").startswith("sess_")
    (26, True)
    >>> iso(0.5)
    '1970-01-01T00:00:00.500000Z'
"""

from __future__ import annotations

import os
import time

__all__ = ["iso", "new_id", "now_iso"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase
# A random byte's low 5 bits as a character (256 is a multiple of 32: each is equally likely).
_BYTE_TO_CHAR = bytes(ord(_ALPHABET[b & 31]) for b in range(256))
# Two characters for each 10-bit value: a time part is five lookups.
_PAIRS = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]
_RANDOM_CHARS = 16  # 80 bits, as a ULID's
_BUFFER_IDS = 256


class _Randomness:
    """The random part of ids, read from the OS a buffer at a time (one system call per
    ``_BUFFER_IDS`` ids instead of one each). A forked child reads its own, never its
    parent's next ones."""

    def __init__(self) -> None:
        self._text = ""
        self._at = 0

    def take(self) -> str:
        at = self._at
        if at >= len(self._text):
            self._text = os.urandom(_RANDOM_CHARS * _BUFFER_IDS).translate(_BYTE_TO_CHAR).decode()
            at = 0
        self._at = at + _RANDOM_CHARS
        return self._text[at : at + _RANDOM_CHARS]

    def forget(self) -> None:
        self._text = ""
        self._at = 0


_randomness = _Randomness()
os.register_at_fork(after_in_child=_randomness.forget)
_millis = -1
_millis_text = ""


def new_id(prefix: str = "") -> str:
    """A 26-character, time-ordered, lowercase ULID (optionally prefixed, e.g. ``sess_``):
    10 characters of milliseconds since the epoch, then 16 random."""
    global _millis, _millis_text
    millis = time.time_ns() // 1_000_000
    if millis != _millis:
        pairs = _PAIRS
        _millis_text = (
            pairs[millis >> 40 & 1023]
            + pairs[millis >> 30 & 1023]
            + pairs[millis >> 20 & 1023]
            + pairs[millis >> 10 & 1023]
            + pairs[millis & 1023]
        )
        _millis = millis
    return prefix + _millis_text + _randomness.take()


def iso(epoch: float) -> str:
    """A Unix time as UTC RFC 3339 with microseconds and a ``Z`` suffix."""
    micros = round(epoch * 1_000_000)
    return _format(micros // 1_000_000, micros % 1_000_000)


_second = -1
_prefix = ""


def _format(second: int, micros: int) -> str:
    global _second, _prefix
    if second != _second:
        _prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        _second = second
    return f"{_prefix}{micros:06d}Z"


def now_iso() -> str:
    """The current UTC time as RFC 3339 with microseconds and a ``Z`` suffix."""
    micros = time.time_ns() // 1000
    return _format(micros // 1_000_000, micros % 1_000_000)

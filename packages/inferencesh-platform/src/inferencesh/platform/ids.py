"""Identifiers and timestamps in the platform's formats."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

__all__ = ["iso", "new_id", "now_iso"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


def new_id(prefix: str = "") -> str:
    """A 26-character, time-ordered, lowercase ULID (optionally prefixed, e.g. ``sess_``)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))


def iso(epoch: float) -> str:
    """A Unix time as UTC RFC 3339 with microseconds and a ``Z`` suffix."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """The current UTC time as RFC 3339 with microseconds and a ``Z`` suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

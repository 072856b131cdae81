"""Reading the platform's timestamps the same way on every Python.

``datetime.fromisoformat`` differs by version: 3.10 reads neither a ``Z`` zone nor fractions of
other than 3 or 6 digits (Go writes ``.5Z`` and nanoseconds), while 3.11+ reads far more than
RFC 3339. Shared by the distributions (the client's chat state, the local platform's
``run_at``).
"""

from __future__ import annotations

import re
from datetime import datetime

# RFC 3339's date-time, seconds optional as in ISO 8601; the zone is optional here so that a
# caller can tell a missing zone (a naive result) from a malformed time.
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d)(?::(\d\d)(?:\.(\d+))?)?([Zz]|[+-]\d\d:\d\d)?",
    re.ASCII,
)


def parse_rfc3339(value: str) -> datetime:
    """``value`` as a ``datetime`` (naive when it names no zone); ``ValueError`` when it is not
    an RFC 3339 time. Digits past the sixth of a fraction are dropped, as 3.11+ does."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    date, minutes, seconds, fraction, zone = match.groups()
    fraction = (fraction or "")[:6].ljust(6, "0")
    zone = "+00:00" if zone in ("Z", "z") else zone or ""
    return datetime.fromisoformat(f"{date}T{minutes}:{seconds or '00'}.{fraction}{zone}")

"""The limits every request is held to, and the checks that enforce them.

Each limit has a default here, a field of :class:`~inferencesh.platform.config.PlatformConfig`
and an ``inferencesh dev`` flag; a request past one is refused with a 4xx whose message names
the limit and the flag that raises it, never a 500 or a stalled server.

Example:
    >>> from inferencesh.platform.limits import json_depth
    >>> json_depth(b'{"a": [1, {"b": "[[[not counted]]]"}]}')
    3
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from inferencesh.platform.errors import PlatformError

__all__ = [
    "MAX_FILES_PER_REQUEST",
    "MAX_JSON_DEPTH",
    "MAX_PAGE_OFFSET",
    "check_depth",
    "check_entries",
    "check_offset",
    "json_depth",
]

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a request body (``--max-json-depth``)."""
MAX_FILES_PER_REQUEST = 256
"""Most file records one ``POST /files`` creates (``--max-files-per-request``)."""
MAX_PAGE_OFFSET = 1_000_000_000
"""Largest paging offset (a cursor's included); past it there is nothing to list."""

# A JSON string (escapes included): brackets inside one do not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text ``raw`` (0 for a scalar).

    A scan of the bytes, not a parse: it never recurses, whatever the input, and runs before
    the decoder (whose own recursion would otherwise fail deep bodies with a 500).
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(_STEP[b] for b in brackets), default=0)


def check_depth(raw: bytes, limit: int) -> None:
    """Raise a 400 naming the limit when ``raw`` nests deeper than ``limit``."""
    if len(raw) <= limit:
        return  # too short to nest that deep
    depth = json_depth(raw)
    if depth > limit:
        raise PlatformError(
            400,
            "too_deep",
            f"the body nests too deeply ({depth} levels); the limit is {limit} (--max-json-depth)",
        )


def check_entries(name: str, entries: list[Any], limit: int, flag: str) -> None:
    """Raise a 413 naming the limit when the list ``name`` has more than ``limit`` entries."""
    if len(entries) > limit:
        raise PlatformError(
            413,
            "too_many_entries",
            f"`{name}` has {len(entries)} entries; the limit is {limit} per request ({flag})",
        )


def check_offset(name: str, offset: int) -> None:
    """Raise a 400 naming the limit when a paging offset is past :data:`MAX_PAGE_OFFSET`."""
    if offset > MAX_PAGE_OFFSET:
        raise PlatformError.bad_request(f"`{name}` must be at most {MAX_PAGE_OFFSET}, got {offset}")

"""Paging of the list routes: ``limit`` with ``offset`` or an opaque ``cursor`` in, a
``CursorListResponse`` out."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from inferencesh.platform.errors import PlatformError
from inferencesh.platform.limits import check_offset
from starlette.requests import Request

__all__ = ["page_body", "read_page"]


def read_page(body: Any, request: Request) -> tuple[int, int]:
    """``(limit, offset)`` from the JSON body or else the query (a cursor wins over ``offset``)."""
    source: dict[str, Any] = body if isinstance(body, dict) else {}

    def given(name: str, default: int) -> int:
        # Explicit `None` checks: a given 0 is a value to check, not a missing one.
        value = source.get(name)
        if value is None:
            value = request.query_params.get(name)
        if value is None:
            return default
        # Only whole numbers: `true` or `2.5` are mistakes, not 1 and 2.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and len(value) <= 40:
            with contextlib.suppress(ValueError):
                return int(value)
        raise PlatformError.bad_request(f"`{name}` must be an integer, got {value!r}")

    limit = given("limit", 50)
    cursor = source.get("cursor")
    if cursor is None:
        cursor = request.query_params.get("cursor")
    offset = _cursor_offset(cursor) if cursor else given("offset", 0)
    check_offset("cursor" if cursor else "offset", offset)
    if not 1 <= limit <= 500 or offset < 0:
        raise PlatformError.bad_request(
            f"`limit` must be 1..500 and `offset` at least 0, got limit {limit}, offset {offset}"
        )
    return limit, offset


_CURSOR_PREFIX = "offset:"


def _make_cursor(offset: int) -> str:
    # Opaque to clients, as the platform's cursors are; locally a position in the newest-first list.
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def _cursor_offset(cursor: Any) -> int:
    bad = PlatformError.bad_request(
        f"`cursor` must be a `next_cursor` or `prev_cursor` from an earlier page, got {cursor!r}"
    )
    if not isinstance(cursor, str):
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    digits = text.removeprefix(_CURSOR_PREFIX)
    if text == digits or not digits.isdigit() or len(digits) > 18:
        raise bad
    return int(digits)


def page_body(items: list[Any], limit: int, offset: int, total: int) -> dict[str, Any]:
    """A ``CursorListResponse``: ``items`` holds up to ``limit + 1`` records (the extra one
    only tells whether a next page exists)."""
    has_next = len(items) > limit
    return {
        "items": items[:limit],
        "next_cursor": _make_cursor(offset + limit) if has_next else None,
        "prev_cursor": _make_cursor(max(0, offset - limit)) if offset > 0 else None,
        "has_next": has_next,
        "has_previous": offset > 0,
        "items_per_page": limit,
        "total_items": total,
    }

"""Core reads and prints the same on every supported Python (3.10 to 3.13): the wire's string
enums format as their values, and the platform's timestamps parse by one RFC 3339 rule."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from inferencesh.core.chat import (
    ChatMessageRole,
    ChatMessageStatus,
    ChatStatus,
    ToolInvocationStatus,
    ToolType,
)
from inferencesh.core.protocol import parse_rfc3339

MEMBERS = [
    ChatStatus.AWAITING_INPUT,
    ChatMessageStatus.READY,
    ChatMessageRole.ASSISTANT,
    ToolInvocationStatus.AWAITING_APPROVAL,
    ToolType.CLIENT,
]


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: type(m).__name__)
def test_chat_enums_print_their_wire_value(member: enum.Enum) -> None:
    value = member.value
    assert str(member) == f"{member}" == format(member) == value
    assert f"{member:>20}" == value.rjust(20)
    assert member == value
    assert repr(member) == f"<{type(member).__name__}.{member.name}: {value!r}>"
    assert msgspec.json.encode(member) == msgspec.json.encode(value)


UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.5Z", datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        # Go's nanoseconds: digits past the sixth are dropped.
        ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-01-02t03:04:05z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (
            "2026-01-02T03:04:05+02:00",
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-01-02 03:04", datetime(2026, 1, 2, 3, 4)),  # no zone: naive, the caller decides
    ],
)
def test_rfc3339_times_parse_alike_everywhere(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected
    assert (parse_rfc3339(text).tzinfo is None) == (expected.tzinfo is None)


@pytest.mark.parametrize(
    "text",
    ["2026-01-02", "2026-01-02T03:04:05.5.5Z", "2026-01-02T03:04:05+0200", "20260102T030405Z", ""],
)
def test_what_is_not_rfc3339_is_refused_everywhere(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        parse_rfc3339(text)

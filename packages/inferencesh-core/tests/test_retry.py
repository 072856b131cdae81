"""``inferencesh.core.retry``: the SDK's one retry policy, as its users (the API transport and
app file downloads) consult it."""

from __future__ import annotations

import pytest
from inferencesh.core import retry
from inferencesh.core.retry import (
    DEFAULT_MAX_RETRIES,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RetryState,
    backoff,
    retry_after,
    status_retryable,
)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (408, {}, True),
        (409, {}, False),  # a plain state conflict
        (409, {"retry-after": "1"}, True),  # a conflict the server says will pass
        (429, {}, True),
        (500, {}, True),
        (503, {}, True),
        (400, {}, False),
        (404, {}, False),
        (425, {}, False),
        (404, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
    ],
)
def test_which_statuses_are_retried(status: int, headers: dict[str, str], expected: bool) -> None:
    assert status_retryable(status, headers) is expected


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    for attempt in range(8):
        ceiling = min(0.5 * 2**attempt, MAX_RETRY_DELAY)
        delays = {backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: concurrent clients do not retry in step


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "-4"}) == 0.0
    assert retry_after({"retry-after": "nan"}) is None
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert retry_after({}) is None


def test_a_retry_state_counts_the_retries_of_one_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.1 * (attempt + 1))
    state = RetryState()
    assert state.max_retries == DEFAULT_MAX_RETRIES == 2
    assert state.delay_after_status(503, {}) == 0.1
    assert state.delay_after_error() == 0.2
    assert state.attempt == 2
    assert state.delay_after_error() is None  # three attempts in all
    assert state.delay_after_status(503, {}) is None


def test_a_retry_state_gives_up_without_counting() -> None:
    state = RetryState(5)
    assert state.delay_after_status(404, {}) is None  # not worth another try
    too_long = {"retry-after": str(MAX_RETRY_AFTER + 1)}
    assert state.delay_after_status(429, too_long) is None  # longer than a caller should wait
    assert state.attempt == 0
    assert state.delay_after_status(429, {"retry-after": str(MAX_RETRY_AFTER)}) == MAX_RETRY_AFTER

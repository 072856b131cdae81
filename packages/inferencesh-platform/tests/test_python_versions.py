"""What the local platform reads the same on every supported Python (3.10 to 3.13), where the
standard library's own parsing differs between versions: ``run_at`` times as Go servers write
them (RFC 3339 with a ``Z`` and fractions of any length, which 3.10's ``fromisoformat`` refuses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from platform_testkit import PlatformFactory, api_client, data

ROOT = Path(__file__).resolve().parents[3]
V2 = {"X-API-Version": "2"}


@pytest.fixture(scope="module")
def http(local_platform: PlatformFactory) -> Iterator[httpx.Client]:
    server = local_platform([ROOT / "examples" / "apps" / "hello"])
    with api_client(server, timeout=30) as client:
        yield client


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2999-01-01T00:00:00.5Z", "2999-01-01T00:00:00.500000Z"),
        ("2999-01-01T00:00:00.12345z", "2999-01-01T00:00:00.123450Z"),
        # Go's RFC3339Nano; Python keeps microseconds, as 3.11+ does (the rest is dropped).
        ("2999-01-01T00:00:00.123456789Z", "2999-01-01T00:00:00.123456Z"),
        ("2999-01-01T02:00:00.25+02:00", "2999-01-01T00:00:00.250000Z"),
        ("2999-01-01T00:00:00Z", "2999-01-01T00:00:00Z"),
        ("2999-01-01 00:00+00:00", "2999-01-01T00:00:00Z"),
    ],
)
def test_run_at_reads_rfc3339_fractions_of_any_length(
    http: httpx.Client, sent: str, kept: str
) -> None:
    task = data(http.post("/apps/run", json={"app": "local/hello", "input": {}, "run_at": sent}))
    try:
        assert task["run_at"] == kept
        assert data(http.get(f"/tasks/{task['id']}/status"))["status"] == 2  # queued until then
    finally:
        assert data(http.post(f"/tasks/{task['id']}/cancel"))["status"] == 12


@pytest.mark.parametrize(
    "sent",
    [
        # Each is read by some Python's ``fromisoformat``, so this checks one rule for all.
        "2999-01-01T00:00:00.Z",
        "2999-01-01T00:00:00.5.5Z",
        "2999-01-01T00:00:00.5+0200",
        "29990101T000000Z",
        "2999-01-01",
        "2999-13-01T00:00:00Z",
        "2999-01-01T00:00:00\u0665Z",
    ],
)
def test_run_at_still_refuses_what_is_not_a_time(http: httpx.Client, sent: str) -> None:
    response = http.post("/apps/run", json={"app": "local/hello", "run_at": sent}, headers=V2)
    assert response.status_code == 400
    assert "`run_at` must be an ISO 8601 timestamp" in response.json()["detail"]
    assert repr(sent) in response.json()["detail"]

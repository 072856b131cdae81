"""Fixtures of the core tests: no real waits, and each scenario through both clients."""

from __future__ import annotations

import asyncio

import pytest
from core_testkit import Driver
from inferencesh.core import _transport


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the delays the client asks for instead of sleeping."""
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def fake_asleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_transport, "sleep", fake_sleep)
    monkeypatch.setattr(_transport, "asleep", fake_asleep)
    return slept


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Both clients, one after the other (the sync/async parity of every scenario)."""
    return Driver(request.param)

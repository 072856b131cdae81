"""Fixtures of the core tests: a fake platform on pytest-httpx and a sync/async driver."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from inferencesh.core import _transport
from inferencesh.core.client import AsyncInference, Inference

BASE = "http://127.0.0.1:9"
KEY = "inf_SECRET_test_key_0123456789"


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


def envelope(data: Any) -> dict[str, Any]:
    """A v1 success envelope."""
    return {"success": True, "status": 200, "data": data}


def ndjson(*objs: Any) -> bytes:
    """NDJSON lines for ``objs``."""
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def task(id: str = "t1", status: int = 1, **fields: Any) -> dict[str, Any]:
    """A TaskDTO."""
    return {"id": id, "status": status, **fields}


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in the given chunks, optionally failing afterwards (a drop)."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail


class Driver:
    """Runs the same scenario through ``Inference`` or ``AsyncInference``.

    ``call(fn)`` takes ``fn(client)``; for the async client the result is awaited (and an
    async iterator is collected into a list) inside a fresh event loop.
    """

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.options = {"api_key": KEY, "base_url": BASE, **options}

    def call(self, fn: Callable[[Any], Any]) -> Any:
        if self.kind == "sync":
            with Inference(**self.options) as client:
                result = fn(client)
                if hasattr(result, "__iter__") and not isinstance(result, (dict, list, str)):
                    if not hasattr(result, "__getitem__"):
                        return list(result)
                return result

        async def go() -> Any:
            async with AsyncInference(**self.options) as client:
                result = fn(client)
                if inspect.isawaitable(result):
                    result = await result
                if hasattr(result, "__aiter__"):
                    return [item async for item in result]
                return result

        return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Both clients, one after the other."""
    return Driver(request.param)

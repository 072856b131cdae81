"""Connections kept alive across tasks: a task stream read to its end hands its connection back
to the pool, so sequential tasks reuse one connection (a real uvicorn server on 127.0.0.1).

A server that keeps a stream open after the terminal update is not waited for: the client
gives its end a moment, then drops that one connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from core_testkit import serve
from inferencesh.core import AsyncInference, Inference, Task
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KEY = "inf_keepalive_key"


def _app(linger: float) -> Starlette:
    """Each run completes at once; its stream sends the terminal update, then stays open for
    ``linger`` seconds before it ends."""
    counter = iter(range(10**6))

    async def run(request: Request) -> Response:
        return JSONResponse({"id": f"t{next(counter)}", "status": 1})

    async def stream(request: Request) -> Response:
        task_id = request.path_params["task_id"]

        async def lines() -> AsyncIterator[bytes]:
            done = {"id": task_id, "status": 10, "output": {"ok": task_id}}
            yield json.dumps({"data": done, "fields": ["status", "output"]}).encode() + b"\n"
            if linger:
                await asyncio.sleep(linger)
                yield b'{"type": "heartbeat"}\n'

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return Starlette(
        routes=[
            Route("/apps/run", run, methods=["POST"]),
            Route("/tasks/{task_id}/stream", stream),
        ]
    )


@pytest.fixture(scope="module")
def prompt_url() -> Iterator[str]:
    with serve(_app(0.0)) as url:
        yield url


@pytest.fixture(scope="module")
def lingering_url() -> Iterator[str]:
    with serve(_app(30.0)) as url:
        yield url


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The addresses this process's sockets connect to from now on."""
    seen: list[Any] = []
    original = socket.socket.connect

    def counting(self: socket.socket, address: Any) -> Any:
        seen.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    return seen


PARAMS = {"app": "a/b", "input": {}}


def test_sequential_sync_tasks_share_one_connection(prompt_url: str, connects: list[Any]) -> None:
    with Inference(api_key=KEY, base_url=prompt_url) as client:
        tasks = [client.run(PARAMS) for _ in range(10)]
    assert all(task.output == {"ok": task.id} for task in tasks)
    assert len({task.id for task in tasks}) == 10
    assert len(connects) == 1, connects


def test_sequential_async_tasks_share_one_connection(prompt_url: str, connects: list[Any]) -> None:
    finalized: list[Any] = []

    async def main() -> list[Task]:
        hooks = sys.get_asyncgen_hooks()

        def finalizer(agen: Any) -> None:
            finalized.append(agen)
            hooks.finalizer(agen)

        sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=finalizer)
        async with AsyncInference(api_key=KEY, base_url=prompt_url) as client:
            return [await client.run(PARAMS) for _ in range(10)]

    tasks = asyncio.run(main())
    assert all(task.output == {"ok": task.id} for task in tasks)
    assert len(connects) == 1, connects
    assert finalized == []  # nothing left suspended for the loop's finalizer


def test_a_stream_kept_open_after_the_end_is_not_waited_for(
    lingering_url: str, connects: list[Any]
) -> None:
    started = time.monotonic()
    with Inference(api_key=KEY, base_url=lingering_url) as client:
        tasks = [client.run(PARAMS) for _ in range(2)]
    assert all(task.output == {"ok": task.id} for task in tasks)
    assert time.monotonic() - started < 10  # the 30 s linger was not sat out
    # Each stream's connection was dropped instead (the POSTs' connection is reused).
    assert 2 <= len(connects) <= 3, connects


def test_async_stream_kept_open_after_the_end_is_not_waited_for(lingering_url: str) -> None:
    async def main() -> list[Task]:
        async with AsyncInference(api_key=KEY, base_url=lingering_url) as client:
            return [await client.run(PARAMS) for _ in range(2)]

    started = time.monotonic()
    tasks = asyncio.run(main())
    assert all(task.output == {"ok": task.id} for task in tasks)
    assert time.monotonic() - started < 10  # the 30 s linger was not sat out


def test_concurrent_async_tasks_each_keep_their_connection(
    prompt_url: str, connects: list[Any]
) -> None:
    async def main() -> list[Task]:
        async with AsyncInference(api_key=KEY, base_url=prompt_url) as client:

            async def caller() -> list[Task]:
                return [await client.run(PARAMS) for _ in range(5)]

            batches = await asyncio.gather(*(caller() for _ in range(16)))
            return [task for batch in batches for task in batch]

    tasks = asyncio.run(main())
    assert len({task.id for task in tasks}) == 80
    assert all(task.output == {"ok": task.id} for task in tasks)
    # At most one connection per concurrent caller: none is dropped and opened again.
    assert len(connects) <= 16, len(connects)


def test_a_proxy_from_the_environment_is_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    async def main() -> Any:
        async with AsyncInference(api_key=KEY, base_url="https://api.example.invalid") as client:
            http = client.http.httpx_client
            return http._transport_for_url(httpx.URL("https://api.example.invalid/tasks"))

    transport = asyncio.run(main())
    assert "Proxy" in type(transport._pool).__name__

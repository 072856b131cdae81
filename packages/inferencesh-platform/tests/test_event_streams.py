"""What an event stream writes (``stream_response`` under the platform's HTTP protocol): a batch
of events is one chunk, the reply's head goes with the first one, the last batch carries the
body's end in the same write, heartbeats fill silences, and a client that goes away closes
the events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from inferencesh.platform.http_protocol import protocol
from inferencesh.platform.responses import EventBatch, stream_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from test_http_protocol import _connected, _Transport

pytestmark = pytest.mark.skipif(protocol() == "auto", reason="httptools is not installed")

Events = Callable[[], AsyncIterator[Any]]


async def _serve(events: Events, *, until: Callable[[_Transport], bool], **options: Any) -> Any:
    """Serve ``GET /`` with ``events`` on a recording transport; returns it once ``until``."""

    async def route(request: Request) -> Response:
        return stream_response(request, events(), **options)

    app = Starlette(routes=[Route("/", route)])
    request = b"GET / HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n\r\n"
    transport, server = _connected(app, request)
    deadline = asyncio.get_running_loop().time() + 10
    while not until(transport):
        assert asyncio.get_running_loop().time() < deadline, transport.writes
        await asyncio.sleep(0.005)
    return transport, server


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_END = b"0\r\n\r\n"


def _ended(transport: _Transport) -> bool:
    return bool(transport.writes) and transport.writes[-1].endswith(_END)


def test_a_batch_is_one_chunk_and_the_last_one_carries_the_end() -> None:
    later = asyncio.Event()

    async def events() -> AsyncIterator[EventBatch]:
        yield EventBatch([{"n": 1}, {"n": 2}])
        await later.wait()
        yield EventBatch([{"n": 3}, {"n": 4}], last=True)
        raise AssertionError("read past the last batch")

    async def run() -> _Transport:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, later.set)
        transport, _ = await _serve(events, until=_ended)
        return transport  # type: ignore[no-any-return]

    writes = asyncio.run(run()).writes
    assert len(writes) == 2, writes
    head, _, first = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"transfer-encoding: chunked" in head
    assert first == _chunk(b'{"n":1}\n{"n":2}\n')
    assert writes[1] == _chunk(b'{"n":3}\n{"n":4}\n') + _END


def test_single_events_and_a_plain_end_still_stream() -> None:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"n": 1}
        await asyncio.sleep(0.02)
        yield {"n": 2}

    async def run() -> _Transport:
        transport, _ = await _serve(events, until=_ended)
        return transport  # type: ignore[no-any-return]

    body = b"".join(asyncio.run(run()).writes).partition(b"\r\n\r\n")[2]
    assert body == _chunk(b'{"n":1}\n') + _chunk(b'{"n":2}\n') + _END


def test_a_silence_gets_heartbeats_with_the_head() -> None:
    async def events() -> AsyncIterator[EventBatch]:
        await asyncio.sleep(0.2)
        yield EventBatch([{"n": 1}], last=True)

    async def run() -> _Transport:
        transport, _ = await _serve(events, until=_ended, heartbeat_interval=0.05)
        return transport  # type: ignore[no-any-return]

    writes = asyncio.run(run()).writes
    heartbeat = _chunk(b'{"type":"heartbeat"}\n')
    assert writes[0].startswith(b"HTTP/1.1 200 OK") and writes[0].endswith(heartbeat)
    assert writes[1] == heartbeat
    assert writes[-1] == _chunk(b'{"n":1}\n') + _END


def test_a_client_that_goes_away_closes_the_events() -> None:
    closed = asyncio.Event()

    async def events() -> AsyncIterator[EventBatch]:
        try:
            yield EventBatch([{"n": 1}])
            await asyncio.sleep(60)
            yield EventBatch([{"n": 2}], last=True)
        finally:
            closed.set()

    async def run() -> None:
        transport, server = await _serve(events, until=lambda t: bool(t.writes))
        server.connection_lost(None)
        await asyncio.wait_for(closed.wait(), 10)
        assert b'{"n":2}' not in b"".join(transport.writes)

    asyncio.run(run())

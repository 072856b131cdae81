"""The server's HTTP protocol writes a plain reply (head and body) in one write, a streamed
reply piece by piece as the loop turns, and a reply still ahead of a closed connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from inferencesh.platform.http_protocol import protocol
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from uvicorn.server import ServerState


async def plain(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


async def streamed(request: Request) -> StreamingResponse:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"one\n"
        await asyncio.sleep(0.05)  # the first piece must not wait for this one
        yield b"two\n"

    return StreamingResponse(pieces(), media_type="application/x-ndjson")


class _Transport(asyncio.Transport):
    """Records each write (one write is one system call on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _connected(app: Any, request: bytes) -> tuple[_Transport, Any]:
    """The server's protocol for ``app`` on a recording transport, ``request`` received."""
    config = uvicorn.Config(app, lifespan="off", log_level="critical", http=protocol())
    config.load()
    server = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=ServerState(), app_state={}
    )
    transport = _Transport()
    server.connection_made(transport)
    server.data_received(request)
    return transport, server


async def _serve(request: bytes) -> _Transport:
    app = Starlette(routes=[Route("/plain", plain), Route("/streamed", streamed)])
    transport, _ = _connected(app, request)
    for _ in range(30):  # the streamed reply's sleep included
        await asyncio.sleep(0.01)
    return transport


def test_a_plain_reply_is_one_write() -> None:
    if protocol() == "auto":
        pytest.skip("httptools is not installed")
    get = b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"
    transport = asyncio.run(_serve(get + get))  # two requests on the connection
    assert len(transport.writes) == 2  # one per reply
    for write in transport.writes:
        assert write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b'\r\n\r\n{"ok":true}')


def test_a_streamed_reply_is_not_held_back() -> None:
    if protocol() == "auto":
        pytest.skip("httptools is not installed")
    transport = asyncio.run(_serve(b"GET /streamed HTTP/1.1\r\nHost: x\r\n\r\n"))
    # The head with the first piece (same turn), then the second piece (after the app's
    # sleep) with the end: the first piece was not held until the reply was complete.
    assert len(transport.writes) == 2
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK") and b"one\n" in transport.writes[0]
    assert b"two\n" not in transport.writes[0]
    assert transport.writes[1] == b"4\r\ntwo\n\r\n0\r\n\r\n"


def test_a_reply_written_before_a_close_is_sent_before_it() -> None:
    if protocol() == "auto":
        pytest.skip("httptools is not installed")
    transport = asyncio.run(_serve(b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert transport.closed and len(transport.writes) == 1
    assert transport.writes[0].endswith(b'{"ok":true}')

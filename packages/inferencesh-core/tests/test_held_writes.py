"""A request's head and body go out in one write (one system call, one wake-up of the server),
in the sync client (``inferencesh.core._sync_net``) and the async one (``_asyncio_net``); a
body of many pieces still goes piece by piece; a failed held write leaves the server's answer
to be read, as httpcore does."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
from core_testkit import BASE, KEY
from inferencesh.core import Inference
from inferencesh.core._asyncio_net import AsyncioBackend
from inferencesh.core._sync_net import HeldWritesBackend, HeldWritesTransport, _Stream

REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Recorded(httpcore.NetworkStream):
    """A stream that records each write (one write is one system call on a socket)."""

    def __init__(self, fail: bool = False) -> None:
        self.writes: list[bytes] = []
        self.fail = fail

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return REPLY

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self.fail:
            raise httpcore.WriteError("reset")
        self.writes.append(buffer)


def test_sync_head_and_body_are_one_write_sent_before_the_read() -> None:
    inner = _Recorded()
    stream = _Stream(inner)
    stream.write(b"HEAD")
    assert inner.writes == []  # held for the body
    stream.write(b"BODY")
    assert inner.writes == [b"HEADBODY"]
    stream.write(b"NEXT HEAD")
    assert stream.read(100) == REPLY  # a request without a body: sent before reading
    assert inner.writes == [b"HEADBODY", b"NEXT HEAD"]


def test_sync_a_body_of_many_pieces_holds_at_most_one() -> None:
    inner = _Recorded()
    stream = _Stream(inner)
    for piece in (b"H", b"1", b"2", b"3"):
        stream.write(piece)
    stream.read(100)
    assert inner.writes == [b"H1", b"23"]


def test_sync_a_failed_held_write_leaves_the_answer_to_read() -> None:
    stream = _Stream(_Recorded(fail=True))
    stream.write(b"HEAD")
    assert stream.read(100) == REPLY


@pytest.fixture
def one_reply_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server answering one request; records each chunk it receives."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received.append(chunk)
                data += chunk
            conn.sendall(REPLY)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], received
    thread.join(10)
    listener.close()


def test_a_sync_request_reaches_the_server_whole(one_reply_server: Any) -> None:
    port, received = one_reply_server
    with httpx.Client(transport=HeldWritesTransport(httpx.Limits())) as client:
        reply = client.post(f"http://127.0.0.1:{port}/x", json={"a": 1})
    assert reply.json() == {}
    assert b"".join(received).endswith(b'{"a":1}')


def test_the_sync_clients_pool_uses_it() -> None:
    with Inference(api_key=KEY, base_url=BASE) as client:
        transport = client.http._direct
        assert isinstance(transport, HeldWritesTransport)
        assert isinstance(transport._pool._network_backend, HeldWritesBackend)


async def test_async_head_and_body_are_one_write() -> None:
    got: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.readexactly(8))
        writer.write(b"reply")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        writes: list[bytes] = []
        transport = stream._transport  # type: ignore[attr-defined]
        real = transport.write

        def recording(data: bytes) -> None:
            writes.append(bytes(data))
            real(data)

        transport.write = recording
        await stream.write(b"HEAD")
        assert writes == []  # held for the body
        await stream.write(b"BODY")
        assert writes == [b"HEADBODY"]
        assert await stream.read(100, timeout=5) == b"reply"
        assert got == [b"HEADBODY"]
        await stream.aclose()
    finally:
        srv.close()
        await srv.wait_closed()


async def test_async_a_lone_write_goes_out_with_the_read() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"got " + await reader.readexactly(3))
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"GET")
        got = b""
        while piece := await stream.read(100, timeout=5):
            got += piece
        assert got == b"got GET"
        await stream.aclose()
    finally:
        srv.close()
        await srv.wait_closed()

"""``inferencesh.core._asyncio_net``: httpcore's network backend on asyncio protocols.

Each behaviour httpcore relies on, against loopback servers: bytes in order and bounded by
``max_bytes``, the end of the stream, timeouts of reads and writes, flow control both ways,
the idle check (``is_readable``), TLS, connection errors, and the fallback to httpcore's own
backend. The async client's pools use it (a test at the end checks that they do).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest
from core_testkit import BASE, KEY
from inferencesh.core import AsyncInference
from inferencesh.core._asyncio_net import _HIGH_WATER, AsyncioBackend, _Connection

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A loopback server running ``handler`` per connection; yields its port."""
    done: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done.append(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()
        for writer in done:
            writer.close()
        await srv.wait_closed()


async def connect(port: int) -> httpcore.AsyncNetworkStream:
    return await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def read_to_end(stream: httpcore.AsyncNetworkStream) -> bytes:
    got = b""
    while piece := await stream.read(1 << 16, timeout=5):
        got += piece
    return got


async def write_forever(stream: httpcore.AsyncNetworkStream, timeout: float) -> None:
    for _ in range(1000):
        await stream.write(b"y" * (1 << 20), timeout=timeout)


async def test_bytes_arrive_in_order_bounded_by_max_bytes_then_the_end() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello " + await reader.readexactly(5))
        await writer.drain()
        writer.write_eof()

    async with server(handler) as port:
        stream = await connect(port)
        assert isinstance(stream, _Connection)
        await stream.write(b"world")
        got = b""
        while piece := await stream.read(3, timeout=5):
            assert len(piece) <= 3
            got += piece
        assert got == b"hello world"
        assert await stream.read(3, timeout=5) == b""  # the end stays the end
        await stream.aclose()


async def test_a_read_with_nothing_coming_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # silent until the client goes

    async with server(handler) as port:
        stream = await connect(port)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(10, timeout=0.05)
        await stream.aclose()


async def test_a_reset_connection_is_a_read_error_and_a_write_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()  # RST, not FIN

    async with server(handler) as port:
        stream = await connect(port)
        with pytest.raises(httpcore.ReadError):
            await read_to_end(stream)
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"more")
        await stream.aclose()


async def test_reading_pauses_while_a_large_body_waits_and_resumes_as_it_is_read() -> None:
    size = _HIGH_WATER * 32  # more than the kernel's buffers on both ends can hold
    sent = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * size)
        await writer.drain()
        sent.set()
        writer.write_eof()

    async with server(handler) as port:
        stream = await connect(port)
        assert isinstance(stream, _Connection)
        for _ in range(200):  # the first megabyte arrives; then the socket is left unread
            if stream._reading_paused:
                break
            await asyncio.sleep(0.01)
        assert stream._reading_paused
        await asyncio.sleep(0.1)
        # The server is held back: what the client holds stays about one buffer's worth.
        assert not sent.is_set()
        assert stream._buffered < 2 * _HIGH_WATER
        total = 0
        while piece := await stream.read(1 << 16, timeout=5):
            total += len(piece)
        assert total == size and sent.is_set()
        assert not stream._reading_paused
        await stream.aclose()


async def test_a_write_waits_for_a_slow_reader_and_times_out() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()  # reads nothing: the client's buffers fill up

    async with server(handler) as port:
        stream = await connect(port)
        with pytest.raises(httpcore.WriteTimeout):
            await write_forever(stream, timeout=0.2)
        release.set()
        await stream.aclose()


async def test_an_idle_connection_closed_by_the_server_is_readable() -> None:
    close = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await close.wait()

    async with server(handler) as port:
        stream = await connect(port)
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("socket").getpeername()[1] == port
        assert stream.get_extra_info("ssl_object") is None
        close.set()  # the server's end closes
        for _ in range(200):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        await stream.aclose()


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        with pytest.raises(httpcore.ConnectError):
            await connect(port)


async def test_a_connection_that_does_not_come_is_a_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def never(*args: object, **kwargs: object) -> None:
        await asyncio.sleep(3600)

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "create_connection", never)
    with pytest.raises(httpcore.ConnectTimeout):
        await AsyncioBackend().connect_tcp("127.0.0.1", 9, timeout=0.05)


def _tls_contexts(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client
    context trusting it."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_path, key_path)
    client_side = ssl.create_default_context(cafile=str(cert_path))
    return server_side, client_side


async def test_tls_is_started_on_the_connection(tmp_path: Path) -> None:
    server_side, client_side = _tls_contexts(tmp_path)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"secret " + await reader.readexactly(4))
        await writer.drain()
        writer.close()

    async with server(handler, tls=server_side) as port:
        stream = await connect(port)
        tls = await stream.start_tls(client_side, server_hostname="127.0.0.1", timeout=5)
        assert tls.get_extra_info("ssl_object") is not None
        await tls.write(b"ping")
        got = b""
        while piece := await tls.read(100, timeout=5):
            got += piece
        assert got == b"secret ping"
        await tls.aclose()


async def test_an_untrusted_certificate_is_a_connect_error(tmp_path: Path) -> None:
    server_side, _ = _tls_contexts(tmp_path)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with server(handler, tls=server_side) as port:
        stream = await connect(port)
        with pytest.raises(httpcore.ConnectError):
            await stream.start_tls(ssl.create_default_context(), "127.0.0.1", timeout=5)


async def test_https_requests_go_through_it(tmp_path: Path) -> None:
    server_side, client_side = _tls_contexts(tmp_path)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with server(handler, tls=server_side) as port:
        pool = httpcore.AsyncConnectionPool(
            ssl_context=client_side, network_backend=AsyncioBackend()
        )
        async with pool:
            reply = await pool.request("GET", f"https://127.0.0.1:{port}/")
        assert (reply.status, reply.content) == (200, b"ok")


async def test_socket_options_and_unix_sockets_go_to_httpcores_backend(tmp_path: Path) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await writer.drain()

    async with server(handler) as port:
        options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, 5, None, options)
        assert not isinstance(stream, _Connection)
        assert stream.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        await stream.aclose()

    path = str(tmp_path / "s.sock")
    srv = await asyncio.start_unix_server(handler, path)
    try:
        stream = await AsyncioBackend().connect_unix_socket(path, timeout=5)
        assert not isinstance(stream, _Connection)
        assert await stream.read(2, timeout=5) == b"hi"
        await stream.aclose()
    finally:
        srv.close()
        await srv.wait_closed()


async def test_the_async_clients_pools_use_it() -> None:
    async with AsyncInference(api_key=KEY, base_url=BASE) as client:
        transport = client.http._direct
        assert transport is not None
        pools = transport._pools  # type: ignore[union-attr]
        assert all(isinstance(p._pool._network_backend, AsyncioBackend) for p in pools)
        assert all(isinstance(p, httpx.AsyncHTTPTransport) for p in pools)

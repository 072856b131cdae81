"""httpcore's network backend for the async client's own pools: connections as asyncio
protocols.

httpcore reaches the network through a backend (``httpcore.AsyncNetworkBackend``: connect,
then read and write bytes with timeouts). Its default goes through anyio, which for every read
and write enters a cancel scope, looks up the running event loop's library, and pauses and
resumes the socket's reading; and whose check of an idle connection (``is_readable``, made for
every connection of a pool each time a request starts or ends) builds a table of socket
attributes with a ``getpeername`` call, then polls the socket. Under many concurrent tasks that is a large part of
the client's CPU. Here a connection is an ``asyncio.Protocol``: received bytes wait in a
buffer, a read takes them or waits on one future (a timer only while waiting), a write hands
the bytes to the transport. HTTP itself stays httpcore's and h11's.

Only under asyncio, without socket options, and only for TCP: anything else (trio through
anyio, a Unix socket) goes to httpcore's default backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore
import sniffio

# Reading stops while this much is received and not read (a large body read slowly), and
# resumes once half of it has been read.
_HIGH_WATER = 1 << 20


class _Connection(asyncio.Protocol, httpcore.AsyncNetworkStream):
    """One connection's byte stream: the protocol asyncio feeds and the stream httpcore reads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False  # the peer ended its side, or the connection is gone
        self._closed = False
        self._error: Exception | None = None  # why the connection was lost, if it broke
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None  # a read or write waiting
        self._held = b""  # a write held until the next write or read (see `write`)

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._closed = True
        self._error = exc
        self._wake()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, timeout: float | None, timed_out: type[Exception]) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = None
        if timeout is not None:
            timer = self._loop.call_later(timeout, _expire, waiter, timed_out)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    # -- httpcore.AsyncNetworkStream ------------------------------------------------------------
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            # As httpcore does with a failed write of a request: on to read what the server
            # answered (it may have refused the request early), or why the connection ended.
            with contextlib.suppress(httpcore.WriteError):
                await self._send(b"", timeout)
        if not self._chunks and not self._eof:
            await self._wait(timeout, httpcore.ReadTimeout)
        chunks = self._chunks
        if not chunks:
            error = self._error
            if error is not None:
                raise httpcore.ReadError(str(error) or type(error).__name__) from error
            return b""  # the peer ended the stream (or it was closed): httpcore's EOF
        data = chunks.popleft()
        if len(data) > max_bytes:
            chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        self._buffered -= len(data)
        if self._reading_paused and self._buffered <= _HIGH_WATER // 2 and self._transport:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore writes a request's head, then its body: each write a system call that, on
        # loopback, also wakes the server. A write is held until the next write or read and
        # goes out with it, so a request with a one-piece body (any JSON request) is one; a
        # many-piece body (an upload) still goes piece by piece, the head with the first.
        if not buffer:
            return
        transport = self._transport
        if transport is None or self._closed or transport.is_closing():
            raise httpcore.WriteError(str(self._error or "the connection is closed"))
        if not self._held:
            self._held = bytes(buffer)
            return
        await self._send(buffer, timeout)

    async def _send(self, buffer: bytes, timeout: float | None) -> None:
        """Write what is held, then ``buffer``, in one write."""
        buffer, self._held = self._held + buffer, b""
        transport = self._transport
        if transport is None or self._closed or transport.is_closing():
            raise httpcore.WriteError(str(self._error or "the connection is closed"))
        transport.write(buffer)
        while self._writing_paused and not self._closed:
            await self._wait(timeout, httpcore.WriteTimeout)
        if self._closed:
            raise httpcore.WriteError(str(self._error or "the connection was closed"))

    async def aclose(self) -> None:
        self._held = b""  # a request given up: nothing more of it goes out
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.abort()
        # The socket is closed by the loop's next turn: let it come, so a loop that ends
        # right after does not leave it to garbage collection (a ResourceWarning).
        await asyncio.sleep(0)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        assert self._transport is not None
        if self._held:
            await self._send(b"", timeout)
        try:
            transport = await self._loop.start_tls(
                self._transport,
                self,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except (TimeoutError, asyncio.TimeoutError) as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "is_readable":
            # httpcore asks of every idle connection, each time a request starts or ends,
            # whether the peer has sent anything (its close, mostly). The loop reads each
            # connection as bytes arrive, so what was sent is in the buffer or the end was
            # seen: no system call (a poll of the socket would only add what arrived during
            # this turn of the loop).
            return bool(self._chunks) or self._eof
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        return None


def _expire(waiter: asyncio.Future[None], timed_out: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(timed_out("timed out"))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections over asyncio transports (see the module); others to httpcore's default."""

    def __init__(self) -> None:
        self._fallback = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if socket_options or sniffio.current_async_library() != "asyncio":
            return await self._fallback.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(
            lambda: _Connection(loop),
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=0.25,
        )
        try:
            _, connection = await asyncio.wait_for(connecting, timeout)
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connecting timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return connection

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._fallback.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._fallback.sleep(seconds)

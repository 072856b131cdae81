"""The platform's channel for ``POST /run`` to one worker: HTTP/1.1 over a kept-alive loopback
connection, on asyncio streams.

A run is the platform's most frequent exchange with a worker, and the worker contract's answer
to it is simple (a status line, a few headers, a chunked NDJSON body): written and parsed here
directly it costs a fraction of a general HTTP client's request. The other requests of the
contract (``/health``, ``/cancel``, ``/schema``, ``/shutdown``) stay on httpx.

Failures are raised as the httpx errors a general client would raise (``ConnectError``,
``ReadError``, ``WriteError``, ``RemoteProtocolError``, ``ConnectTimeout``), so the worker's
handling of a lost contact is the same for every request.

Example:
    >>> import asyncio
    >>> async def first_event(port: int) -> dict:
    ...     channel = RunChannel(port)
    ...     try:
    ...         async with channel.post(b'{"input": {}}') as reply:
    ...             async for event in reply.events():
    ...                 return event
    ...     finally:
    ...         channel.close()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

__all__ = ["RunChannel", "RunReply"]

_MAX_HEAD = 64 * 1024  # a worker's response head is a few hundred bytes
_KEPT = 2  # idle connections kept per worker (one run at a time, one spare)
_decode = msgspec.json.Decoder().decode


class RunReply:
    """The answer to one ``POST /run``: its status, then its body (read once)."""

    def __init__(self, status: int, headers: dict[str, str], reader: asyncio.StreamReader) -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.complete = False  # the whole body has been read: the connection can be reused

    async def _chunks(self) -> AsyncIterator[bytes]:
        reader = self._reader
        if not self._chunked:
            length = int(self.headers.get("content-length", "0") or 0)
            data = await reader.readexactly(length) if length else b""
            self.complete = True
            if data:
                yield data
            return
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0], 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"bad chunk size {size_line[:40]!r}") from None
            if size == 0:
                # No trailers from a worker: the terminating empty line follows at once.
                if await reader.readuntil(b"\r\n") != b"\r\n":
                    raise httpx.RemoteProtocolError("trailers after the last chunk")
                self.complete = True
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self._read_chunks()])

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The body's NDJSON lines that are JSON objects, decoded as they arrive."""
        pending = b""
        async for chunk in self._read_chunks():
            pending += chunk
            if b"\n" not in pending:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                event = _line(line)
                if event is not None:
                    yield event
        event = _line(pending)
        if event is not None:
            yield event

    async def _read_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks():
                yield chunk
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError(
                "the worker closed the connection in the middle of its answer"
            ) from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError("a chunk header without an end") from exc
        except OSError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc


def _line(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        event = _decode(line)
    except msgspec.DecodeError as exc:
        raise httpx.RemoteProtocolError(f"the worker sent a line that is not JSON: {exc}") from exc
    return event if isinstance(event, dict) else None


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RunChannel:
    """``POST /run`` to the worker on ``127.0.0.1:port``, on connections kept between runs."""

    def __init__(self, port: int, *, connect_timeout: float = 30.0) -> None:
        self.port = port
        self._connect_timeout = connect_timeout
        self._idle: list[_Conn] = []
        self._head = (
            f"POST /run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/x-ndjson\r\n"
            "Content-Length: "
        ).encode()

    async def _connect(self) -> _Conn:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port, limit=_MAX_HEAD),
                self._connect_timeout,
            )
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"no connection to the worker within {self._connect_timeout:g}s"
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc

    @contextlib.asynccontextmanager
    async def post(self, body: bytes) -> AsyncIterator[RunReply]:
        """Send ``POST /run`` with a JSON ``body``; the reply's head is read when this enters.
        Leaving before the body's end closes the connection (the worker then cancels the run);
        a reply read to its end leaves it for the next run."""
        reused = bool(self._idle)
        conn = self._idle.pop() if reused else await self._connect()
        try:
            reply = await self._send(conn, body)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            _close(conn)
            if not reused:
                raise
            # A kept connection the worker closed meanwhile (its idle timeout): nothing of the
            # run reached it, so the request goes again on a new connection.
            conn = await self._connect()
            try:
                reply = await self._send(conn, body)
            except BaseException:
                _close(conn)
                raise
        except BaseException:
            _close(conn)
            raise
        try:
            yield reply
        finally:
            keep = reply.complete and reply.headers.get("connection", "").lower() != "close"
            if keep and len(self._idle) < _KEPT and not conn[1].is_closing():
                self._idle.append(conn)
            else:
                _close(conn)

    async def _send(self, conn: _Conn, body: bytes) -> RunReply:
        reader, writer = conn
        try:
            writer.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            await writer.drain()
        except OSError as exc:
            raise httpx.WriteError(f"{type(exc).__name__}: {exc}") from exc
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError(
                "the worker closed the connection without answering"
            ) from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError("the worker's answer has no end of head") from exc
        except OSError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        return _parse_head(head, reader)

    def close(self) -> None:
        """Close the kept connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _parse_head(head: bytes, reader: asyncio.StreamReader) -> RunReply:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return RunReply(int(parts[1]), headers, reader)


def _close(conn: _Conn) -> None:
    writer = conn[1]
    with contextlib.suppress(Exception):
        writer.close()

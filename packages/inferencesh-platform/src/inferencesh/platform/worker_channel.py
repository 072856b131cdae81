"""The platform's channel for ``POST /run`` to one worker: HTTP/1.1 over a kept-alive loopback
connection, on asyncio streams.

A run is the platform's most frequent exchange with a worker: one fixed request head, and an
answer (a chunked NDJSON body) parsed by ``httptools`` (llhttp, the parser uvicorn uses), costs a
fraction of a general HTTP client's request. The other requests of the
contract (``/health``, ``/cancel``, ``/schema``, ``/shutdown``) stay on httpx.

Failures are raised as the httpx errors a general client would raise (``ConnectError``,
``ReadError``, ``WriteError``, ``RemoteProtocolError``, ``ConnectTimeout``), so the worker's
handling of a lost contact is the same for every request.

Events are handed to a callback as they are decoded, not yielded through a stack of async
generators: a run's events cost a function call each.

Example:
    >>> import asyncio
    >>> async def events(port: int) -> list[dict]:
    ...     channel, seen = RunChannel(port), []
    ...     try:
    ...         status, body = await channel.run(b'{"input": {}}', seen.append)
    ...         return seen
    ...     finally:
    ...         channel.close()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httptools
import httpx
import msgspec

__all__ = ["OnEvent", "RunChannel"]

OnEvent = Callable[[dict[str, Any]], None]
"""Called with each event (a JSON object line) of a run's answer, as it arrives."""

_READ = 64 * 1024
_KEPT = 2  # idle connections kept per worker (one run at a time, one spare)
_decode = msgspec.json.Decoder().decode


class _Parsed:
    """What ``httptools``' response parser found so far (its callbacks)."""

    def __init__(self) -> None:
        self.head_done = False
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # llhttp answers this only while the message is current, not after it.
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()


class _Reply:
    """The answer to one ``POST /run``: its status, then its body (read once)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._parsed = _Parsed()
        self._parser = httptools.HttpResponseParser(self._parsed)
        self._parsed.parser = self._parser
        self.status = 0

    @property
    def complete(self) -> bool:
        """Whether the whole body has been read (the connection can then be reused)."""
        return self._parsed.complete

    @property
    def keep_alive(self) -> bool:
        """Whether the worker lets the connection serve another run."""
        return self._parsed.keep_alive

    async def _feed(self, closed: str) -> None:
        """Read what the worker sent next into the parser; ``closed`` says what a close means."""
        try:
            data = await self._reader.read(_READ)
        except OSError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        if not data:
            raise httpx.RemoteProtocolError(closed)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise httpx.RemoteProtocolError(f"not a valid HTTP/1.1 answer: {exc}") from exc

    async def read_head(self) -> None:
        while not self._parsed.head_done:
            await self._feed("the worker closed the connection without answering")
        self.status = self._parser.get_status_code()

    async def read(self) -> bytes:
        """The whole body."""
        parsed = self._parsed
        while not parsed.complete:
            await self._feed("the worker closed the connection in the middle of its answer")
        body, parsed.body = b"".join(parsed.body), []
        return body

    async def stream(self, on_event: OnEvent) -> None:
        """The body's NDJSON lines that are JSON objects, decoded and handed to ``on_event``
        as they arrive."""
        parsed = self._parsed
        pending = b""
        while True:
            if parsed.body:
                pieces, parsed.body = parsed.body, []
                pending += b"".join(pieces)
                if b"\n" in pending:
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        event = _line(line)
                        if event is not None:
                            on_event(event)
            if parsed.complete:
                break
            await self._feed("the worker closed the connection in the middle of its answer")
        event = _line(pending)
        if event is not None:
            on_event(event)


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
                asyncio.open_connection("127.0.0.1", self.port),
                self._connect_timeout,
            )
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"no connection to the worker within {self._connect_timeout:g}s"
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc

    async def run(self, body: bytes, on_event: OnEvent) -> tuple[int, bytes]:
        """Send ``POST /run`` with a JSON ``body``. A 200 answer's events go to ``on_event``
        as they arrive, and ``(200, b"")`` is returned at its end; another status is returned
        with its body. Leaving before the answer's end (an error, ``on_event`` raising, a
        cancel) closes the connection, and the worker then cancels the run; an answer read to
        its end leaves the connection for the next run."""
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
            if reply.status != 200:
                return reply.status, await reply.read()
            await reply.stream(on_event)
            return 200, b""
        finally:
            keep = reply.complete and reply.keep_alive
            if keep and len(self._idle) < _KEPT and not conn[1].is_closing():
                self._idle.append(conn)
            else:
                _close(conn)

    async def _send(self, conn: _Conn, body: bytes) -> _Reply:
        reader, writer = conn
        try:
            writer.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            await writer.drain()
        except OSError as exc:
            raise httpx.WriteError(f"{type(exc).__name__}: {exc}") from exc
        reply = _Reply(reader)
        await reply.read_head()
        return reply

    def close(self) -> None:
        """Close the kept connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn: _Conn) -> None:
    writer = conn[1]
    with contextlib.suppress(Exception):
        writer.close()

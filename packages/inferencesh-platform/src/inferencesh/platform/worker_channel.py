"""The platform's channel for ``POST /run`` to one worker: HTTP/1.1 over a kept-alive loopback
connection.

A run is the platform's most frequent exchange with a worker: one fixed request head, and an
answer (a chunked NDJSON body) parsed by ``httptools`` (llhttp, the parser uvicorn uses), costs a
fraction of a general HTTP client's request. Each connection is an asyncio protocol whose one
parser reads every answer on it as the bytes arrive (no stream reader, no parser per run). The
other requests of the contract (``/health``, ``/cancel``, ``/schema``, ``/shutdown``) stay on
httpx.

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
from collections.abc import Callable
from typing import Any

import httptools
import httpx
import msgspec

__all__ = ["OnEvent", "RunChannel"]

OnEvent = Callable[[dict[str, Any]], None]
"""Called with each event (a JSON object line) of a run's answer, as it arrives."""

_KEPT = 2  # idle connections kept per worker (one run at a time, one spare)
_decode = msgspec.json.Decoder().decode
_NO_ANSWER = "the worker closed the connection without answering"
_CUT = "the worker closed the connection in the middle of its answer"


class _Connection(asyncio.Protocol):
    """One connection to a worker and the answer being read on it: the parser's callbacks
    fill in the status and the body as bytes arrive, and wake the run waiting for them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self.failure: httpx.TransportError | None = None
        """Why the connection can no longer be read (closed, reset, not HTTP), once it cannot."""
        self.answered = False  # the current answer's head is read
        self.status = 0
        self.body: list[bytes] = []
        self.complete = False  # the current answer is read to its end
        self.keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"not a valid HTTP/1.1 answer: {exc}"))
            return
        self._wake()

    def eof_received(self) -> bool:
        self._fail(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc)

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.answered = True
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # llhttp answers this only while the message is current, not after it.
        self.keep_alive = self._parser.should_keep_alive()

    def _fail(self, exc: BaseException | httpx.TransportError | None) -> None:
        if self.failure is None:
            if isinstance(exc, httpx.TransportError):
                self.failure = exc
            elif exc is not None:
                self.failure = httpx.ReadError(f"{type(exc).__name__}: {exc}")
            else:
                self.failure = httpx.RemoteProtocolError(_CUT if self.answered else _NO_ANSWER)
        if self.transport is not None:
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # used by RunChannel
    @property
    def usable(self) -> bool:
        """Whether another run may be sent on this connection."""
        return (
            self.failure is None and self.transport is not None and not self.transport.is_closing()
        )

    def send(self, request: bytes) -> None:
        """Start a new answer and send ``request``."""
        self.answered = self.complete = self.keep_alive = False
        self.status = 0
        self.body = []
        assert self.transport is not None
        try:
            self.transport.write(request)
        except (OSError, RuntimeError) as exc:
            raise httpx.WriteError(f"{type(exc).__name__}: {exc}") from exc

    async def more(self) -> None:
        """Wait for more of the answer; raises why there will be none (the error of a
        connection that failed, a close before the answer's end)."""
        if self.failure is not None:
            raise self.failure
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def take_body(self) -> bytes:
        body, self.body = self.body, []
        return body[0] if len(body) == 1 else b"".join(body)


def _line(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        event = _decode(line)
    except msgspec.DecodeError as exc:
        raise httpx.RemoteProtocolError(f"the worker sent a line that is not JSON: {exc}") from exc
    return event if isinstance(event, dict) else None


class RunChannel:
    """``POST /run`` to the worker on ``127.0.0.1:port``, on connections kept between runs."""

    def __init__(self, port: int, *, connect_timeout: float = 30.0) -> None:
        self.port = port
        self._connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._head = (
            f"POST /run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/x-ndjson\r\n"
            "Content-Length: "
        ).encode()

    async def _connect(self) -> _Connection:
        opening = asyncio.get_running_loop().create_connection(_Connection, "127.0.0.1", self.port)
        try:
            _, conn = await asyncio.wait_for(opening, self._connect_timeout)
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"no connection to the worker within {self._connect_timeout:g}s"
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return conn

    async def run(self, body: bytes, on_event: OnEvent) -> tuple[int, bytes]:
        """Send ``POST /run`` with a JSON ``body``. A 200 answer's events go to ``on_event``
        as they arrive, and ``(200, b"")`` is returned at its end; another status is returned
        with its body. Leaving before the answer's end (an error, ``on_event`` raising, a
        cancel) closes the connection, and the worker then cancels the run; an answer read to
        its end leaves the connection for the next run."""
        conn = None
        while self._idle and conn is None:
            kept = self._idle.pop()
            if kept.usable:
                conn = kept
            else:
                _close(kept)
        reused = conn is not None
        if conn is None:
            conn = await self._connect()
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        try:
            await self._send(conn, request)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            _close(conn)
            if not reused:
                raise
            # A kept connection the worker closed meanwhile (its idle timeout): nothing of the
            # run reached it, so the request goes again on a new connection.
            conn = await self._connect()
            try:
                await self._send(conn, request)
            except BaseException:
                _close(conn)
                raise
        except BaseException:
            _close(conn)
            raise
        try:
            if conn.status != 200:
                while not conn.complete:
                    await conn.more()
                return conn.status, conn.take_body()
            await _stream(conn, on_event)
            return 200, b""
        finally:
            if conn.complete and conn.keep_alive and conn.usable and len(self._idle) < _KEPT:
                self._idle.append(conn)
            else:
                _close(conn)

    @staticmethod
    async def _send(conn: _Connection, request: bytes) -> None:
        """Send ``request`` and wait for the answer's head."""
        conn.send(request)
        while not conn.answered:
            await conn.more()

    def close(self) -> None:
        """Close the kept connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


async def _stream(conn: _Connection, on_event: OnEvent) -> None:
    """The body's NDJSON lines that are JSON objects, decoded and handed to ``on_event`` as
    they arrive."""
    pending = b""
    while True:
        if conn.body:
            pending += conn.take_body()
            if b"\n" in pending:
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    event = _line(line)
                    if event is not None:
                        on_event(event)
        if conn.complete:
            break
        await conn.more()
    event = _line(pending)
    if event is not None:
        on_event(event)


def _close(conn: _Connection) -> None:
    if conn.transport is not None:
        conn.transport.close()

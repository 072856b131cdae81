"""The run channel to a worker (``POST /run`` on kept-alive connections) against raw loopback
servers that answer as scripted: a worker's answer, a worker that breaks the contract, one that
closes its idle connections, one that dies mid-answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from inferencesh.platform.worker_channel import RunChannel

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


def _chunked(*pieces: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n"
        b"transfer-encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"
    )


class Server:
    """A loopback server running ``handler`` per connection; counts the connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.close()


async def _events(channel: RunChannel, body: bytes = b"{}") -> tuple[int, list[Any]]:
    events: list[Any] = []
    status, answer = await channel.run(body, events.append)
    return status, events if status == 200 else [answer]


def test_runs_share_one_connection_and_events_arrive_whole() -> None:
    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            server.requests.append(await _request(reader))
            # A line split across chunks, two lines in one, a blank line, a non-object line.
            writer.write(
                _chunked(b'{"type": "st', b'atus"}\n{"type": "log"}\n', b"\n[1]\n", b'{"n": 2}')
            )

    server = Server(worker)

    async def main() -> list[Any]:
        async with server:
            channel = RunChannel(server.port)
            results = [await _events(channel, b'{"input": {"x": 1}}') for _ in range(3)]
            channel.close()
            return results

    results = asyncio.run(main())
    assert results == [(200, [{"type": "status"}, {"type": "log"}, {"n": 2}])] * 3
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /run HTTP/1.1\r\n")
    assert server.requests[0].endswith(b'\r\n\r\n{"input": {"x": 1}}')


def test_an_error_status_is_read_with_its_body() -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _request(reader)
            writer.write(b'HTTP/1.1 409 Conflict\r\ncontent-length: 16\r\n\r\n{"error":"busy"}')

    async def main() -> tuple[int, list[Any]]:
        async with Server(busy) as server:
            channel = RunChannel(server.port)
            try:
                return await _events(channel)
            finally:
                channel.close()

    assert asyncio.run(main()) == (409, [b'{"error":"busy"}'])


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"garbage\r\n\r\n", "not a valid HTTP/1.1 answer"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "not a valid HTTP/1.1 answer",
        ),
        (_chunked(b"{not json}\n"), "not JSON"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n20\r\n{}",
            "in the middle of its answer",
        ),
        (b"", "without answering"),
    ],
)
def test_a_broken_answer_raises_a_transport_error_saying_what(answer: bytes, error: str) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(answer)
        await writer.drain()

    async def main() -> None:
        async with Server(broken) as server:
            channel = RunChannel(server.port)
            try:
                await _events(channel)
            finally:
                channel.close()

    with pytest.raises(httpx.TransportError, match=error):
        asyncio.run(main())


def test_no_worker_listening_is_a_connect_error() -> None:
    async def main() -> None:
        async with Server(lambda r, w: asyncio.sleep(0)) as server:
            port = server.port
        await _events(RunChannel(port))

    with pytest.raises(httpx.ConnectError):
        asyncio.run(main())


def test_a_kept_connection_the_worker_closed_is_replaced_and_the_run_sent_again() -> None:
    async def one_run_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await _request(reader)
        writer.write(_chunked(b'{"ok": true}\n'))
        await writer.drain()
        # Closed after the answer without saying so (an idle timeout): the next run on this
        # connection gets no answer.

    server = Server(one_run_per_connection)

    async def main() -> list[Any]:
        async with server:
            channel = RunChannel(server.port)
            first = await _events(channel)
            second = await _events(channel)
            channel.close()
            return [first, second]

    assert asyncio.run(main()) == [(200, [{"ok": True}])] * 2
    assert server.connections == 2


class _Enough(Exception):
    pass


def _stop_at_first(event: dict[str, Any]) -> None:
    raise _Enough


def test_leaving_a_run_early_closes_its_connection() -> None:

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b'f\r\n{"type":"log"}\n\r\n')
            await writer.drain()
            await asyncio.sleep(0.01)

    server = Server(endless)

    async def main() -> int:
        async with server:
            channel = RunChannel(server.port)
            with pytest.raises(_Enough):
                await channel.run(b"{}", _stop_at_first)
            with pytest.raises(_Enough):  # a new connection: the first was cut
                await channel.run(b"{}", _stop_at_first)
            channel.close()
            return server.connections

    assert asyncio.run(main()) == 2


def test_answers_read_in_any_pieces_by_the_connections_one_parser() -> None:
    answer = _chunked(b'{"type": "status"}\n', b'{"type": "result", "output": 1}\n')

    async def byte_by_byte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _request(reader)
            for i in range(len(answer)):  # every split point, each byte its own read
                writer.write(answer[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)

    async def all_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _request(reader)
            writer.write(answer)  # head, body and end in one write, as the worker answers

    async def main(handler: Handler) -> list[Any]:
        async with Server(handler) as server:
            channel = RunChannel(server.port)
            results = [await _events(channel) for _ in range(3)]
            channel.close()
            return [results, server.connections]

    expected = (200, [{"type": "status"}, {"type": "result", "output": 1}])
    for handler in (byte_by_byte, all_at_once):
        assert asyncio.run(main(handler)) == [[expected] * 3, 1]


def test_an_answer_that_closes_its_connection_is_read_and_the_next_run_connects_again() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        body = b'{"ok": true}\n'
        writer.write(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()

    server = Server(closing)

    async def main() -> list[Any]:
        async with server:
            channel = RunChannel(server.port)
            runs = [await _events(channel) for _ in range(2)]
            channel.close()
            return runs

    assert asyncio.run(main()) == [(200, [{"ok": True}])] * 2
    assert server.connections == 2

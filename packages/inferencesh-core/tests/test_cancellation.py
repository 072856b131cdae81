"""Stopping early: cancelled tasks, Ctrl-C and abandoned streams release what they hold.

A small real HTTP server on 127.0.0.1 plays the platform where the timing matters: a task
stream that stays open (heartbeats) until the client goes, and an upload target that stops
reading after the first chunk, so the client is stuck in the middle of the body. Every
scenario checks that the error propagates as itself (``CancelledError``,
``KeyboardInterrupt``), that the connection is back in a one-connection pool (the next
request gets it), and that no file is left open. Waits are on events, never sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import signal
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from core_testkit import collect_earlier_garbage, nothing_left_running
from inferencesh.core import AsyncInference, Inference, files

pytestmark = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error:coroutine .* was never awaited:RuntimeWarning"),
]

KEY = "inf_cancel_test_key_0123456789"
RUNNING = {"id": "t1", "status": 7, "app": "local/slow"}
ROUNDS = 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class Platform:
    """The loopback stand-in: records what it sees and signals each step with events."""

    def __init__(self) -> None:
        self.streams_opened = threading.Semaphore(0)
        self.streams_closed = threading.Semaphore(0)
        self.uploads_started = threading.Semaphore(0)
        self.release_uploads = threading.Event()
        self.stop = threading.Event()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, body: Any, status: int = 200) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/files":
                    base = f"http://127.0.0.1:{self.server.server_address[1]}"
                    self.reply([{"id": "f1", "uri": "inf://f1", "upload_url": f"{base}/up"}])
                elif self.path == "/apps/run":
                    self.reply({"id": "t1", "status": 1})
                elif self.path == "/apps/run?stream=true":
                    self.stream()  # the reply of a run that waits or streams: the task's stream
                else:
                    self.reply({}, 404)

            def do_GET(self) -> None:
                if self.path == "/tasks/t1/stream":
                    self.stream()
                elif self.path == "/tasks/t2/stream":
                    self.burst()
                elif self.path == "/tasks/t1":
                    self.reply(RUNNING)
                else:
                    self.reply({}, 404)

            def stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.chunk(json.dumps({"data": RUNNING}).encode() + b"\n")
                platform.streams_opened.release()
                # Heartbeats until the client closes its end (or the test ends).
                try:
                    while not platform.stop.is_set():
                        readable, _, _ = select.select([self.connection], [], [], 0.05)
                        if readable and not self.connection.recv(1):
                            break
                        self.chunk(b'{"type":"heartbeat"}\n')
                except OSError:
                    pass
                platform.streams_closed.release()
                self.close_connection = True

            def burst(self) -> None:
                # Three updates in one chunk (one batch for the client), then the end.
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                lines = [
                    {"data": {**RUNNING, "id": "t2", "output": {"step": n}}} for n in (1, 2, 3)
                ]
                self.chunk(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
                done = {"id": "t2", "status": 10, "output": {"step": 4}}
                self.chunk(json.dumps({"data": done}).encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

            def chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = len(self.rfile.read(min(length, 1 << 16)))
                platform.uploads_started.release()
                if got < length:
                    # Stop reading: the client's send blocks in the middle of the body.
                    platform.release_uploads.wait(30)
                    with contextlib.suppress(OSError):
                        while got < length and (piece := self.rfile.read(1 << 16)):
                            got += len(piece)
                if got == length:
                    self.reply({})
                self.close_connection = True

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Platform:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.release_uploads.set()
        self.server.shutdown()
        self.server.server_close()


def acquire(semaphore: threading.Semaphore) -> None:
    assert semaphore.acquire(timeout=10), "the server never saw the expected step"


async def aacquire(semaphore: threading.Semaphore) -> None:
    assert await asyncio.to_thread(semaphore.acquire, True, 10), "the server never saw it"


@pytest.fixture
def platform() -> Iterator[Platform]:
    with Platform() as server:
        yield server


@pytest.fixture(autouse=True)
def _earlier_garbage_collected() -> None:
    collect_earlier_garbage()


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(b"\0" * (24 << 20))  # well past what loopback socket buffers hold
    return path


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[IO[bytes]]:
    """Every file the upload code opens (held here, so only an explicit close closes it)."""
    handles: list[IO[bytes]] = []

    def tracking_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 - checked by the tests
        handles.append(handle)
        return handle

    monkeypatch.setattr(files, "open", tracking_open, raising=False)
    return handles


def one_connection() -> httpx.Limits:
    return httpx.Limits(max_connections=1, max_keepalive_connections=1)


def sync_client(platform: Platform) -> Inference:
    pool = httpx.Client(limits=one_connection(), timeout=httpx.Timeout(10, pool=3))
    return Inference(api_key=KEY, base_url=platform.url, http_client=pool, max_retries=0)


def async_client(platform: Platform) -> AsyncInference:
    pool = httpx.AsyncClient(limits=one_connection(), timeout=httpx.Timeout(10, pool=3))
    return AsyncInference(api_key=KEY, base_url=platform.url, http_client=pool, max_retries=0)


# -- async: task.cancel(), wait_for, asyncio.timeout ---------------------------------------


async def stop(platform: Platform, how: str, coro: Any, started: threading.Semaphore) -> None:
    """Run ``coro`` until the server sees ``started``, then stop it ``how``; the error that
    comes out is the one asyncio raises for that way, never another."""
    task = asyncio.ensure_future(coro)
    await aacquire(started)
    if how == "cancel":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
    elif how == "wait_for":
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(task, 0)
    else:
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await within_no_time(task)


async def within_no_time(task: Any) -> None:
    """``async with asyncio.timeout(0)`` (3.11+; wait_for is the same mechanism before it)."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:
        await asyncio.wait_for(task, 0)
        return
    async with timeout(0):
        await task


WAYS = ["cancel", "wait_for", "timeout"]


async def test_stopped_waits_release_their_connection(platform: Platform) -> None:
    async with async_client(platform) as client:
        for round in range(ROUNDS):
            run = client.run({"app": "local/slow"})
            await stop(platform, WAYS[round % 3], run, platform.streams_opened)
            acquire(platform.streams_closed)
        # The one pooled connection is free: the next request gets it.
        assert (await client.get_task("t1")).status == 7
        await client.http.httpx_client.aclose()
        await nothing_left_running()


async def test_stopped_streams_release_their_connection(platform: Platform) -> None:
    async def consume(client: AsyncInference) -> None:
        async for _ in await client.run({"app": "local/slow"}, stream=True):
            pass

    async with async_client(platform) as client:
        for round in range(ROUNDS):
            await stop(platform, WAYS[round % 3], consume(client), platform.streams_opened)
            acquire(platform.streams_closed)
        assert (await client.get_task("t1")).status == 7
        await client.http.httpx_client.aclose()
        await nothing_left_running()


async def test_stopped_uploads_close_the_file_and_the_connection(
    platform: Platform, big_file: Path, opened: list[IO[bytes]]
) -> None:
    async with async_client(platform) as client:
        for round in range(ROUNDS):
            upload = client.upload_file(big_file)
            await stop(platform, WAYS[round % 3], upload, platform.uploads_started)
            assert opened and all(handle.closed for handle in opened)
        platform.release_uploads.set()
        assert (await client.upload_file(b"after")).uri == "inf://f1"
        await client.http.httpx_client.aclose()
        await nothing_left_running()


async def test_async_with_closes_a_stream_left_early(platform: Platform) -> None:
    async with async_client(platform) as client:
        for _ in range(ROUNDS):
            async with await client.run({"app": "local/slow"}, stream=True) as stream:
                async for update in stream:
                    if update.status == 7:  # from the stream (the first is the created task)
                        break
            acquire(platform.streams_closed)  # closed on leaving the block, not at GC
        assert (await client.get_task("t1")).status == 7
        await client.http.httpx_client.aclose()
        await nothing_left_running()


async def test_async_for_left_by_break_frees_the_connection_for_the_next_request(
    platform: Platform,
) -> None:
    # Without `async with`, Python leaves the async generator to the event loop's finalizer;
    # it runs as soon as the loop gets control, so the one-connection pool never runs dry.
    async with async_client(platform) as client:
        for _ in range(ROUNDS):
            async for update in await client.run({"app": "local/slow"}, stream=True):
                if update.status == 7:
                    break
            assert (await client.get_task("t1")).status == 7  # needs the pooled connection
            acquire(platform.streams_closed)
        await client.http.httpx_client.aclose()
        await nothing_left_running()


# -- sync: KeyboardInterrupt ----------------------------------------------------------------


def interrupt_main_when(started: threading.Semaphore) -> threading.Thread:
    """SIGINT to this (the main) thread once the server sees ``started``: a real Ctrl-C,
    which also breaks a blocking socket call."""
    main = threading.get_ident()

    def fire() -> None:
        if started.acquire(timeout=10):
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def sigint() -> Iterator[None]:
    """Python's own Ctrl-C handler, whatever the runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted(action: Callable[[], Any], started: threading.Semaphore) -> None:
    """``action()`` (which never ends by itself) raises KeyboardInterrupt on Ctrl-C."""
    thread = interrupt_main_when(started)
    with pytest.raises(KeyboardInterrupt):
        action()
    thread.join(10)


@pytest.mark.usefixtures("sigint")
def test_ctrl_c_in_a_wait_or_a_stream_releases_the_connection(platform: Platform) -> None:
    with sync_client(platform) as client:

        def consume() -> None:
            for _ in client.run({"app": "local/slow"}, stream=True):
                pass

        for round in range(ROUNDS):
            action = consume if round % 2 else lambda: client.run({"app": "local/slow"})
            interrupted(action, platform.streams_opened)
            acquire(platform.streams_closed)
        assert client.get_task("t1").status == 7
        client.http.httpx_client.close()


@pytest.mark.usefixtures("sigint")
def test_ctrl_c_in_an_upload_closes_the_file_and_the_connection(
    platform: Platform, big_file: Path, opened: list[IO[bytes]]
) -> None:
    with sync_client(platform) as client:
        for _ in range(ROUNDS // 2):
            interrupted(lambda: client.upload_file(big_file), platform.uploads_started)
            assert opened and all(handle.closed for handle in opened)
        platform.release_uploads.set()
        assert client.upload_file(b"after").uri == "inf://f1"
        client.http.httpx_client.close()


def test_an_error_from_a_progress_callback_closes_the_file(
    platform: Platform, big_file: Path, opened: list[IO[bytes]]
) -> None:
    def progress(done: int, total: int | None) -> None:
        if done:
            raise KeyboardInterrupt

    with sync_client(platform) as client:
        for _ in range(3):
            with pytest.raises(KeyboardInterrupt):
                client.upload_file(big_file, progress=progress)
            assert opened and all(handle.closed for handle in opened)
        platform.release_uploads.set()
        assert client.upload_file(b"after").uri == "inf://f1"
        client.http.httpx_client.close()


# -- sync: leaving a stream early -----------------------------------------------------------


def test_breaking_out_of_a_stream_not_kept_releases_the_connection(platform: Platform) -> None:
    # `for update in client.run(..., stream=True): break`: nothing else holds the stream, so
    # it closes at once (CPython frees it when the loop ends), no GC needed.
    with sync_client(platform) as client:
        for _ in range(ROUNDS):
            for update in client.run({"app": "local/slow"}, stream=True):
                if update.status == 7:  # from the stream (the first is the created task)
                    break
            acquire(platform.streams_closed)
        for _ in client.stream_task("t1"):
            break
        acquire(platform.streams_closed)
        assert client.get_task("t1").status == 7
        client.http.httpx_client.close()


def test_a_kept_stream_stays_open_until_closed(platform: Platform) -> None:
    # Like a generator kept in a variable: `break` leaves it open (a later loop would go on
    # where it stopped); `with` or close() releases the connection.
    with sync_client(platform) as client:
        stream = client.run({"app": "local/slow"}, stream=True)
        for update in stream:
            if update.status == 7:
                break
        acquire(platform.streams_opened)
        assert not platform.streams_closed.acquire(timeout=0.2)
        stream.close()
        acquire(platform.streams_closed)
        with client.stream_task("t1") as stream:
            for _ in stream:
                break
        acquire(platform.streams_closed)
        assert client.get_task("t1").status == 7
        client.http.httpx_client.close()


def steps(updates: Any) -> list[Any]:
    return [update.output and update.output["step"] for update in updates]


def test_a_loop_after_a_break_goes_on_with_the_next_update(platform: Platform) -> None:
    # The break came in the middle of what arrived as one chunk: nothing of it is lost.
    with sync_client(platform) as client:
        with client.stream_task("t2") as stream:
            for _ in stream:
                break
            assert steps(stream) == [2, 3, 4]
        assert stream.result is not None and stream.result.output == {"step": 4}
        client.http.httpx_client.close()


async def test_an_async_loop_after_a_break_goes_on_with_the_next_update(
    platform: Platform,
) -> None:
    async with async_client(platform) as client:
        async with client.stream_task("t2") as stream:
            async for _ in stream:
                break
            assert steps([update async for update in stream]) == [2, 3, 4]
        assert stream.result is not None and stream.result.output == {"step": 4}
        await client.http.httpx_client.aclose()
        await nothing_left_running()

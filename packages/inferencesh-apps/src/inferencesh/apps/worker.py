"""The worker: one app directory served over HTTP on loopback (the contract in ``docs/worker.md``).

    python -m inferencesh.apps.worker --app-dir DIR [--host 127.0.0.1] [--port 0] [--ready-file PATH]

The app is imported (and ``App()`` created) before the server listens; with ``--ready-file`` the
worker writes ``{"port": ..., "pid": ...}`` there, atomically, once it accepts connections.
Endpoints: ``GET /health``, ``GET /schema``, ``POST /run`` (an NDJSON stream of run events),
``POST /cancel`` (of the call whose ``metadata.task_id`` the body names, or of any call) and
``POST /shutdown``. SIGTERM and SIGINT shut down like ``/shutdown``: the
call in flight is cancelled, then the app's ``unload`` runs, then the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import msgspec
import uvicorn
from inferencesh.apps import http_protocol
from inferencesh.apps._atomic import write_atomic
from inferencesh.apps.parent_watch import watch_parent
from inferencesh.apps.runtime import (
    AppLoadError,
    AppRunner,
    BusyError,
    RunHandle,
    app_schemas,
    is_final,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["create_worker_app", "main", "serve"]

NDJSON = "application/x-ndjson"
_MAX_BODY = 64 * 1024 * 1024


def create_worker_app(runner: AppRunner, *, shutdown: Callable[[], None]) -> ASGIApp:
    """The worker's ASGI app over ``runner``; ``shutdown`` is called by ``POST /shutdown``."""
    schema_cache: list[dict[str, Any]] = []

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": runner.status,
                "app": runner.app.name,
                "functions": list(runner.app.functions),
                "setup": runner.setup_config,
            }
        )

    async def schema(request: Request) -> Response:
        if not schema_cache:
            try:
                schema_cache.append(app_schemas(runner.app))
            except Exception as exc:  # noqa: BLE001 - answered with the reason
                message = f"the app's schema cannot be generated: {type(exc).__name__}: {exc}"
                return JSONResponse({"error": message}, status_code=500)
        return JSONResponse(schema_cache[0])

    async def cancel(request: Request) -> Response:
        body = _parse_object(await request.body())
        if isinstance(body, Response):
            return body
        task_id = body.get("task_id")
        if task_id is not None and not isinstance(task_id, str):
            return _bad_request("`task_id` must be a string or null")
        if task_id == "":
            return _bad_request("`task_id` must not be empty; leave it out to cancel any call")
        return JSONResponse({"cancelled": await runner.cancel(task_id)})

    async def stop(request: Request) -> Response:
        shutdown()
        return JSONResponse({"shutting_down": True})

    run = _RunEndpoint(runner)
    router = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/schema", schema, methods=["GET"]),
            # Reached for other methods only (405): `_WorkerApp` hands POST /run to `run` first.
            Route("/run", run, methods=["POST"]),
            Route("/cancel", cancel, methods=["POST"]),
            Route("/shutdown", stop, methods=["POST"]),
        ]
    )
    return _WorkerApp(run, router)


class _WorkerApp:
    """``POST /run`` straight to its endpoint, everything else through the Starlette router.

    A run is the worker's one frequent request: it skips the router's middleware and routing
    layers, which cost as much as the rest of a trivial call.
    """

    def __init__(self, run: ASGIApp, router: ASGIApp) -> None:
        self._run = run
        self._router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/run" and scope["method"] == "POST":
            await self._run(scope, receive, send)
        else:
            await self._router(scope, receive, send)


class _RunEndpoint:
    """``POST /run`` as a plain ASGI app: the run's events as NDJSON, written as they come.

    A call that is over within one loop turn (an async function that returns at once, or a
    request that fails validation) is answered with one body write and no disconnect watcher;
    a longer one streams its events (those ready together in one write), and a client that goes
    away cancels it.
    """

    def __init__(self, runner: AppRunner) -> None:
        self._runner = runner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        if raw is None:
            return  # the client left before its request was complete
        body = _parse_object(raw)
        if isinstance(body, dict) and (problem := _check_run_body(body)):
            body = _bad_request(problem)
        if isinstance(body, Response):
            await body(scope, receive, send)
            return
        try:
            handle = self._runner.start(
                {} if body.get("input") is None else body["input"],
                function=body.get("function") or None,
                setup=body.get("setup"),
                metadata=body.get("metadata"),
                socket=body.get("socket"),
            )
        except BusyError:
            await JSONResponse({"error": "busy"}, status_code=409)(scope, receive, send)
            return
        # One loop turn: the run's task, scheduled before us, takes its first step.
        await asyncio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        if handle.done:
            events = (await handle.result()).events
            await send({"type": "http.response.body", "body": _encode_lines(events)})
        else:
            await _stream(handle, receive, send)


# No content-length: the body is chunked, its length unknown until the run ends.
_HEADERS = [(b"content-type", NDJSON.encode())]
_encode_lines = msgspec.json.Encoder().encode_lines
_decode = msgspec.json.Decoder().decode


async def _stream(handle: RunHandle, receive: Receive, send: Send) -> None:
    """Write the events of a run in flight as they come; a client that leaves cancels it."""
    watcher = asyncio.ensure_future(_watch_disconnect(handle, receive))
    try:
        async for batch in handle.batches():
            # The batch with the final event also ends the body: one write, not two.
            more = not is_final(batch[-1])
            await send(
                {"type": "http.response.body", "body": _encode_lines(batch), "more_body": more}
            )
    finally:
        watcher.cancel()


async def _watch_disconnect(handle: RunHandle, receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    await handle.cancel()


async def _read_body(receive: Receive) -> bytes | None:
    """The request's body, or ``None`` when the client disconnected before sending all of it."""
    message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_object(raw: bytes) -> dict[str, Any] | Response:
    if len(raw) > _MAX_BODY:
        return JSONResponse({"error": f"body larger than {_MAX_BODY} bytes"}, status_code=413)
    if not raw.strip():
        return {}
    try:
        body = _decode(raw)
    except msgspec.DecodeError:
        # What msgspec refuses but `json` reads (NaN, UTF-16, ...) is still accepted; the
        # error message is `json`'s either way.
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _bad_request(f"the body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _bad_request("the body must be a JSON object")
    return body


def _check_run_body(body: dict[str, Any]) -> str | None:
    expected = {"function": str, "setup": dict, "metadata": dict, "socket": dict}
    for key, kind in expected.items():
        value = body.get(key)
        if value is not None and not isinstance(value, kind):
            return f"`{key}` must be {'a string' if kind is str else 'an object'} or null"
    return None


def _bad_request(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


class _Server(uvicorn.Server):
    """uvicorn, plus: the ready file once listening, and cancel-before-close on shutdown."""

    def __init__(
        self, config: uvicorn.Config, runner: AppRunner, ready_file: Path | None, announce: bool
    ) -> None:
        super().__init__(config)
        self._runner = runner
        self._ready_file = ready_file
        self._announce = announce
        self.port: int | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started or self.should_exit:
            return
        if self._ready_file is not None:
            ready = {"port": self.port, "pid": os.getpid()}
            write_atomic(self._ready_file, json.dumps(ready).encode())
        if self._announce:
            app = self._runner.app
            print(
                f"serving app {app.name!r} (functions: {', '.join(app.functions)}) on "
                f"http://{self.config.host}:{self.port}",
                file=sys.stderr,
                flush=True,
            )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # A streaming run would hold its connection open: end it first.
        await self._runner.cancel()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises a caught SIGTERM once served, which would kill the process before
        # `unload` runs; here a signal only asks for the graceful shutdown, then we exit 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for connections
        else:
            self.should_exit = True


def _server_config(
    runner: AppRunner,
    *,
    shutdown: Callable[[], None],
    host: str = "127.0.0.1",
    log_level: str = "warning",
) -> uvicorn.Config:
    """uvicorn's configuration of the worker's server over ``runner`` (``shutdown`` is what
    ``POST /shutdown`` calls)."""
    return uvicorn.Config(
        create_worker_app(runner, shutdown=shutdown),
        host=host,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # The worker never reads client addresses: forwarded headers change nothing, and
        # their middleware would wrap every request.
        proxy_headers=False,
        http=http_protocol.protocol(),  # a run's answer in one write, not head then body
        timeout_graceful_shutdown=int(runner.cancel_grace) + 5,
    )


async def serve(
    runner: AppRunner,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_file: str | Path | None = None,
    log_level: str = "warning",
    announce: bool = False,
) -> None:
    """Serve ``runner`` until shut down, then unload the app. ``port`` 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets that say so, and
    # without it every keep-alive response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server: _Server | None = None

    def request_shutdown() -> None:
        if server is not None:
            server.should_exit = True

    config = _server_config(runner, shutdown=request_shutdown, host=host, log_level=log_level)
    ready_path = Path(ready_file) if ready_file else None
    server = _Server(config, runner, ready_path, announce)
    server.port = sock.getsockname()[1]
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
        await runner.unload()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inferencesh.apps.worker",
        description="Serve one inference.sh app directory over HTTP on loopback.",
    )
    parser.add_argument("--app-dir", default=".", help="the app directory (default: .)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument("--ready-file", help="write {port, pid} here once listening")
    parser.add_argument("--log-level", default="warning", help="server log level")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; returns the exit code (1 when the app cannot be loaded)."""
    args = _parser().parse_args(argv)
    watch_parent()  # ends this worker with its platform, whatever the app does
    return run_worker(
        args.app_dir,
        host=args.host,
        port=args.port,
        ready_file=args.ready_file,
        log_level=args.log_level,
    )


def run_worker(
    app_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_file: str | Path | None = None,
    log_level: str = "warning",
    announce: bool = False,
) -> int:
    """Load the app, serve it until shut down and return the exit code."""
    # App loggers at INFO reach the task logs (the root logger defaults to WARNING).
    logging.getLogger().setLevel(logging.INFO)
    ready_path = Path(ready_file).resolve() if ready_file else None
    # Like the platform's engine: app code, from its imports on, finds the files next to
    # inference.py by relative path.
    app_path = Path(app_dir).resolve()
    if app_path.is_dir():
        os.chdir(app_path)
    try:
        runner = AppRunner.from_dir(app_path)
    except AppLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    os.chdir(runner.app.directory)
    try:
        asyncio.run(
            serve(
                runner,
                host=host,
                port=port,
                ready_file=ready_path,
                log_level=log_level,
                announce=announce,
            )
        )
    except Exception as exc:  # noqa: BLE001 - reported, and the exit code says it failed
        # Only the app's `unload` (or a failure to bind) gets here.
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

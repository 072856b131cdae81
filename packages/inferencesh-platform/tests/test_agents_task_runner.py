"""The agent loop's task runner lets go of a task stream as soon as it has the task's end."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from inferencesh.platform.agents.task_runner import TaskRunner

_DONE = {"id": "t1", "status": 10, "output": {"text": "hi"}}


class _Platform(BaseHTTPRequestHandler):
    """Creates task t1; its stream sends the finished task and then stays open (heartbeats
    would follow on a real platform) until the client hangs up."""

    hung_up: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"id": "t1", "status": 7}).encode()  # the v2 body the client asks for
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        self.wfile.write(json.dumps({"data": _DONE, "fields": list(_DONE)}).encode() + b"\n")
        self.wfile.flush()
        self.connection.settimeout(10)
        try:
            while self.connection.recv(1024):
                pass
        except OSError:
            return
        self.hung_up.set()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def platform() -> Iterator[tuple[str, threading.Event]]:
    hung_up = threading.Event()
    handler = type("Handler", (_Platform,), {"hung_up": hung_up})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hung_up
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_the_stream_is_closed_before_run_returns(
    platform: tuple[str, threading.Event],
) -> None:
    base_url, hung_up = platform
    runner = TaskRunner(base_url, "inf_test_key")
    try:
        task = await runner.run({"app": "local/hello", "input": {}})
        # Blocking on purpose: the event loop gets no turn, so nothing left for it to finalize
        # later (an abandoned stream generator) can close the connection meanwhile.
        closed = hung_up.wait(5)
    finally:
        await runner.close()
    assert task["output"] == {"text": "hi"}
    assert closed, "the task stream was still open when run() returned"

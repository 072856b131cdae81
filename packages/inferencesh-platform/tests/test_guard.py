"""``ErrorGuard``: an error no route handled is answered (507 naming a full disk) on a
connection that stays open (issue 16, items 1 and 9), served by a real uvicorn on loopback."""

from __future__ import annotations

import errno
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from inferencesh.platform.guard import ErrorGuard
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def boom(request: Request) -> Response:
    raise KeyError("a bug")


async def full(request: Request) -> Response:
    raise OSError(errno.ENOSPC, "No space left on device")


async def full_db(request: Request) -> Response:
    raise sqlite3.OperationalError("database or disk is full")


async def fine(request: Request) -> Response:
    return Response("ok")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route(p, f)
            for p, f in (("/boom", boom), ("/full", full), ("/db", full_db), ("/ok", fine))
        ],
        middleware=[Middleware(ErrorGuard)],
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_an_unhandled_error_is_a_500_on_a_connection_kept_open(base_url: str) -> None:
    transport = httpx.HTTPTransport()
    with httpx.Client(base_url=base_url, transport=transport) as client:
        for _ in range(3):
            reply = client.get("/boom")
            assert reply.status_code == 500
            assert reply.json()["error"]["message"] == "internal error: KeyError"
            assert reply.headers.get("connection") != "close"
        assert client.get("/ok").text == "ok"
        assert len(transport._pool.connections) == 1


@pytest.mark.parametrize("path", ["/full", "/db"])
def test_a_full_disk_says_so(base_url: str, path: str) -> None:
    reply = httpx.get(base_url + path, headers={"X-API-Version": "2"})
    assert reply.status_code == 507
    body = reply.json()
    assert body["code"] == "disk_full"
    assert body["detail"].startswith("disk full")
    assert reply.headers["x-should-retry"] == "false"

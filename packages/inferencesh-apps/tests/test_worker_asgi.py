"""The worker's ASGI app driven in-process: how ``POST /run`` is answered message by message (a
call that is over at once in one body write, a longer one streamed and cancelled when its
client leaves), and the routes that stay on the Starlette router."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh.apps.runtime import AppRunner
from inferencesh.apps.worker import create_worker_app
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message

APP = """
import asyncio
from pydantic import BaseModel


class In(BaseModel):
    text: str = ""
    wait: float = 0


class Out(BaseModel):
    text: str


class App:
    async def run(self, data: In) -> Out:
        if data.wait:
            print("waiting")
            await asyncio.sleep(data.wait)
        return Out(text=data.text)
"""


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[tuple[AppRunner, ASGIApp]]:
    (tmp_path / "inference.py").write_text(textwrap.dedent(APP))
    runner = AppRunner.from_dir(tmp_path)
    yield runner, create_worker_app(runner, shutdown=lambda: None)
    await runner.unload()


class Exchange:
    """One request to the ASGI app: the body in ``chunks``, what it sent, how often it read."""

    def __init__(
        self, app: ASGIApp, method: str, path: str, *chunks: bytes, complete: bool = True
    ) -> None:
        self.app, self.method, self.path = app, method, path
        self.chunks = list(chunks) or [b""]
        self.complete = complete  # False: the client leaves after its last chunk
        self.sent: list[Message] = []
        self.receives = 0
        self.disconnect = asyncio.Event()

    async def receive(self) -> Message:
        self.receives += 1
        if self.chunks:
            body = self.chunks.pop(0)
            more = bool(self.chunks) or not self.complete
            return {"type": "http.request", "body": body, "more_body": more}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def __call__(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        await self.app(scope, self.receive, self.send)

    @property
    def bodies(self) -> list[Message]:
        return [m for m in self.sent if m["type"] == "http.response.body"]

    def events(self) -> list[dict[str, Any]]:
        data = b"".join(m["body"] for m in self.bodies)
        return [json.loads(line) for line in data.splitlines()]


async def test_a_run_over_at_once_is_one_write_and_reads_no_more_than_its_body(
    worker: tuple[AppRunner, ASGIApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, app = worker

    async def not_the_router(*args: Any) -> None:
        raise AssertionError("POST /run went through the Starlette router")

    monkeypatch.setattr(Starlette, "__call__", not_the_router)
    exchange = Exchange(app, "POST", "/run", b'{"input": {"text": "hi"}}')
    await exchange()
    start, *bodies = exchange.sent
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-type"] == b"application/x-ndjson"
    # The whole answer in one body message that ends it, and no disconnect watcher reading on.
    assert len(bodies) == 1 and not bodies[0].get("more_body", False)
    assert exchange.receives == 1
    assert exchange.events() == [
        {"type": "status", "status": "running"},
        {"type": "result", "output": {"text": "hi"}},
    ]


async def test_a_longer_run_streams_and_a_client_that_leaves_cancels_it(
    worker: tuple[AppRunner, ASGIApp],
) -> None:
    runner, app = worker
    exchange = Exchange(app, "POST", "/run", b'{"input": {"wait": 30}}')
    served = asyncio.ensure_future(exchange())
    while not exchange.bodies:
        await asyncio.sleep(0.01)
    assert exchange.bodies[0]["more_body"] is True
    assert runner.busy
    exchange.disconnect.set()
    await asyncio.wait_for(served, 5)
    assert runner.status == "idle"
    events = exchange.events()
    assert {"type": "log", "log_type": "run", "content": "waiting"} in events
    assert events[-1]["kind"] == "cancelled"
    # Every event in its own write as it came, the final one ending the body in the same write.
    assert [m["more_body"] for m in exchange.bodies] == [True] * (len(exchange.bodies) - 1) + [
        False
    ]
    assert json.loads(exchange.bodies[-1]["body"].splitlines()[-1])["kind"] == "cancelled"


async def test_a_body_in_several_chunks_is_joined(worker: tuple[AppRunner, ASGIApp]) -> None:
    _, app = worker
    exchange = Exchange(app, "POST", "/run", b'{"input": ', b'{"text": "split"}', b"}")
    await exchange()
    assert exchange.events()[-1] == {"type": "result", "output": {"text": "split"}}


async def test_a_client_that_leaves_before_its_body_is_complete_starts_nothing(
    worker: tuple[AppRunner, ASGIApp],
) -> None:
    runner, app = worker
    exchange = Exchange(app, "POST", "/run", b'{"input": ', complete=False)
    exchange.disconnect.set()
    await exchange()
    assert exchange.sent == []
    assert runner.status == "idle"
    assert runner.setup_config is None  # no run was started


async def test_bodies_json_reads_are_accepted_and_others_refused(
    worker: tuple[AppRunner, ASGIApp],
) -> None:
    _, app = worker
    # NaN is not strict JSON, but Python's json reads it: accepted, as it always was.
    exchange = Exchange(app, "POST", "/run", b'{"input": {"text": "n"}, "metadata": {"v": NaN}}')
    await exchange()
    assert exchange.events()[-1] == {"type": "result", "output": {"text": "n"}}
    exchange = Exchange(app, "POST", "/run", b"{nope")
    await exchange()
    assert exchange.sent[0]["status"] == 400
    assert (
        "the body is not valid JSON: Expecting property name" in exchange.bodies[0]["body"].decode()
    )
    exchange = Exchange(app, "POST", "/run", b"[1]")
    await exchange()
    assert exchange.sent[0]["status"] == 400


async def test_the_other_routes_and_methods_stay_on_the_router(
    worker: tuple[AppRunner, ASGIApp],
) -> None:
    _, app = worker
    exchange = Exchange(app, "GET", "/run")
    await exchange()
    assert exchange.sent[0]["status"] == 405
    assert dict(exchange.sent[0]["headers"])[b"allow"] == b"POST"
    exchange = Exchange(app, "GET", "/health")
    await exchange()
    assert json.loads(exchange.bodies[0]["body"])["status"] == "idle"
    exchange = Exchange(app, "POST", "/cancel", b"")
    await exchange()
    assert json.loads(exchange.bodies[0]["body"]) == {"cancelled": False}

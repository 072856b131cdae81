"""A run that waits or streams is one request against the real local platform: its reply is
the task's stream (``POST /apps/run?stream=true``). The result is the one of a task created
first and then followed; sessions keep their worker; a stream dropped after its first update
goes on through ``GET /tasks/{id}/stream`` (a loopback proxy cuts the first connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import TaskStatus, async_inference, inference
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"
HELLO = {"app": "local/hello", "input": {"prompt": "A cat"}}


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([EXAMPLES])


class Seen:
    """The requests a client sent (an httpx event hook)."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def hook(self, request: httpx.Request) -> None:
        self.requests.append(f"{request.method} {request.url.raw_path.decode()}")

    async def ahook(self, request: httpx.Request) -> None:
        self.hook(request)


def _same(task: Any) -> dict[str, Any]:
    return {"status": task.status, "output": task.output, "app": task.app, "logs": len(task.logs)}


def test_a_run_is_one_request_with_the_result_of_two(server: LocalPlatform) -> None:
    seen = Seen()
    http = httpx.Client(event_hooks={"request": [seen.hook]}, trust_env=False)
    with inference(api_key=server.api_key, base_url=server.base_url, http_client=http) as client:
        client.run(HELLO)  # a warm worker for both (the first run logs the app's setup)
        seen.requests.clear()
        streamed = client.run(HELLO)
        assert seen.requests == ["POST /apps/run?stream=true"]
        created_first = client.run(HELLO, timeout=60)  # a deadline: created, then followed
        assert seen.requests[1:] == ["POST /apps/run", f"GET /tasks/{created_first.id}/stream"]
        assert _same(streamed) == _same(created_first)
        assert streamed.status is TaskStatus.COMPLETED and "A cat" in streamed.output["result"]

        seen.requests.clear()
        with client.run(HELLO, stream=True) as stream:
            assert stream.task_id  # named by the reply's first update
            statuses = [update.status for update in stream]
        assert statuses[-1] is TaskStatus.COMPLETED and len(set(statuses)) == len(statuses)
        assert seen.requests == ["POST /apps/run?stream=true"]
    http.close()


def test_a_session_keeps_its_worker(server: LocalPlatform) -> None:
    seen = Seen()

    async def go() -> None:
        http = httpx.AsyncClient(event_hooks={"request": [seen.ahook]}, trust_env=False)
        async with async_inference(
            api_key=server.api_key, base_url=server.base_url, http_client=http
        ) as client:
            async with await client.session("local/counter") as session:
                assert session.session_id.startswith("sess_")
                first = await session.call("increment", {"by": 2})
                second = await session.call("increment")
            assert (first.output, second.output) == ({"value": 2}, {"value": 3})
        await http.aclose()

    asyncio.run(go())
    runs = [r for r in seen.requests if r.startswith("POST /apps/run")]
    assert runs == ["POST /apps/run?stream=true"] * 3
    assert not [r for r in seen.requests if r.startswith("GET /tasks/")]


class CuttingProxy:
    """A loopback TCP proxy to the platform that cuts the first streamed run's connection
    right after the first line of its reply's body (the task is named, then the stream drops)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        head = client.recv(65536)
        upstream.sendall(head)
        with self._lock:
            cut = b"POST /apps/run?stream=true" in head and self.cut == 0
            self.cut += cut
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        self._pipe(upstream, client, cut_after_first_line=cut)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, cut_after_first_line: bool = False) -> None:
        seen = b""
        try:
            while data := src.recv(65536):
                if cut_after_first_line:
                    seen += data
                    body = seen.find(b"\r\n\r\n")
                    line_end = seen.find(b"\n\r\n", body + 4) if body >= 0 else -1
                    if line_end >= 0:  # a chunk holding the first NDJSON line, then nothing
                        dst.sendall(seen[: line_end + 3])
                        break
                    continue
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(server: LocalPlatform) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(int(server.base_url.rsplit(":", 1)[1]))
    yield cutting
    cutting.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_stream_dropped_after_its_first_update_goes_on_with_the_tasks_stream(
    server: LocalPlatform, proxy: CuttingProxy, kind: str
) -> None:
    params = {"app": "local/slow", "input": {"seconds": 0.3}}
    url = f"http://127.0.0.1:{proxy.port}"
    if kind == "sync":
        with inference(api_key=server.api_key, base_url=url) as client:
            updates = list(client.run(params, stream=True))
    else:

        async def go() -> list[Any]:
            async with async_inference(api_key=server.api_key, base_url=url) as client:
                return [update async for update in await client.run(params, stream=True)]

        updates = asyncio.run(go())
    assert proxy.cut == 1
    assert updates[-1].status is TaskStatus.COMPLETED and updates[-1].output["steps"] >= 1
    assert len({u.id for u in updates}) == 1
    assert all(a != b for a, b in itertools.pairwise(updates))  # never twice

"""The clients against a real HTTP server on 127.0.0.1 (starlette + uvicorn in a thread).

What a mock transport cannot show: the presigned PUT really streams with a Content-Length
(no chunked encoding, which storage services reject), NDJSON arrives in real network chunks
with pauses, and a server that aborts a stream mid-way is survived.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from core_testkit import serve
from inferencesh.core import AsyncInference, Inference, TaskStatus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KEY = "inf_loopback_key"


class Server:
    def __init__(self) -> None:
        self.uploads: list[dict[str, Any]] = []
        self.stream_calls = 0
        self.runs: list[dict[str, Any]] = []
        self.url = ""

    def app(self) -> Starlette:
        async def run(request: Request) -> Response:
            assert request.headers["authorization"] == f"Bearer {KEY}"
            self.runs.append(json.loads(await request.body()))
            return JSONResponse({"id": "t1", "status": 1})

        async def files(request: Request) -> Response:
            spec = json.loads(await request.body())["files"][0]
            return JSONResponse(
                [
                    {
                        **spec,
                        "id": "f1",
                        "uri": "https://cdn/f1",
                        "upload_url": f"{self.url}/upload/f1",
                    }
                ]
            )

        async def upload(request: Request) -> Response:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
            self.uploads.append(
                {
                    "size": size,
                    "content_length": request.headers.get("content-length"),
                    "transfer_encoding": request.headers.get("transfer-encoding"),
                    "authorization": request.headers.get("authorization"),
                }
            )
            return Response(status_code=200)

        async def stream(request: Request) -> Response:
            self.stream_calls += 1
            first = self.stream_calls == 1

            async def body() -> AsyncIterator[bytes]:
                yield b'{"type":"heartbeat"}\n'
                await asyncio.sleep(0.05)
                yield b'{"data":{"id":"t1","status":7,"logs":[{"content":"working"}]},"fields":["status","logs"]}\n'
                await asyncio.sleep(0.05)
                if first:
                    raise RuntimeError("the server drops the connection")
                yield b'{"data":{"status":10,"output":{"ok":true}},"fields":["status","output"]}\n'

            return StreamingResponse(body(), media_type="application/x-ndjson")

        async def get_task(request: Request) -> Response:
            return JSONResponse({"id": "t1", "status": 7})

        return Starlette(
            routes=[
                Route("/apps/run", run, methods=["POST"]),
                Route("/files", files, methods=["POST"]),
                Route("/upload/f1", upload, methods=["PUT"]),
                Route("/tasks/t1/stream", stream),
                Route("/tasks/t1", get_task),
            ]
        )


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    with serve(state.app()) as url:
        state.url = url
        yield state


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_sync_run_with_upload_and_dropped_stream(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "in.bin"
    path.write_bytes(b"a" * (3 << 20))
    with Inference(api_key=KEY, base_url=server.url) as client:
        updates = list(client.run({"app": "local/x", "input": {"file": path}}, stream=True))
    assert [u.status for u in updates] == [
        TaskStatus.RECEIVED,
        TaskStatus.RUNNING,
        TaskStatus.COMPLETED,
    ]
    assert updates[-1].output == {"ok": True}
    assert updates[-1].logs[0].content == "working"
    assert server.stream_calls == 2
    assert server.runs[0]["input"] == {"file": "https://cdn/f1"}
    assert server.uploads == [
        {
            "size": 3 << 20,
            "content_length": str(3 << 20),
            "transfer_encoding": None,
            "authorization": None,
        }
    ]


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_async_run_with_upload_and_dropped_stream(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "in.bin"
    path.write_bytes(b"b" * (2 << 20) + b"tail")

    async def go() -> Any:
        async with AsyncInference(api_key=KEY, base_url=server.url) as client:
            return await client.run({"app": "local/x", "input": {"file": path}})

    result = asyncio.run(go())
    assert result.status == TaskStatus.COMPLETED
    assert result.output == {"ok": True}
    assert server.uploads[0]["size"] == (2 << 20) + 4
    assert server.uploads[0]["transfer_encoding"] is None

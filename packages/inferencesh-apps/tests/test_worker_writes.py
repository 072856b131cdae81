"""The worker's server answers a run in one write: the head, the NDJSON body and its end
together (one system call and one wake-up of the platform instead of two or three)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from inferencesh.apps.http_protocol import protocol
from inferencesh.apps.runtime import AppRunner
from inferencesh.apps.worker import _server_config
from uvicorn.server import ServerState

APP = """
from pydantic import BaseModel


class In(BaseModel):
    text: str


class Out(BaseModel):
    text: str


class App:
    async def run(self, data: In) -> Out:
        return Out(text=data.text)
"""


class _Transport(asyncio.Transport):
    """Records each write (one write is one system call on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


async def test_a_run_is_answered_in_one_write(tmp_path: Path) -> None:
    if protocol() == "auto":
        pytest.skip("httptools is not installed")
    (tmp_path / "inference.py").write_text(textwrap.dedent(APP))
    runner = AppRunner.from_dir(tmp_path)
    try:
        config = _server_config(runner, shutdown=lambda: None)
        config.load()
        # No proxy-headers middleware around every request: the worker reads no addresses.
        assert type(config.loaded_app).__name__ != "ProxyHeadersMiddleware"
        server = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=ServerState(), app_state={}
        )
        transport = _Transport()
        server.connection_made(transport)
        body = b'{"input": {"text": "hi"}}'
        request = b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        for run in range(2):  # two runs on the kept-alive connection
            server.data_received(request)
            deadline = asyncio.get_running_loop().time() + 10
            while sum(w.endswith(b"0\r\n\r\n") for w in transport.writes) <= run:
                assert asyncio.get_running_loop().time() < deadline, transport.writes
                await asyncio.sleep(0.01)
        assert len(transport.writes) == 2  # one per run
        for write in transport.writes:
            assert write.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b'{"type":"result","output":{"text":"hi"}}' in write
            assert write.endswith(b"0\r\n\r\n")
    finally:
        await runner.unload()

"""Shared helpers of the core benchmarks: the published client's venv and a loopback server.

Not a benchmark itself. The published ``inferencesh`` (the peer we measure against) is
installed by ``_published.py`` into ``.venvs/published-0.36.0`` the first time it is needed.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import _published


def published_python() -> Path | None:
    """The Python of the venv with the pinned published client (None if it cannot be installed)."""
    try:
        return _published.published_python(_published.PINNED_VERSION)
    except RuntimeError as exc:
        print(f"  {exc}\n  its columns are skipped", flush=True)
        return None


def run_python(python: Path | str, code: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter and return its stdout (raises on failure)."""
    out = subprocess.run(
        [str(python), "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd="/tmp",
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr}")
    return out.stdout


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = r"""
import sys, json
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

TASK = json.dumps({"id": "t1", "status": 10, "app": "infsh/echo", "output": {"text": "hello"},
                   "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z"}).encode()
port = int(sys.argv[1])

async def task(request):
    return Response(TASK, media_type="application/json")

async def files(request):
    body = json.loads(await request.body())
    name = body["files"][0].get("filename") or "blob"
    return Response(json.dumps([{"id": "f1", "uri": "https://cdn/" + name,
        "upload_url": f"http://127.0.0.1:{port}/upload/f1"}]), media_type="application/json")

async def upload(request):
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return Response(json.dumps({"received": size}), media_type="application/json")

app = Starlette(routes=[Route("/tasks/t1", task), Route("/files", files, methods=["POST"]),
                        Route("/upload/f1", upload, methods=["PUT"])])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


@contextmanager
def loopback_server() -> Iterator[str]:
    """A starlette/uvicorn server on 127.0.0.1 in a subprocess; yields its base URL."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/tasks/t1", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the loopback server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Worker cold start and per-call overhead, side by side with a bare ASGI echo endpoint.

    .venv/bin/python bench/worker_overhead.py [--starts 5] [--calls 300]

Both servers run the same stack (starlette + uvicorn, one process, 127.0.0.1):

- cold start: process start until the ready file appears (the worker also imports the app,
  pydantic and the runtime before it listens);
- per call: a trivial echo app through ``POST /run`` (validation, setup check, the event
  stream as NDJSON) versus a bare starlette endpoint that echoes the JSON body.

Prints medians and the worker/bare ratios.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TRIVIAL_APP = """
from pydantic import BaseModel


class EchoInput(BaseModel):
    text: str


class EchoOutput(BaseModel):
    text: str


class App:
    async def run(self, input_data: EchoInput) -> EchoOutput:
        return EchoOutput(text=input_data.text)
"""

BARE_SERVER = """
import asyncio, json, os, socket, sys
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"output": (await request.json())["input"]})


class Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets)
        tmp = sys.argv[1] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": self.port, "pid": os.getpid()}, f)
        os.replace(tmp, sys.argv[1])


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
server = Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
server.port = sock.getsockname()[1]
asyncio.run(server.serve(sockets=[sock]))
"""


def _start(cmd: list[str], ready: Path) -> tuple[subprocess.Popen[bytes], float, int]:
    ready.unlink(missing_ok=True)
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {cmd}")
        time.sleep(0.001)
    elapsed = time.perf_counter() - began
    return proc, elapsed, json.loads(ready.read_text())["port"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


class _RawClient:
    """A minimal keep-alive HTTP/1.1 client on one socket, so client cost stays out of the figures."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = port

    def post(self, path: str, body: bytes) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(65536)
        headers, _, rest = data.partition(b"\r\n\r\n")
        lowered = headers.lower()
        if b"transfer-encoding: chunked" in lowered:
            while not rest.endswith(b"0\r\n\r\n"):
                rest += self.sock.recv(65536)
            return rest
        length = int(lowered.split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += self.sock.recv(65536)
        return rest

    def close(self) -> None:
        self.sock.close()


def _time_calls(client: _RawClient, path: str, calls: int) -> list[float]:
    body = json.dumps({"input": {"text": "hello"}}).encode()
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        reply = client.post(path, body)
        samples.append(time.perf_counter() - began)
        assert b'"output":{"text":"hello"}' in reply, reply
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="cold starts per server")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app_dir = root / "echo"
        app_dir.mkdir()
        (app_dir / "inference.py").write_text(textwrap.dedent(TRIVIAL_APP))
        bare_script = root / "bare.py"
        bare_script.write_text(BARE_SERVER)
        ready = root / "ready.json"
        worker_cmd = [
            sys.executable,
            "-m",
            "inferencesh.apps.worker",
            "--app-dir",
            str(app_dir),
            "--ready-file",
            str(ready),
        ]
        bare_cmd = [sys.executable, str(bare_script), str(ready)]

        starts: dict[str, list[float]] = {"worker": [], "bare": []}
        for _ in range(args.starts):
            for name, cmd in (("worker", worker_cmd), ("bare", bare_cmd)):
                proc, elapsed, _ = _start(cmd, ready)
                starts[name].append(elapsed)
                _stop(proc)

        per_call: dict[str, list[float]] = {}
        for name, cmd, path in (("worker", worker_cmd, "/run"), ("bare", bare_cmd, "/echo")):
            proc, _, port = _start(cmd, ready)
            client = _RawClient(port)
            try:
                _time_calls(client, path, 30)  # warm up (and run setup once)
                per_call[name] = _time_calls(client, path, args.calls)
            finally:
                client.close()
                _stop(proc)

    cold_w, cold_b = statistics.median(starts["worker"]), statistics.median(starts["bare"])
    call_w, call_b = statistics.median(per_call["worker"]), statistics.median(per_call["bare"])
    print(f"cold start (process start -> ready), median of {args.starts}:")
    print(
        f"  worker {cold_w * 1000:8.1f} ms   bare echo {cold_b * 1000:8.1f} ms   ratio {cold_w / cold_b:5.2f}x"
    )
    print(f"per call, median of {args.calls} sequential keep-alive calls:")
    print(
        f"  worker {call_w * 1e6:8.0f} us   bare echo {call_b * 1e6:8.0f} us   ratio {call_w / call_b:5.2f}x"
    )
    print(f"  worker overhead over bare: {(call_w - call_b) * 1e6:.0f} us per call")


if __name__ == "__main__":
    main()

"""Throughput of a trivial app through the local platform versus the same app called directly
through its workers (the platform's own overhead), with 1, 8 and 64 concurrent async clients.

    .venv/bin/python bench/platform_throughput.py [--seconds 3] [--workers 2]

Three ways to run the same task (examples/apps/multi_function, function `run`):

* direct:   POST /run on the workers themselves (W worker processes, a client-side free-list)
* http:     POST /apps/run with `wait: true` on the platform (one request per task)
* client:   `await AsyncInference.run(...)` on the platform (create, then follow the stream)

The platform runs with `--concurrency W`, so both sides have the same worker processes.
Printed: tasks per second for each, and the ratios platform / direct side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from inferencesh import async_inference
from inferencesh.platform.launcher import LocalPlatform

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "apps" / "multi_function"
PAYLOAD = {"input": {"name": "bench"}, "function": "run"}


async def _measure(concurrency: int, seconds: float, one_call: object) -> float:
    """Tasks per second with `concurrency` loops calling `one_call` for `seconds`."""
    done = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await one_call()  # type: ignore[operator]
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def _start_workers(count: int, tmp: Path) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    procs, ports = [], []
    for i in range(count):
        ready = tmp / f"w{i}.ready"
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "inferencesh.apps.worker",
                    "--app-dir",
                    str(APP),
                    "--port",
                    "0",
                    "--ready-file",
                    str(ready),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for i in range(count):
        ready = tmp / f"w{i}.ready"
        while not ready.exists():
            time.sleep(0.02)
        ports.append(json.loads(ready.read_text())["port"])
    return procs, ports


async def direct(ports: list[int], concurrency: int, seconds: float) -> float:
    clients = [
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", trust_env=False, timeout=60)
        for p in ports
    ]
    free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
    for c in clients:
        free.put_nowait(c)

    async def call() -> None:
        client = await free.get()
        try:
            async with client.stream("POST", "/run", json=PAYLOAD) as response:
                async for line in response.aiter_lines():
                    if line and json.loads(line).get("type") in ("result", "error"):
                        break
        finally:
            free.put_nowait(client)

    await call()
    rate = await _measure(concurrency, seconds, call)
    for c in clients:
        await c.aclose()
    return rate


async def via_http(base_url: str, api_key: str, concurrency: int, seconds: float) -> float:
    # One pooled client per 8 loops: a single httpx pool with 64 connections costs the load
    # generator more CPU per request than the server spends on the task.
    headers = {"Authorization": f"Bearer {api_key}"}
    clients = [
        httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False, timeout=60)
        for _ in range(max(1, concurrency // 8))
    ]
    turn = iter(range(10**9))

    async def call() -> None:
        http = clients[next(turn) % len(clients)]
        response = await http.post(
            "/apps/run", json={"app": "local/multi-function", **PAYLOAD, "wait": True}
        )
        assert response.json()["data"]["status"] == 10, response.text

    await call()
    rate = await _measure(concurrency, seconds, call)
    for c in clients:
        await c.aclose()
    return rate


async def via_client(base_url: str, api_key: str, concurrency: int, seconds: float) -> float:
    clients = [async_inference(api_key=api_key, base_url=base_url) for _ in range(concurrency)]
    turn = iter(range(10**9))

    async def call() -> None:
        client = clients[next(turn) % concurrency]
        result = await client.run({"app": "local/multi-function", **PAYLOAD})
        assert result["status"] == 10

    await call()
    rate = await _measure(concurrency, seconds, call)
    for c in clients:
        await c.aclose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        procs, ports = _start_workers(args.workers, tmp)
        try:
            direct_rates = {
                n: asyncio.run(direct(ports, n, args.seconds)) for n in args.concurrency
            }
        finally:
            for p in procs:
                p.terminate()
                p.wait()
        platform = LocalPlatform(
            [APP], data_dir=tmp / "data", args=["--concurrency", str(args.workers), "--warm"]
        )
        with platform:
            http_rates = {
                n: asyncio.run(via_http(platform.base_url, platform.api_key, n, args.seconds))
                for n in args.concurrency
            }
            client_rates = {
                n: asyncio.run(via_client(platform.base_url, platform.api_key, n, args.seconds))
                for n in args.concurrency
            }
    print(
        f"trivial app, {args.workers} worker(s), {args.seconds:g}s per cell, {os.cpu_count()} CPU(s); tasks/s"
    )
    print(
        f"{'clients':>8} {'direct':>9} {'http wait':>10} {'our client':>11} {'http/direct':>12} {'client/direct':>14}"
    )
    for n in args.concurrency:
        d, h, c = direct_rates[n], http_rates[n], client_rates[n]
        print(f"{n:>8} {d:>9.1f} {h:>10.1f} {c:>11.1f} {h / d:>12.2f} {c / d:>14.2f}")


if __name__ == "__main__":
    main()

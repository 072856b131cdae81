"""Benchmark (4): per-request overhead of the client over raw httpx, against a loopback server.

A starlette/uvicorn server (a subprocess) serves ``GET /tasks/t1``. In one interpreter,
rounds of N requests alternate between raw httpx (``client.get`` + ``response.json()``, the
same headers, one pooled client) and ours (``client.get_task("t1")``: header building,
retry bookkeeping, envelope handling, typed decode), so load drifts hit both alike. The
median round time per request is reported, sync and async. Target: within 1.15x of raw httpx.

    .venv/bin/python bench/core_overhead.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core_common import loopback_server, published_python, run_python

ROUNDS = 10
N = 300

SYNC = r"""
import statistics, sys, time
import httpx
from inferencesh import inference
url, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
headers = {"Authorization": "Bearer inf_bench", "Accept": "application/json", "X-API-Version": "2"}
raw = httpx.Client()
ours = inference(api_key="inf_bench", base_url=url)
def run_raw():
    for _ in range(n):
        r = raw.get(url + "/tasks/t1", headers=headers)
        r.raise_for_status()
        r.json()
def run_ours():
    for _ in range(n):
        ours.get_task("t1")
run_raw(); run_ours()
a, b = [], []
for i in range(rounds):
    for which in ((run_raw, a), (run_ours, b))[:: 1 if i % 2 else -1]:  # alternate the order
        t = time.perf_counter(); which[0](); which[1].append((time.perf_counter() - t) / n)
print(statistics.median(a), statistics.median(b))
"""

ASYNC = r"""
import asyncio, statistics, sys, time
import httpx
from inferencesh import async_inference
url, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
headers = {"Authorization": "Bearer inf_bench", "Accept": "application/json", "X-API-Version": "2"}
async def main():
    raw = httpx.AsyncClient()
    ours = async_inference(api_key="inf_bench", base_url=url)
    async def run_raw():
        for _ in range(n):
            r = await raw.get(url + "/tasks/t1", headers=headers)
            r.raise_for_status()
            r.json()
    async def run_ours():
        for _ in range(n):
            await ours.get_task("t1")
    await run_raw(); await run_ours()
    a, b = [], []
    for i in range(rounds):
        for which in ((run_raw, a), (run_ours, b))[:: 1 if i % 2 else -1]:  # alternate the order
            t = time.perf_counter(); await which[0](); which[1].append((time.perf_counter() - t) / n)
    print(statistics.median(a), statistics.median(b))
asyncio.run(main())
"""

PUBLISHED = r"""
import statistics, sys, time
from inferencesh import Inference
url, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = Inference(api_key="inf_bench", base_url=url)
client.get_task("t1")
times = []
for _ in range(rounds):
    t = time.perf_counter()
    for _ in range(n):
        client.get_task("t1")
    times.append((time.perf_counter() - t) / n)
print(statistics.median(times))
"""


def main() -> None:
    with loopback_server() as url:
        args = (url, str(ROUNDS), str(N))
        sync_raw, sync_ours = map(float, run_python(sys.executable, SYNC, *args).split())
        async_raw, async_ours = map(float, run_python(sys.executable, ASYNC, *args).split())
        python = published_python()
        published = float(run_python(python, PUBLISHED, *args)) if python else None
    print(f"GET /tasks/t1 over loopback, median of {ROUNDS} rounds x {N} requests")
    print(f"{'':<10}{'raw httpx us':>14}{'ours us':>10}{'ours/raw':>10}")
    print(
        f"{'sync':<10}{sync_raw * 1e6:>14.0f}{sync_ours * 1e6:>10.0f}{sync_ours / sync_raw:>10.3f}"
    )
    print(
        f"{'async':<10}{async_raw * 1e6:>14.0f}{async_ours * 1e6:>10.0f}{async_ours / async_raw:>10.3f}"
    )
    if published is not None:
        print(
            f"\npublished 0.36.0 (requests, no pool): {published * 1e6:.0f} us/request"
            f" = {published / sync_raw:.2f}x raw httpx"
        )
    print("target: ours/raw <= 1.15")


if __name__ == "__main__":
    main()

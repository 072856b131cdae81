"""The live relay: round trips and sustained streams through ``inferencesh dev``.

    .venv/bin/python bench/live_relay.py [--sessions 16] [--seconds 10] [--round-trips 500]

1. Round trip of one 640-byte binary frame (20 ms of 16 kHz mono audio) caller -> relay ->
   app (``examples/apps/live-echo``, in its worker) -> relay -> caller, median and p95 over
   ``--round-trips`` frames, side by side with the same frame echoed by a bare ``websockets``
   server on loopback (the floor: one WebSocket hop each way, no relay, no app).
2. ``--sessions`` concurrent sessions each sending 50 frames/s for ``--seconds``: frames sent,
   echoed back and received by the app (drops are the difference), and the relay's CPU time per
   relayed frame (server process user+system time over frames both ways).

Target (issue 14): median round trip <= 5 ms; 16 x 50 frames/s with no drops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from inferencesh import async_inference
from inferencesh.platform.launcher import LocalPlatform
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

ROOT = Path(__file__).resolve().parent.parent
ECHO = ROOT / "examples" / "apps" / "live-echo"
PARAMS = {"app": "local/live-echo", "function": "echo", "input": {}}
FRAME = b"\x01\x02" * 320


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _floor(round_trips: int) -> list[float]:
    async def echo(ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            await ws.send(message)  # type: ignore[attr-defined]

    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            times = []
            for i in range(round_trips + 50):
                start = time.perf_counter()
                await ws.send(FRAME)
                await ws.recv()
                if i >= 50:
                    times.append(time.perf_counter() - start)
    return times


async def _relay_round_trips(platform: LocalPlatform, round_trips: int) -> list[float]:
    client = async_inference(api_key=platform.api_key, base_url=platform.base_url)
    task, session = await client.live(PARAMS)
    times = []
    for i in range(round_trips + 50):
        start = time.perf_counter()
        await session.send(FRAME)
        while not isinstance(await session.__anext__(), bytes):
            pass  # transcript patches
        if i >= 50:
            times.append(time.perf_counter() - start)
    await session.close()
    await client.wait_for_completion(task.id)
    await client.aclose()
    return times


async def _one_session(client: object, seconds: float, ready: asyncio.Event) -> dict[str, int]:
    task, session = await client.live(PARAMS)  # type: ignore[attr-defined]
    await session.send(FRAME)  # first frame: wait for the app to be there
    while not isinstance(await session.__anext__(), bytes):
        pass
    await ready.wait()
    received = 0

    async def read() -> None:
        nonlocal received
        async for item in session:
            if isinstance(item, bytes):
                received += 1

    reader = asyncio.ensure_future(read())
    sent = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        await session.send(FRAME)
        sent += 1
        await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))
    await asyncio.sleep(0.5)  # the last echoes
    await session.close()
    reader.cancel()
    done = await client.wait_for_completion(task.id)  # type: ignore[attr-defined]
    return {"sent": sent, "echoed": received, "app_got": int(done.output["frames"]) - 1}


async def _sustained(platform: LocalPlatform, sessions: int, seconds: float) -> None:
    client = async_inference(api_key=platform.api_key, base_url=platform.base_url, timeout=120)
    ready = asyncio.Event()
    runs = [asyncio.ensure_future(_one_session(client, seconds, ready)) for _ in range(sessions)]
    await asyncio.sleep(0)
    # Every session paired (workers started) before the clock starts.
    while True:
        listed = await client.sockets.list({"limit": 500})
        paired = sum(1 for s in listed.items if s.status == "open")
        if paired >= sessions:
            break
        await asyncio.sleep(0.2)
    assert platform.process is not None
    cpu0 = _cpu_seconds(platform.process.pid)
    ready.set()
    results = await asyncio.gather(*runs)
    cpu = _cpu_seconds(platform.process.pid) - cpu0
    await client.aclose()
    sent = sum(r["sent"] for r in results)
    echoed = sum(r["echoed"] for r in results)
    app_got = sum(r["app_got"] for r in results)
    relayed = sent + echoed
    print(f"\nsustained: {sessions} sessions x 50 frames/s x {seconds:g} s")
    print(f"  frames sent {sent}, received by the app {app_got}, echoed back {echoed}")
    print(f"  dropped: caller->app {sent - app_got}, app->caller {app_got - echoed}")
    print(f"  relay CPU: {cpu:.2f} s for {relayed} frames = {cpu / relayed * 1e6:.1f} us/frame")
    print(f"  relay CPU share: {cpu / seconds * 100:.0f}% of one core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--round-trips", type=int, default=500)
    args = parser.parse_args()
    floor = asyncio.run(_floor(args.round_trips))
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--concurrency", str(max(args.sessions, 1)), "--socket-pair-timeout", "120"]
        with LocalPlatform([ECHO], data_dir=tmp, args=extra, start_timeout=120) as platform:
            relay = asyncio.run(_relay_round_trips(platform, args.round_trips))
            ms = 1000.0
            print(f"round trip of a 640-byte frame ({args.round_trips} frames):")
            print(f"{'path':<34}{'median ms':>10}{'p95 ms':>10}")
            for name, times in (("bare websockets echo (floor)", floor), ("relay + app", relay)):
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{name:<34}{statistics.median(times) * ms:>10.3f}{p95 * ms:>10.3f}")
            ratio = statistics.median(relay) / statistics.median(floor)
            print(f"relay + app / floor: {ratio:.1f}x   (target: median <= 5 ms)")
            if args.sessions > 0:
                asyncio.run(_sustained(platform, args.sessions, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

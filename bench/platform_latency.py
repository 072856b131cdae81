"""Task round-trip latency through our client versus the published `inferencesh` client (latest
from PyPI, in `.venvs/published`), against the same local platform, side by side.

    .venv/bin/python bench/platform_latency.py [--runs 200]

The same script runs in each environment: `client.run(...)` with the default wait, one task at
a time, on a trivial app (examples/apps/multi_function) whose worker is warm. Printed: median,
p90 and mean in milliseconds, the import time of each package, and the ratios ours / published.
Also run: the fire-and-forget create (`wait=False`) alone, which isolates request overhead.
Last, the server's own CPU time per task (user + system of the `inferencesh dev` process, from
/proc, over all the tasks each client ran): the platform's per-task cost, which load from other
processes on the machine moves far less than the wall-clock latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _published import published_python
from inferencesh.platform.launcher import LocalPlatform

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "apps" / "multi_function"

SCRIPT = textwrap.dedent(
    """
    import json, statistics, sys, time
    t0 = time.perf_counter()
    import inferencesh
    from inferencesh import inference
    imported = time.perf_counter() - t0
    base_url, api_key, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = inference(api_key=api_key, base_url=base_url)
    params = {"app": "local/multi-function", "input": {"name": "bench"}}

    def measure(**kw):
        for _ in range(10):
            client.run(params, **kw)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            client.run(params, **kw)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        return {"median": statistics.median(samples), "p90": samples[int(len(samples) * 0.9)],
                "mean": statistics.fmean(samples)}

    print(json.dumps({"version": inferencesh.__version__, "import_ms": imported * 1000,
                      "wait": measure(), "create": measure(wait=False)}))
    """
)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "latency.py"
        script.write_text(SCRIPT)
        with LocalPlatform([APP], data_dir=tmp / "data", args=["--warm"]) as platform:
            results = {}
            cpu: dict[str, float] = {}
            assert platform.process is not None
            for label, python in (
                ("ours", Path(sys.executable)),
                ("published", published_python()),
            ):
                before = _cpu_seconds(platform.process.pid)
                proc = subprocess.run(
                    [str(python), str(script), platform.base_url, platform.api_key, str(args.runs)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tmp,
                )
                results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
                tasks = 2 * (args.runs + 10)  # both phases, with their warm-up runs
                cpu[label] = (_cpu_seconds(platform.process.pid) - before) * 1000 / tasks
    ours, theirs = results["ours"], results["published"]
    print(f"task round trip on a warm trivial app, {args.runs} sequential runs (ms)")
    print(
        f"{'':>22} {'ours ' + ours['version']:>14} {'published ' + theirs['version']:>18} {'ours/published':>15}"
    )
    for mode in ("wait", "create"):
        for stat in ("median", "p90", "mean"):
            a, b = ours[mode][stat], theirs[mode][stat]
            print(f"{mode + ' ' + stat:>22} {a:>14.2f} {b:>18.2f} {a / b:>15.2f}")
    a, b = ours["import_ms"], theirs["import_ms"]
    print(f"{'import inferencesh':>22} {a:>14.1f} {b:>18.1f} {a / b:>15.2f}")
    a, b = cpu["ours"], cpu["published"]
    print(f"{'server CPU per task':>22} {a:>14.2f} {b:>18.2f} {a / b:>15.2f}")


if __name__ == "__main__":
    main()

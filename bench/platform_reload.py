"""What noticing code edits costs ``inferencesh dev``: the source scan alone, and a warm task's
round trip with reload on (the default) versus ``--no-reload``, side by side.

    .venv/bin/python bench/platform_reload.py [--runs 300]

The app is a trivial one padded to about 200 source files (10 packages of 19 modules); a second
scan figure adds a 20 000-file data folder inside the app, which the scan's bound cuts short.
Target: a warm task with reload on within 1.05x of one without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.sources import CodeWatch, fingerprint

APP = """\
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput


class AppInput(BaseAppInput):
    text: str = ""


class AppOutput(BaseAppOutput):
    text: str


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(text=input_data.text)
"""


def make_app(root: Path) -> Path:
    app = root / "padded"
    app.mkdir()
    (app / "inference.py").write_text(APP)
    (app / "inf.yml").write_text("name: padded\n")
    for package in range(10):
        folder = app / f"pkg{package}"
        folder.mkdir()
        for module in range(19):
            (folder / f"mod{module}.py").write_text("VALUE = 1\n")
    return app


def scan_seconds(app: Path, rounds: int = 300) -> float:
    best = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fingerprint(app)
        best.append((time.perf_counter() - started) / rounds)
    return min(best)


def task_ms(app: Path, data_dir: Path, runs: int, args: list[str]) -> list[float]:
    with LocalPlatform([app], data_dir=data_dir, args=args) as platform:
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        body = {"app": "local/padded", "input": {"text": "x"}, "wait": True}
        with httpx.Client(base_url=platform.base_url, headers=headers, trust_env=False) as http:
            for _ in range(20):
                http.post("/apps/run", json=body).raise_for_status()
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                http.post("/apps/run", json=body).raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = make_app(root)
        files = len(fingerprint(app)[0])
        small = scan_seconds(app)
        print(
            f"scan of {files} source files: {small * 1e6:.0f} us; "
            f"rescanned at most every {min(CodeWatch.MAX_INTERVAL, small * CodeWatch.SPACING) * 1000:.0f} ms"
        )
        on, off = [], []
        for round_ in range(3):  # alternate, so drift hits both sides alike
            on += task_ms(app, root / f"on{round_}", args.runs, [])
            off += task_ms(app, root / f"off{round_}", args.runs, ["--no-reload"])
        m_on, m_off = statistics.median(on), statistics.median(off)
        print(
            f"warm task, median of {len(on)}: reload {m_on:.2f} ms, --no-reload {m_off:.2f} ms, "
            f"ratio {m_on / m_off:.3f} (target <= 1.05)"
        )
        data = app / "data"
        data.mkdir()
        for index in range(20_000):
            (data / f"{index}.npy").write_bytes(b"")
        large = scan_seconds(app, rounds=30)
        print(
            f"scan with a 20 000-file data folder in the app: {large * 1e6:.0f} us "
            f"(bounded: {fingerprint(app)[1]}); rescanned at most every "
            f"{min(CodeWatch.MAX_INTERVAL, large * CodeWatch.SPACING) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())

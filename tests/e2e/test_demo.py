"""The README's main job runs as written: the demo drives a real app through the local platform."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "output: {'result': 'modern: A sunset over mountains', 'model_id': 'gpt2'}" in out
    assert "log:    Processing..." in out
    assert "finished: completed {'result': 'modern: Later'" in out

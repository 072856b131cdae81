"""Bugs found reviewing the worker, each pinned by a test on a real worker process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

APP = """
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    text: str = ""

class AppOutput(BaseAppOutput):
    text: str

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(text=input_data.text)
"""


def start_worker(app: Path, ready: Path) -> subprocess.CompletedProcess[str]:
    """Run the worker over ``app`` the way the platform starts it, until it exits."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "inferencesh.apps.worker"),
            *("--app-dir", str(app), "--ready-file", str(ready)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (b"name: caf\xe9\n", "cannot be read as UTF-8"),
        (b"name: [unclosed\n", "is not valid YAML"),
    ],
)
def test_an_unreadable_inf_yml_exits_1_naming_the_file_without_a_traceback(
    tmp_path: Path, manifest: bytes, problem: str
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "inference.py").write_text(APP)
    (app / "inf.yml").write_bytes(manifest)
    ready = tmp_path / "ready.json"
    proc = start_worker(app, ready)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {app / 'inf.yml'} {problem}"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not ready.exists()

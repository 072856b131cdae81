"""The data directory is its owner's alone and one server's at a time (issue 16, items 7
and 13): 0700 with 0600 files (the log holding the key included), and a second
``inferencesh dev`` on it refuses to start, leaving the first one's sessions alone."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import api_client, data, write_app

OUTPUT_APP = """
import tempfile
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File

class AppOutput(BaseAppOutput):
    out: File

class App(BaseApp):
    async def run(self, input_data: BaseAppInput) -> AppOutput:
        path = tempfile.mktemp(suffix=".txt")
        open(path, "w").write("made")
        return AppOutput(out=File(path=path))
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> LocalPlatform:
    root = tmp_path_factory.mktemp("datadir")
    app = write_app(root / "apps", "out", OUTPUT_APP)
    server = LocalPlatform([app], data_dir=root / "data").start()
    yield server
    server.stop()


def test_the_data_dir_and_its_files_are_private(platform: LocalPlatform) -> None:
    with api_client(platform) as http:
        task = data(http.post("/apps/run", json={"app": "local/out", "input": {}, "wait": True}))
        assert task["status"] == 10, task
        (record,) = data(http.post("/files", json={"files": [{"filename": "a.txt", "size": 1}]}))
        assert http.put(record["upload_url"], content=b"x").status_code == 200
    root = platform.data_dir
    assert mode(root) == 0o700
    for name in ("platform.db", "api_key", "server.log", "lock"):
        assert mode(root / name) == 0o600, name
    files = root / "files"
    assert mode(files) == 0o700
    stored = [p for p in files.iterdir() if p.is_file()]
    assert len(stored) >= 2  # the output and the upload
    assert all(mode(p) == 0o600 for p in stored)


def test_a_second_server_on_the_same_data_dir_refuses_to_start(platform: LocalPlatform) -> None:
    with api_client(platform) as http:
        session = data(
            http.post(
                "/apps/run", json={"app": "local/out", "input": {}, "session": "new", "wait": True}
            )
        )
        session_id = session["session_id"]
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "inferencesh",
                "dev",
                str(platform.app_dirs[0]),
                "--port",
                "0",
                "--data-dir",
                str(platform.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "already uses the data directory" in second.stderr
        assert str(platform.process.pid) in second.stderr
        # The first server's session is untouched.
        info = data(http.get(f"/sessions/{session_id}"))
        assert info["status"] == "active", info
        assert data(http.get("/health"))["status"] == "ok"

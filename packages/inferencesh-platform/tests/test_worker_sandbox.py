"""Workers (issue 16, items 2 and 3): they die with their server even when their app blocks its
event loop or ignores SIGTERM, a restart kills what a previous server left running, and app
code gets neither the data directory's path nor the key; run as root, workers run as an
unprivileged user that cannot read the data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import api_client, data, write_app

BLOCKER = """
import os, signal, subprocess, time
from pathlib import Path
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    pids: str
    how: str = "block"

class App(BaseApp):
    async def run(self, input_data: AppInput) -> BaseAppOutput:
        child = subprocess.Popen(["sleep", "600"])
        Path(input_data.pids).write_text(f"{os.getpid()} {child.pid}")
        if input_data.how == "ignore":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
        time.sleep(600)  # sync sleep inside async def: the event loop is blocked
        return BaseAppOutput()
"""

SNOOP = """
import os
from pathlib import Path
from typing import Any
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    secret_parts: list[str] = []

class AppOutput(BaseAppOutput):
    report: Any

def _read(path):
    try:
        return Path(path).read_bytes()[:40].decode(errors="replace")
    except OSError as exc:
        return type(exc).__name__

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        data_dir = "/".join(input_data.secret_parts)
        return AppOutput(report={
            "uid": os.getuid(),
            "argv": Path("/proc/self/cmdline").read_bytes().decode(errors="replace"),
            "environ": Path("/proc/self/environ").read_bytes().decode(errors="replace"),
            "tmpdir": os.environ.get("TMPDIR"),
            "cwd": os.getcwd(),
            "key": _read(data_dir + "/api_key"),
            "db": _read(data_dir + "/platform.db"),
        })
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_dead(pids: list[int], timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def read_pids(path: Path, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.05)
    raise AssertionError("the app never started")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process checks")
def test_workers_die_with_a_killed_server_whatever_their_app_does(tmp_path: Path) -> None:
    app = write_app(tmp_path / "apps", "blocker", BLOCKER)
    server = LocalPlatform([app], data_dir=tmp_path / "data", args=["--concurrency", "2"]).start()
    try:
        with api_client(server) as http:
            for how in ("block", "ignore"):
                http.post(
                    "/apps/run",
                    json={
                        "app": "local/blocker",
                        "input": {"pids": str(tmp_path / how), "how": how},
                    },
                )
        pids = read_pids(tmp_path / "block") + read_pids(tmp_path / "ignore")
        assert all(alive(p) for p in pids)
        server.stop(kill=True)  # SIGKILL: no shutdown code runs
        assert wait_dead(pids) == [], "workers or their children outlived the server"
    finally:
        server.stop(kill=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process checks")
def test_a_restart_kills_what_a_previous_server_left_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "workers").mkdir(parents=True)
    # A worker the previous server left behind (its ties to it failed): in its own group.
    leftover = subprocess.Popen(["sleep", "600"], start_new_session=True)
    started = Path(f"/proc/{leftover.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    home = Path(tempfile.mkdtemp(prefix="inferencesh-wrk_old-"))
    (data_dir / "workers" / "wrk_old.pid").write_text(f"{leftover.pid} {started} {home}\n")
    app = write_app(tmp_path / "apps", "snoop", SNOOP)
    with LocalPlatform([app], data_dir=data_dir):
        assert leftover.wait(10) == -signal.SIGKILL
        assert not home.exists()
        assert not (data_dir / "workers" / "wrk_old.pid").exists()


def snoop(server: LocalPlatform) -> dict:
    parts = str(server.data_dir).split("/")
    with api_client(server) as http:
        task = data(
            http.post(
                "/apps/run",
                json={"app": "local/snoop", "input": {"secret_parts": parts}, "wait": True},
            )
        )
    assert task["status"] == 10, task
    return task["output"]["report"]


def test_app_code_gets_no_data_dir_path_or_key(tmp_path: Path) -> None:
    app = write_app(tmp_path / "apps", "snoop", SNOOP)
    with LocalPlatform([app], data_dir=tmp_path / "data") as server:
        report = snoop(server)
    data_dir = str(server.data_dir)
    assert data_dir not in report["argv"] and data_dir not in report["environ"]
    assert server.api_key not in report["environ"]
    # Its own temp dir, not the shared /tmp nor anything under the data dir.
    assert report["tmpdir"].startswith(tempfile.gettempdir() + "/inferencesh-wrk_")
    assert report["cwd"] == str(app)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_as_root_workers_run_unprivileged_and_cannot_read_the_data_dir(tmp_path: Path) -> None:
    apps = Path(tempfile.mkdtemp(prefix="inferencesh-apps-"))
    try:
        apps.chmod(0o755)
        app = write_app(apps, "snoop", SNOOP)
        for path in (app, *app.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        with LocalPlatform(
            [app], data_dir=tmp_path / "data", args=["--worker-user", "nobody"]
        ) as server:
            report = snoop(server)
        assert report["uid"] != 0
        assert report["key"] == "PermissionError" and report["db"] == "PermissionError"
    finally:
        subprocess.run(["rm", "-rf", str(apps)], check=False)

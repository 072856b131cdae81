"""A full disk (issue 16, item 1), on a real small tmpfs holding the data directory: the task
whose last write the disk refused ends failed with "disk full" everywhere (its reply, the list,
the database, after a restart), never half-updated or stuck; other requests say the disk is
full. Needs root (to mount the tmpfs); skipped otherwise."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import api_client, data, wait_status, write_app

HOLD_APP = """
import asyncio
from pathlib import Path
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    hold: str

class AppOutput(BaseAppOutput):
    text: str

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        while not Path(input_data.hold).exists():
            await asyncio.sleep(0.02)
        return AppOutput(text="x" * 200_000)
"""

RUNNING, COMPLETED, FAILED = 7, 10, 11


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Fill the disk holding ``directory`` up to its last byte; returns the filler file."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    return filler


def test_a_full_disk_ends_the_task_failed_and_says_so(small_disk: Path, tmp_path: Path) -> None:
    app = write_app(tmp_path / "apps", "hold", HOLD_APP)
    allow = ["--allow-path", str(tmp_path)]  # the hold file, named by the inputs
    server = LocalPlatform([app], data_dir=small_disk / "data", args=allow).start()
    release = tmp_path / "release"
    try:
        with api_client(server) as http:
            task = data(
                http.post("/apps/run", json={"app": "local/hold", "input": {"hold": str(release)}})
            )
            wait_status(http, task["id"], {RUNNING})
            filler = fill(small_disk / "data")
            release.write_text("go")
            ended = wait_status(http, task["id"], {COMPLETED, FAILED})
            assert ended["status"] == FAILED, ended
            assert ended["error"].startswith("disk full"), ended["error"]
            listed = data(http.post("/tasks/list", json={}))["items"]
            assert [t["status"] for t in listed if t["id"] == task["id"]] == [FAILED]
            # Not stuck: its stream ends, its record can be deleted once there is room.
            stream = http.get(f"/tasks/{task['id']}/stream", timeout=10)
            assert stream.status_code == 200 and '"status":11' in stream.text
            # Other requests on the full disk say so.
            reply = http.post("/files", json={"files": [{"filename": "a.txt", "size": 5}]})
            if reply.status_code == 200:
                (record,) = reply.json()["data"]
                reply = httpx.put(record["upload_url"], content=b"x" * 4_000_000, trust_env=False)
            assert reply.status_code == 507, reply.text
            assert reply.json()["error"]["code"] == "disk_full"
            assert "disk full" in reply.json()["error"]["message"]
            assert reply.headers["x-should-retry"] == "false"
            filler.unlink()
            second = data(
                http.post(
                    "/apps/run",
                    json={"app": "local/hold", "input": {"hold": str(release)}, "wait": True},
                )
            )
            assert second["status"] == COMPLETED, second  # space again: work goes on
        server.stop()
        server.start()
        with api_client(server) as http:
            after = data(http.get(f"/tasks/{task['id']}"))
            assert after["status"] == FAILED and after["error"].startswith("disk full"), after
            assert http.delete(f"/tasks/{task['id']}").status_code == 204
    finally:
        server.stop()

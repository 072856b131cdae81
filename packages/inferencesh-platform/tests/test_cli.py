"""``inferencesh dev`` as a command: bad options and a broken ``inf.yml`` stop the start naming
what is wrong, a stop says what each unfinished task was doing, and a restart after a kill
clears what the killed server left behind."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_apps import STUCK_APP
from platform_testkit import data, run, wait_status, write_app

ROOT = Path(__file__).resolve().parents[3]


EXAMPLES = ROOT / "examples" / "apps"


# --- shutdown says what each unfinished task was doing ----------------------------------------


def test_stop_says_a_queued_task_was_queued(tmp_path: Path) -> None:
    platform = LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path, args=["--concurrency", "1"])
    with platform:
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        with httpx.Client(
            base_url=platform.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            running = run(client, "local/slow", {"seconds": 60})
            queued = run(client, "local/slow", {"seconds": 60})
            wait_status(client, running["id"], {7})
            assert data(client.get(f"/tasks/{queued['id']}/status"))["status"] == 2
    with LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path) as again:
        headers = {"Authorization": f"Bearer {again.api_key}"}
        with httpx.Client(
            base_url=again.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            was_running = data(client.get(f"/tasks/{running['id']}"))
            was_queued = data(client.get(f"/tasks/{queued['id']}"))
    assert was_running["status"] == 11
    assert "shut down while this task was running" in was_running["error"]
    assert was_queued["status"] == 11
    assert "shut down while this task was queued" in was_queued["error"], was_queued["error"]


# --- bad options stop `inferencesh dev` with the option named, never a traceback -------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--heartbeat", "0", "argument --heartbeat: must be a number greater than 0"),
        ("--hang-timeout", "-1", "argument --hang-timeout: must be a number greater than 0"),
        ("--port", "99999", "argument --port: must be a port number from 0 to 65535"),
    ],
)
def test_bad_dev_options_are_refused_naming_the_option(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "inferencesh", "dev", str(EXAMPLES / "hello")),
            *("--data-dir", str(tmp_path), "--port", "0", option, value),
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_app_with_a_broken_inf_yml_stops_the_start_naming_file_and_line(
    tmp_path: Path,
) -> None:
    app = write_app(tmp_path / "apps", "broken-manifest", STUCK_APP)
    (app / "inf.yml").write_text("name: broken-manifest\nsecrets: [\n")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "inferencesh", "dev", str(app)),
            *("--data-dir", str(tmp_path / "data"), "--port", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"error: {app / 'inf.yml'}:3: not valid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- a killed server's leftovers are cleared at the next start --------------------------------


def test_a_restart_clears_partial_uploads_and_worker_files_of_a_killed_server(
    tmp_path: Path,
) -> None:
    first = LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path)
    with first:
        headers = {"Authorization": f"Bearer {first.api_key}"}
        with httpx.Client(
            base_url=first.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            running = run(client, "local/slow", {"seconds": 60})
            wait_status(client, running["id"], {7})
            record = data(client.post("/files", json={"files": [{"filename": "big.bin"}]}))[0]
            incoming = tmp_path / "files" / ".incoming"

            def body() -> Iterator[bytes]:
                yield b"x" * 65536
                deadline = time.monotonic() + 10  # the server is killed meanwhile
                while not any(incoming.iterdir()) and time.monotonic() < deadline:
                    time.sleep(0.02)
                first.stop(kill=True)
                yield b"y"

            with pytest.raises(httpx.HTTPError):
                httpx.put(record["upload_url"], content=body(), trust_env=False, timeout=10)
    assert any(incoming.iterdir())  # the half-written upload
    assert list((tmp_path / "workers").glob("*.log"))  # the killed server's worker
    with LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path):
        assert not any(incoming.iterdir())
        assert not list((tmp_path / "workers").iterdir())

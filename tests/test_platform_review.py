"""Bugs found reviewing the local platform, each pinned by a test over a real `inferencesh dev`
process and real worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import api_client, data, run, wait_status, write_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "apps"

# A sync `run` stuck in native code (`time.sleep`), which a cancel cannot interrupt.
STUCK_APP = """
import os, time
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    seconds: float = 0

class AppOutput(BaseAppOutput):
    slept: float
    pid: int

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        time.sleep(input_data.seconds)
        return AppOutput(slept=input_data.seconds, pid=os.getpid())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    extra = tmp_path_factory.mktemp("apps")
    write_app(extra, "stuck", STUCK_APP)
    write_app(extra, "unloadable", "def run(:\n")
    platform = LocalPlatform(
        [*(EXAMPLES / name for name in ("hello", "setup_config", "failing", "slow")), extra],
        data_dir=tmp_path_factory.mktemp("data"),
        args=["--concurrency", "1", "--heartbeat", "0.2", "--cancel-timeout", "1"],
    )
    with platform:
        yield platform


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


# --- a cancelled call that outlives its cancel never reaches the next task -------------------


def test_a_worker_still_busy_after_a_cancel_is_not_handed_the_next_task(
    http: httpx.Client,
) -> None:
    # The worker gives up waiting for the stuck call after its own 10 s grace and reports the
    # run cancelled while still busy; the cancel's longer grace (11 s) has not run out yet.
    stuck = run(http, "local/stuck", {"seconds": 60})
    wait_status(http, stuck["id"], {7})
    data(http.post(f"/tasks/{stuck['id']}/cancel", json={"timeout": 11_000}))
    final = wait_status(http, stuck["id"], {10, 11, 12}, timeout=30)
    assert final["status"] == 12
    after = run(http, "local/stuck", {"seconds": 0}, wait=True)
    assert after["status"] == 10, after.get("error")
    assert after["worker_id"] != final["worker_id"]  # the busy one was killed and replaced


# --- a cancel that reaches the worker before the run does is not lost ------------------------


def test_a_cancel_right_after_dispatch_reaches_the_app(http: httpx.Client) -> None:
    # A large input keeps the run's request on its way to the worker for a while; a cancel sent
    # meanwhile finds nothing to cancel there. It must still stop the run gracefully (on_cancel,
    # worker kept), not leave it running until the grace period ends and the worker is killed.
    warm = run(http, "local/slow", {"seconds": 0}, wait=True)
    pad = "x" * 3_000_000
    for _ in range(6):
        task = run(http, "local/slow", {"seconds": 30, "pad": pad})
        data(http.post(f"/tasks/{task['id']}/cancel"))
        final = wait_status(http, task["id"], {10, 11, 12})
        assert final["status"] == 12
        # Lost, the cancel would end in a kill at the grace period, on_cancel never called.
        assert "cancel requested" in str(final["logs"]), "on_cancel never ran"
    after = run(http, "local/slow", {"seconds": 0}, wait=True)
    assert after["worker_id"] == warm["worker_id"], "a worker was killed"


# --- a worker that dies while idle gives its place back ---------------------------------------


def kill_and_wait(pid: int) -> None:
    """SIGKILL a worker process and wait until the platform (its parent) has reaped it."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)  # a zombie still answers until its parent reaps it
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"worker {pid} was not reaped")


def test_a_worker_that_dies_while_idle_does_not_keep_its_slot(http: httpx.Client) -> None:
    # Concurrency 1: the dead worker's slot is the only one; kept, every later task waits forever.
    first = run(http, "local/stuck", {}, wait=True)
    assert first["status"] == 10
    kill_and_wait(first["output"]["pid"])
    after = data(
        http.post("/apps/run", json={"app": "local/stuck", "input": {}, "wait": True}, timeout=20)
    )
    assert after["status"] == 10, after.get("error")
    assert after["output"]["pid"] != first["output"]["pid"]
    health = data(http.get("/health"))["apps"]["stuck"]
    assert health == {"workers": 1, "queued": 0}


def test_a_session_whose_worker_died_while_idle_is_ended_with_the_reason(
    http: httpx.Client,
) -> None:
    first = run(http, "local/stuck", {}, session="new", wait=True)
    assert first["status"] == 10
    session_id = first["session_id"]
    kill_and_wait(first["output"]["pid"])
    again = run(http, "local/stuck", {}, session=session_id, wait=True)
    assert again["status"] == 11 and "worker was lost" in again["error"]
    session = data(http.get(f"/sessions/{session_id}"))
    assert session["status"] == "ended" and session["ended_at"], session
    gone = http.post("/apps/run", json={"app": "local/stuck", "input": {}, "session": session_id})
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "SESSION_ENDED"
    assert "worker lost: the worker process was killed by SIGKILL" in gone.json()["message"]


# --- error messages say what went wrong once, and about the right thing ----------------------


def test_validation_and_setup_errors_are_not_labelled_twice_or_wrongly(http: httpx.Client) -> None:
    bad_input = run(http, "local/hello", {"prompt": 5}, wait=True)
    assert bad_input["status"] == 11
    assert bad_input["error"].startswith("invalid input: prompt: "), bad_input["error"]
    assert bad_input["error"].count("invalid input") == 1

    bad_setup = run(http, "local/setup-config", {}, setup={"precision": "int3"}, wait=True)
    assert bad_setup["status"] == 11
    assert bad_setup["error"].startswith("invalid setup: precision: "), bad_setup["error"]

    failed_setup = run(
        http, "local/failing", {"fail": False}, setup={"fail_setup": True}, wait=True
    )
    assert failed_setup["status"] == 11
    assert failed_setup["error"].count("setup failed") == 1, failed_setup["error"]
    assert "setup was told to fail" in failed_setup["error"]

    unknown = run(http, "local/hello", {}, function="nope", wait=True)
    assert unknown["status"] == 11 and "'nope' not found" in unknown["error"]


# --- failures leave nothing behind ----------------------------------------------------------


def test_workers_that_fail_to_start_leave_no_log_files(
    http: httpx.Client, server: LocalPlatform
) -> None:
    logs = server.data_dir / "workers"
    before = set(logs.glob("*.log")) if logs.is_dir() else set()
    for _ in range(2):
        task = run(http, "local/unloadable", {}, wait=True)
        assert task["status"] == 11 and "exited with code 1" in task["error"]
    assert set(logs.glob("*.log")) <= before


# --- bad paging parameters are refused, not replaced ------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"limit": 0}, "`limit` must be 1..500 and `offset` at least 0, got limit 0, offset 0"),
        ({"limit": 501}, "`limit` must be 1..500"),
        ({"offset": -1}, "got limit 50, offset -1"),
        ({"limit": True}, "`limit` must be an integer, got True"),
        ({"offset": 2.5}, "`offset` must be an integer, got 2.5"),
        ({"limit": "ten"}, "`limit` must be an integer, got 'ten'"),
        ({"offset": "--5"}, "`offset` must be an integer, got '--5'"),
    ],
)
def test_bad_paging_is_a_400_in_both_envelopes(
    http: httpx.Client, body: dict[str, Any], message: str
) -> None:
    response = http.post("/tasks/list", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    v2 = http.post("/files/list", json=body, headers={"X-API-Version": "2"})
    assert v2.status_code == 400
    assert v2.headers["content-type"].startswith("application/problem+json")
    assert message in v2.json()["detail"]
    listed = data(http.post("/tasks/list?limit=1&offset=0", json={}))
    assert listed["items_per_page"] == 1


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

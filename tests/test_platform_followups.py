"""Follow-ups from the local platform review, each pinned by a test over a real `inferencesh dev`
process and real worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inferencesh.platform.config import PlatformConfig
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.server import Platform
from platform_testkit import api_client, data, run, wait_status, write_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "apps"

# Records the body of every `POST /cancel` its worker receives and reports them on request.
# The worker runs as `python -m inferencesh.apps.worker`, so its module is `__main__`; the app
# is imported before the worker builds its HTTP app, which lets it wrap that app.
RECORDER_APP = """
import asyncio, json, sys
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

_worker = sys.modules["__main__"]
_make_app = _worker.create_worker_app
CANCELS = []


def _recording(runner, *, shutdown):
    app = _make_app(runner, shutdown=shutdown)

    async def asgi(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/cancel":
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        CANCELS.append(json.loads(body) if body.strip() else None)
        replayed = []

        async def replay():
            if not replayed:
                replayed.append(True)
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await app(scope, replay, send)

    return asgi


_worker.create_worker_app = _recording


class AppInput(BaseAppInput):
    seconds: float = 0


class AppOutput(BaseAppOutput):
    cancels: list


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        await asyncio.sleep(input_data.seconds)
        return AppOutput(cancels=CANCELS)
"""

# Cuts every TCP connection of its worker (the listening socket stays): the process lives on
# and answers new requests, but the run's stream to the platform is broken mid-way.
SEVER_APP = """
import os, socket, stat
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    sever: bool = False

class AppOutput(BaseAppOutput):
    pid: int

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        if input_data.sever:
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                try:
                    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                        continue
                    sock = socket.socket(fileno=os.dup(fd))
                except OSError:
                    continue
                try:
                    sock.getpeername()  # connected: not the listening socket
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    sock.close()
        return AppOutput(pid=os.getpid())
"""

# Returns two output files; the second does not exist, so storing it fails.
TWO_FILES_APP = """
import tempfile
from pathlib import Path
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    pass

class AppOutput(BaseAppOutput):
    first: dict
    second: dict

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        folder = Path(tempfile.mkdtemp())
        (folder / "first.txt").write_text("stored first")
        return AppOutput(
            first={"path": str(folder / "first.txt")},
            second={"path": str(folder / "missing.txt")},
        )
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    extra = tmp_path_factory.mktemp("apps")
    write_app(extra, "recorder", RECORDER_APP)
    write_app(extra, "sever", SEVER_APP)
    write_app(extra, "two-files", TWO_FILES_APP)
    platform = LocalPlatform(
        [EXAMPLES / "slow", extra],
        data_dir=tmp_path_factory.mktemp("data"),
        args=["--concurrency", "1", "--heartbeat", "0.2", "--cancel-timeout", "5"],
    )
    with platform:
        yield platform


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Whether process ``pid`` is gone (and reaped by the platform) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


# --- 1. a cancel names the run it means ------------------------------------------------------


def test_the_platform_names_the_task_in_every_cancel_it_sends(http: httpx.Client) -> None:
    task = run(http, "local/recorder", {"seconds": 30})
    wait_status(http, task["id"], {7})
    data(http.post(f"/tasks/{task['id']}/cancel"))
    final = wait_status(http, task["id"], {10, 11, 12})
    assert final["status"] == 12
    report = run(http, "local/recorder", {}, wait=True)
    assert report["worker_id"] == final["worker_id"]  # a graceful cancel: the worker was kept
    cancels = report["output"]["cancels"]
    assert cancels, "no cancel reached the worker"
    assert cancels == [{"task_id": task["id"]}] * len(cancels)


# --- 2. a worker whose connection failed is never handed out again ---------------------------


def test_a_worker_whose_connection_failed_is_killed_and_replaced(http: httpx.Client) -> None:
    first = run(http, "local/sever", {}, wait=True)
    assert first["status"] == 10
    cut = run(http, "local/sever", {"sever": True}, wait=True)
    assert cut["status"] == 11
    assert cut["worker_id"] == first["worker_id"]
    assert "worker lost: the worker connection failed" in cut["error"], cut["error"]
    assert "it was killed" in cut["error"], cut["error"]
    assert wait_gone(first["output"]["pid"]), "the worker in an unknown state was kept"
    after = run(http, "local/sever", {}, wait=True)
    assert after["status"] == 10, after.get("error")
    assert after["worker_id"] != first["worker_id"]
    assert after["output"]["pid"] != first["output"]["pid"]
    assert data(http.get("/health"))["apps"]["sever"] == {"workers": 1, "queued": 0}


def test_a_session_whose_worker_connection_failed_is_ended_with_the_reason(
    http: httpx.Client,
) -> None:
    first = run(http, "local/sever", {}, session="new", wait=True)
    session_id = first["session_id"]
    cut = run(http, "local/sever", {"sever": True}, session=session_id, wait=True)
    assert cut["status"] == 11 and "the worker connection failed" in cut["error"]
    assert wait_gone(first["output"]["pid"])
    session = data(http.get(f"/sessions/{session_id}"))
    assert session["status"] == "ended", session
    gone = http.post("/apps/run", json={"app": "local/sever", "input": {}, "session": session_id})
    assert gone.status_code == 410


# --- 3. output files are stored all or nothing ------------------------------------------------


def stored_files(server: LocalPlatform, http: httpx.Client) -> tuple[set[str], set[str]]:
    root = server.data_dir / "files"
    on_disk = {p.name for p in root.iterdir() if p.is_file()} if root.is_dir() else set()
    listed = data(http.post("/files/list", json={"limit": 500}))
    return on_disk, {item["id"] for item in listed["items"]}


def test_an_output_naming_a_missing_file_stores_nothing(
    server: LocalPlatform, http: httpx.Client
) -> None:
    # End to end the runtime now refuses the output before the platform stores anything; the
    # platform's own roll-back is checked in process below.
    disk_before, records_before = stored_files(server, http)
    task = run(http, "local/two-files", {}, wait=True)
    assert task["status"] == 11
    assert "the app returned a file that does not exist" in task["error"]
    assert "missing.txt" in task["error"]
    disk_after, records_after = stored_files(server, http)
    assert disk_after == disk_before, "a stored output file was left behind"
    assert records_after == records_before, "a file record was left behind"


async def test_the_platform_removes_files_it_stored_before_one_that_fails(
    tmp_path: Path,
) -> None:
    # An output that reached the platform (from any worker, not only this runtime) with one
    # file that cannot be stored: the files stored before it are removed again.
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", apps=[]))
    first = tmp_path / "first.txt"
    first.write_text("stored first")
    output = {
        "first": {"path": str(first)},
        "second": {"path": str(tmp_path / "missing.txt")},
    }
    with pytest.raises(PlatformError, match="does not exist"):
        await platform.tasks._store_outputs(output)
    storage = tmp_path / "data" / "files"
    assert [p for p in storage.iterdir() if p.is_file()] == []
    assert platform.store.list_files(limit=10) == []
    assert await platform.tasks._store_outputs({"only": {"path": str(first)}})  # still works
    assert len(platform.store.list_files(limit=10)) == 1


# --- 4. a call cut short by ending its session says why ---------------------------------------


def test_a_call_running_when_its_session_is_deleted_is_cancelled_with_a_reason(
    http: httpx.Client,
) -> None:
    task = run(http, "local/slow", {"seconds": 30}, session="new")
    wait_status(http, task["id"], {7})
    assert http.delete(f"/sessions/{task['session_id']}").status_code < 300
    final = wait_status(http, task["id"], {10, 11, 12})
    assert final["status"] == 12
    assert final.get("error") == "the session was ended while this call ran", final.get("error")

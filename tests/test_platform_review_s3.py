"""Review of the local platform's task files routes and its code reload: each test pins a bug
found (or a race checked) over a real ``inferencesh dev`` process and real worker processes on
127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.config import PlatformConfig, load_app
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.pool import AppPool
from inferencesh.platform.sources import CodeWatch, fingerprint
from inferencesh.platform.workers import WorkerError
from platform_testkit import api_client, data, run, wait_status, write_app

COMPLETED, FAILED, RUNNING = 10, 11, 7
V2 = {"X-API-Version": "2"}

# Echoes its input into its output (so every file it is given is both read and written),
# with its code's VERSION and its worker's pid; with `hold`, waits until that file exists.
# Its `unload` takes UNLOAD seconds and then leaves a marker naming its pid.
SOURCE = """\
import asyncio
import os
from pathlib import Path
from typing import Any

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

VERSION = "{version}"
UNLOAD = {unload}


class AppInput(BaseAppInput):
    hold: str = ""
    refs: Any = None


class AppOutput(BaseAppOutput):
    version: str
    pid: int
    echo: Any = None


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        while input_data.hold and not Path(input_data.hold).exists():
            await asyncio.sleep(0.02)
        return AppOutput(version=VERSION, pid=os.getpid(), echo=input_data.refs)

    async def unload(self) -> None:
        await asyncio.sleep(UNLOAD)
        Path(__file__).with_name(f"unloaded-{{os.getpid()}}").write_text("done")
"""


def source(version: str, unload: float = 0.0) -> str:
    return SOURCE.format(version=version, unload=unload)


def edit(path: Path, text: str) -> None:
    """Save ``text`` so the stat shows it, then wait the longest the server waits to look."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
    time.sleep(CodeWatch.MAX_INTERVAL)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("s3-apps")
    for name in ("echo", "queue", "waiting"):
        write_app(root, name, source("v1"))
    return root


@pytest.fixture(scope="module")
def server(apps: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    with LocalPlatform(
        [apps / "echo", apps / "queue", apps / "waiting"],
        data_dir=tmp_path_factory.mktemp("s3-data"),
        args=["--concurrency", "1"],
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def uploaded(http: httpx.Client, *names: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = data(
        http.post("/files", json={"files": [{"filename": n, "size": 2} for n in names]})
    )
    for record in records:
        assert http.put(record["upload_url"], content=b"hi").status_code == 200
    return records


# -- task files ---------------------------------------------------------------------------------


def test_a_file_that_cannot_be_deleted_keeps_its_record_and_its_task(
    server: LocalPlatform, http: httpx.Client
) -> None:
    # Bug: the record was deleted before the bytes; a disk error then left bytes no request
    # could reach (the file vanished from every listing), and `DELETE ?files=true` failed
    # with a bare "internal error: IsADirectoryError" naming nothing.
    first, second = uploaded(http, "a.txt", "b.txt")
    refs = {"nested": [[first["uri"], 3, None], {"deep": second["uri"]}], "flag": True}
    task = run(http, "local/echo", {"refs": refs}, wait=True)
    assert task["status"] == COMPLETED, task
    blocked = server.data_dir / "files" / second["id"]
    blocked.unlink()
    blocked.mkdir()  # its bytes can no longer be unlinked
    (blocked / "stuck").write_text("x")
    try:
        reply = http.delete(f"/tasks/{task['id']}", params={"files": "true"})
        assert reply.status_code == 500, reply.text
        message = reply.json()["error"]["message"]
        assert f"task {task['id']} was kept" in message
        assert f"file {second['id']}: could not delete its content (Is a directory)" in message
        # A consistent state: the task and the file it could not delete are still there and
        # still linked; the other file is gone.
        assert data(http.get(f"/tasks/{task['id']}"))["id"] == task["id"]
        listed = data(http.get(f"/tasks/{task['id']}/files"))
        assert {(f["role"], f["id"]) for f in listed} == {
            ("input", second["id"]),
            ("output", second["id"]),
        }
        assert http.get(f"/files/{first['id']}").status_code == 404
        assert http.get(f"/files/{second['id']}").status_code == 200
        # The keep-the-task route says the same in its body (v2: bare), listing it once.
        reply = http.delete(f"/tasks/{task['id']}/files", headers=V2)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["deleted"] == []
        assert [s["id"] for s in body["skipped"]] == [second["id"]]
        assert "could not delete its content" in body["skipped"][0]["reason"]
    finally:
        shutil.rmtree(blocked)
    # Once the disk lets it, the same call finishes the job.
    assert http.delete(f"/tasks/{task['id']}?files=true").status_code == 204
    assert http.get(f"/tasks/{task['id']}").status_code == 404
    assert http.get(f"/files/{second['id']}").status_code == 404


def test_task_files_routes_in_both_envelopes_with_clear_errors(
    server: LocalPlatform, http: httpx.Client
) -> None:
    (kept,) = uploaded(http, "c.txt")
    forged = kept["uri"].replace("sig=", "sig=0")
    task = run(http, "local/echo", {"refs": [kept["uri"], forged, {"again": kept["uri"]}]})
    task = wait_status(http, task["id"], {COMPLETED, FAILED})
    assert task["status"] == COMPLETED, task
    # Read and written (echoed): once per role; the forged-signature URL is not this server's.
    reply = http.get(f"/tasks/{task['id']}/files", headers=V2)
    assert reply.status_code == 200
    assert [(f["role"], f["id"]) for f in reply.json()] == [
        ("input", kept["id"]),
        ("output", kept["id"]),
    ]
    assert [f["role"] for f in data(http.get(f"/tasks/{task['id']}/files?role=output"))] == [
        "output"
    ]
    bad_role = http.get(f"/tasks/{task['id']}/files?role=inputs", headers=V2)
    assert bad_role.status_code == 400
    assert bad_role.headers["content-type"].startswith("application/problem+json")
    assert bad_role.json()["detail"] == "`role` must be one of input, output, got 'inputs'"
    for method in ("GET", "DELETE"):
        # Bug: an empty `role` was read as no role, so `DELETE ...?role=` deleted both sides.
        empty = http.request(method, f"/tasks/{task['id']}/files?role=", headers=V2)
        assert empty.status_code == 400
        assert empty.json()["detail"] == "`role` must be one of input, output, got ''"
        missing = http.request(method, "/tasks/nosuchtask/files", headers=V2)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no task 'nosuchtask'"
    bad_flag = http.delete(f"/tasks/{task['id']}?files=yes")
    assert bad_flag.status_code == 400
    assert bad_flag.json()["error"]["message"] == "`files` must be a boolean, got 'yes'"
    assert http.delete(f"/tasks/{task['id']}?files=false").status_code == 204
    assert http.get(f"/files/{kept['id']}").status_code == 200  # the record only went


# -- code reload --------------------------------------------------------------------------------


def test_a_queue_behind_one_worker_crosses_an_edit_without_leaking_a_slot(
    apps: Path, server: LocalPlatform, http: httpx.Client, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    first = run(http, "local/queue", {"hold": str(flag)})
    wait_status(http, first["id"], {RUNNING})
    queued = [run(http, "local/queue", {}) for _ in range(3)]
    edit(apps / "queue" / "inference.py", source("v2"))
    late = run(http, "local/queue", {})  # sees the edit: the running worker is to retire
    assert data(http.get("/health"))["apps"]["queue"] == {"workers": 1, "queued": 4}
    flag.touch()
    done = [wait_status(http, t["id"], {COMPLETED, FAILED}) for t in [first, *queued, late]]
    assert [t["status"] for t in done] == [COMPLETED] * 5, done
    old_pid = done[0]["output"]["pid"]
    assert done[0]["output"]["version"] == "v1"
    # Everything queued ran on one new worker with the new code: no deadlock, no double start.
    assert {(t["output"]["version"], t["output"]["pid"]) for t in done[1:]} == {
        ("v2", done[1]["output"]["pid"])
    }
    # The slot count equals the live workers: the retired one gave its slot back on exit.
    assert data(http.get("/health"))["apps"]["queue"] == {"workers": 1, "queued": 0}
    assert gone(old_pid)


def test_a_task_queued_before_a_save_runs_the_saved_code(
    apps: Path, http: httpx.Client, tmp_path: Path
) -> None:
    # Bug: a worker given back was handed to the next queued task without looking at the
    # sources, so tasks that had queued before a save ran the old code on the warm worker.
    flag = tmp_path / "go"
    first = run(http, "local/waiting", {"hold": str(flag)})
    wait_status(http, first["id"], {RUNNING})
    queued = run(http, "local/waiting", {})
    edit(apps / "waiting" / "inference.py", source("v2"))
    flag.touch()
    done = wait_status(http, queued["id"], {COMPLETED, FAILED})
    assert done["status"] == COMPLETED, done
    held = data(http.get(f"/tasks/{first['id']}"))["output"]
    assert (held["version"], done["output"]["version"]) == ("v1", "v2")
    assert done["output"]["pid"] != held["pid"]


def test_shutdown_awaits_a_worker_still_retiring(tmp_path: Path) -> None:
    app = write_app(tmp_path / "apps", "slowunload", source("v1", unload=3.0))
    platform = LocalPlatform([app], data_dir=tmp_path / "data").start()
    try:
        with api_client(platform) as http:
            old = run(http, "local/slowunload", {}, wait=True)["output"]["pid"]
            edit(app / "inference.py", source("v2", unload=0.0))
            assert run(http, "local/slowunload", {}, wait=True)["output"]["version"] == "v2"
            assert not gone(old)  # still running its 3 s unload
    finally:
        platform.stop()
    # The server waited for its clean exit (unload ran to its end) instead of leaving it to
    # die with the server, or to be orphaned.
    assert (app / f"unloaded-{old}").read_text() == "done"
    assert gone(old)


async def test_a_pool_closed_while_a_worker_starts_hands_out_nothing(tmp_path: Path) -> None:
    # Bug: a worker whose start was under way when the pool closed was handed out afterwards
    # (and then kept idle by a pool nobody stops again): a leaked process.
    slow_import = (
        "import os, pathlib, time\n"
        "pathlib.Path(__file__).with_name('pid').write_text(str(os.getpid()))\n"
        "time.sleep(1)\n"
    )
    app = write_app(tmp_path, "slowstart", slow_import + source("v1"))
    config = PlatformConfig(data_dir=tmp_path / "data", apps=[load_app(app)])
    pool = AppPool(config.apps[0], config, 1)
    starting = asyncio.ensure_future(pool.acquire(""))
    while not (app / "pid").exists():
        await asyncio.sleep(0.02)
    await pool.close()
    with pytest.raises(WorkerError, match="local/slowstart: the local platform is shutting down"):
        await starting
    assert gone(int((app / "pid").read_text()))
    with pytest.raises(WorkerError, match="shutting down"):
        await pool.acquire("")


def test_a_symlink_loop_is_read_once_and_not_taken_for_a_large_folder(tmp_path: Path) -> None:
    # Bug: a link back to the app folder was followed to the depth bound, reading the app up
    # to 8 times (or, with two loops, thousands of entries) and flagging the folder as too
    # large to watch.
    app = write_app(tmp_path, "looped", source("v1"))
    (app / "pkg").mkdir()
    (app / "pkg" / "model.py").write_text("")
    (app / "self").symlink_to(app)
    (app / "pkg" / "up").symlink_to(app)
    (app / "again").symlink_to(app / "pkg")
    found, bounded = fingerprint(app)
    assert not bounded
    assert sorted(path for path, _, _ in found) == ["inf.yml", "inference.py", "pkg/model.py"]


def test_the_data_dir_is_skipped_by_whatever_path_the_scan_reaches_it(tmp_path: Path) -> None:
    # Bug: the data dir was skipped only by its exact path; reached through a link (the
    # server resolves `--data-dir`), its files were read and spent the bounds.
    app = write_app(tmp_path, "linked", source("v1"))
    outside = tmp_path / "data"
    (outside / "files").mkdir(parents=True)
    for index in range(1100):
        (outside / "files" / f"{index}.py").write_text("")
    (app / "data").symlink_to(outside)
    found, bounded = fingerprint(app, skip=outside.resolve())
    assert not bounded
    assert sorted(path for path, _, _ in found) == ["inf.yml", "inference.py"]

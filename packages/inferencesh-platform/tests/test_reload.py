"""``inferencesh dev`` applies edits of an app's code to its next task, without a restart.

A real server over temporary copies of apps, real worker processes; each test edits its own app.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import app_tool, inference
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.sources import MAX_DIR_ENTRIES, CodeWatch, fingerprint
from platform_apps import echo_source
from platform_testkit import PlatformFactory, api_client, data, run, wait_status, write_app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"

# The app every test starts from: it answers with its code's VERSION and its worker's pid.
# With ``hold``, a run waits until the file named by ``hold`` exists (a task kept busy).
SOURCE = """\
import asyncio
import os
from pathlib import Path

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

VERSION = "{version}"


class AppInput(BaseAppInput):
    hold: str = ""{fields}


class AppOutput(BaseAppOutput):
    version: str
    pid: int


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        while input_data.hold and not Path(input_data.hold).exists():
            await asyncio.sleep(0.02)
        return AppOutput(version=VERSION, pid=os.getpid())
"""

APP_NAMES = ("edited", "busy", "sessions", "broken", "tooled", "manifest", "frozen")

COMPLETED, FAILED, RUNNING = 10, 11, 7


def source(version: str, fields: str = "") -> str:
    return SOURCE.format(version=version, fields=fields)


def edit(path: Path, text: str, *, settle: bool = True) -> None:
    """Write ``text`` as an editor would, make sure the file's stat shows it (the clock the
    filesystem stamps with may not have moved since the last write) and, with ``settle``, wait
    the longest time the server may take to look at the sources again."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
    if settle:
        time.sleep(CodeWatch.MAX_INTERVAL)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reload-apps")
    for name in APP_NAMES:
        write_app(root, name, source("v1"))
    return root


@pytest.fixture(scope="module")
def server(apps: Path, local_platform: PlatformFactory) -> LocalPlatform:
    # Its own apps (their code is edited), in this module's folder: a platform of its own.
    dirs = [apps / n for n in APP_NAMES if n != "frozen"] + [EXAMPLES / "scripted-model"]
    return local_platform(dirs)


def output(http: Any, app: str, **extra: Any) -> dict[str, Any]:
    """Run ``app`` to its end; its output (the task must complete)."""
    task = run(http, f"local/{app}", {}, wait=True, **extra)
    assert task["status"] == COMPLETED, task
    result: dict[str, Any] = task["output"]
    return result


def settled(http: Any, app: str) -> None:
    """Wait until the app has one worker: the retired ones have exited (a retired worker keeps
    its slot until then)."""
    deadline = time.monotonic() + 15
    while data(http.get("/health"))["apps"][app]["workers"] != 1:
        assert time.monotonic() < deadline, "a retired worker was not stopped"
        time.sleep(0.05)


def log_lines(server: LocalPlatform, text: str) -> list[str]:
    return [line for line in server.log_path.read_text().splitlines() if text in line]


def test_an_edit_applies_to_the_next_run_on_a_new_worker(apps: Path, server: LocalPlatform) -> None:
    with api_client(server) as http:
        first = output(http, "edited")
        assert first["version"] == "v1"
        assert output(http, "edited")["pid"] == first["pid"]  # warm worker, unchanged code
        edit(apps / "edited" / "inference.py", source("v2"))
        second = output(http, "edited")
        # The warm idle worker ran the old code: it was stopped, not handed out.
        assert second == {"version": "v2", "pid": second["pid"]}
        assert second["pid"] != first["pid"]
        assert output(http, "edited")["pid"] == second["pid"]  # the new one stays warm
        settled(http, "edited")
    assert log_lines(server, "local/edited: code changed, new workers load it") != []
    assert len(log_lines(server, "local/edited: code changed")) == 1


def test_a_helper_module_edit_counts_and_a_data_file_does_not(
    apps: Path, server: LocalPlatform
) -> None:
    folder = apps / "edited"
    with api_client(server) as http:
        before = output(http, "edited")
        (folder / "notes.md").write_text("not code")
        (folder / "weights").mkdir(exist_ok=True)
        (folder / "weights" / "model.bin").write_bytes(b"\0" * 64)
        time.sleep(CodeWatch.MAX_INTERVAL)
        assert output(http, "edited")["pid"] == before["pid"]
        edit(folder / "helpers.py", "X = 1\n")  # a new module the app may import
        assert output(http, "edited")["pid"] != before["pid"]


def test_a_busy_worker_finishes_its_task_then_retires(
    apps: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    with api_client(server) as http:
        busy = run(http, "local/busy", {"hold": str(flag)})
        wait_status(http, busy["id"], {RUNNING})  # running on a v1 worker
        edit(apps / "busy" / "inference.py", source("v2"))
        fresh = output(http, "busy")
        assert fresh["version"] == "v2"
        flag.touch()
        held = wait_status(http, busy["id"], {COMPLETED, FAILED})
        assert held["status"] == COMPLETED, held
        # The run that had started finishes on the code it started with ...
        assert held["output"]["version"] == "v1"
        assert held["output"]["pid"] != fresh["pid"]
        # ... and its worker is retired rather than given the next task.
        later = output(http, "busy")
        assert later == fresh
        settled(http, "busy")


def test_a_session_keeps_its_worker_and_code_until_it_ends(
    apps: Path, server: LocalPlatform
) -> None:
    with api_client(server) as http:
        opened = run(http, "local/sessions", {}, session="new", wait=True)
        assert opened["output"]["version"] == "v1"
        session = opened["session_id"]
        edit(apps / "sessions" / "inference.py", source("v2"))
        assert output(http, "sessions")["version"] == "v2"  # outside the session: new code
        again = output(http, "sessions", session=session)
        assert again == opened["output"]  # the session's state lives in its process
        assert http.delete(f"/sessions/{session}").status_code == 204
        assert output(http, "sessions", session="new")["version"] == "v2"


def test_a_broken_edit_fails_the_task_with_file_and_line_and_a_fix_recovers(
    apps: Path, server: LocalPlatform
) -> None:
    entry = apps / "broken" / "inference.py"
    with api_client(server) as http:
        assert output(http, "broken")["version"] == "v1"
        lines = source("v2").splitlines()
        lines.insert(7, 'raise RuntimeError("half-way through an edit")')  # line 8
        edit(entry, "\n".join(lines) + "\n")
        failed = run(http, "local/broken", {}, wait=True)
        assert failed["status"] == FAILED, failed
        assert "RuntimeError: half-way through an edit" in failed["error"]
        assert f"(at {entry}, line 8)" in failed["error"]
        edit(entry, source("v2").replace("class AppOutput", "class AppOutput(", 1))
        failed = run(http, "local/broken", {}, wait=True)
        assert failed["status"] == FAILED, failed
        assert re.search(r"inference\.py.*line \d+", failed["error"]), failed["error"]
        assert "SyntaxError" in failed["error"]
        edit(entry, source("v3"))  # fixed: no restart needed
        assert output(http, "broken")["version"] == "v3"


def test_the_agent_loop_offers_the_edited_input_schema(apps: Path, server: LocalPlatform) -> None:
    def offered() -> dict[str, Any]:
        config = {
            "core_app": {"ref": "local/scripted-model", "input": {"script": [{"text": "ok"}]}},
            "internal_tools": {"plan": False, "memory": False},
            "tools": [app_tool("tooled", "local/tooled").describe("Answers its version")],
        }
        with inference(api_key=server.api_key, base_url=server.base_url) as client:
            response = client.agent(config).send_message("go")
        assert response.text == "ok", response.text
        with api_client(server) as http:
            task = data(http.get(f"/tasks/{response.messages[0].task_id}"))
        tools = {t["function"]["name"]: t["function"] for t in task["input"]["tools"]}
        params: dict[str, Any] = tools["tooled"]["parameters"]
        return params

    assert set(offered()["properties"]) == {"hold"}
    edit(
        apps / "tooled" / "inference.py",
        source("v2", fields="\n    count: int = 1"),
    )
    assert set(offered()["properties"]) == {"hold", "count"}


def test_an_edited_inf_yml_starts_new_workers_and_says_what_waits_for_a_restart(
    apps: Path, server: LocalPlatform
) -> None:
    manifest = apps / "manifest" / "inf.yml"
    with api_client(server) as http:
        first = output(http, "manifest")
        edit(manifest, "name: renamed\nsecrets:\n  - RELOAD_TEST_SECRET_NEVER_SET\n")
        # The workers read inf.yml themselves: new ones start. The name and the secrets the
        # server checks are those of the start, and the log says so (not a silent half-state).
        second = output(http, "manifest")
        assert second["pid"] != first["pid"]
        listed = {a["name"]: a for a in data(http.get("/apps"))}
        assert listed["manifest"]["secrets"] == []
    assert log_lines(server, "local/manifest: inf.yml now names the app 'renamed'") != []
    assert log_lines(server, "local/manifest: inf.yml declares other secrets now") != []


def test_no_reload_keeps_the_code_workers_started_with(apps: Path, tmp_path: Path) -> None:
    with (
        LocalPlatform([apps / "frozen"], data_dir=tmp_path, args=["--no-reload"]) as platform,
        api_client(platform) as http,
    ):
        first = output(http, "frozen")
        edit(apps / "frozen" / "inference.py", source("v2"))
        assert output(http, "frozen") == first
        assert log_lines(platform, "code changed") == []


# -- the fingerprint itself ---------------------------------------------------------------------


def test_the_fingerprint_skips_environments_caches_hidden_and_data_folders(
    tmp_path: Path,
) -> None:
    app = write_app(tmp_path, "app", source("v1"))
    (app / "pkg").mkdir()
    (app / "pkg" / "model.py").write_text("")
    (app / "requirements.txt").write_text("numpy\n")
    for skipped in (".venv", "venv", "__pycache__", ".git"):
        (app / skipped / "lib").mkdir(parents=True)
        (app / skipped / "lib" / "mod.py").write_text("")
    (app / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (app / "data").mkdir()
    for index in range(MAX_DIR_ENTRIES + 10):  # a data folder: only a bounded part is read
        (app / "data" / f"{index}.py").write_text("")
    found, bounded = fingerprint(app, skip=app / "data")
    assert {path for path, _, _ in found} == {
        "inference.py",
        "inf.yml",
        "requirements.txt",
        "pkg/model.py",
    }
    assert not bounded
    found, bounded = fingerprint(app)
    assert bounded and len(found) == 4 + MAX_DIR_ENTRIES


def test_the_watch_sees_edits_additions_and_deletions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = write_app(tmp_path, "app", source("v1"))
    monkeypatch.setattr(CodeWatch, "SPACING", 0.0)  # scan on every call here
    monkeypatch.setattr(CodeWatch, "MIN_INTERVAL", 0.0)
    watch = CodeWatch(app)
    assert not watch.changed()
    edit(app / "inference.py", source("v22"), settle=False)
    assert watch.changed()
    assert not watch.changed()  # reported once
    (app / "extra.py").write_text("")
    assert watch.changed()
    (app / "extra.py").unlink()
    assert watch.changed()
    assert watch.cost < 0.05


def test_a_cheap_scan_is_still_not_repeated_within_the_minimum_interval(tmp_path: Path) -> None:
    app = write_app(tmp_path, "app", source("v1"))
    watch = CodeWatch(app)
    watch.cost = 0.0  # however cheap the folder, checks in a row scan at most once
    edit(app / "inference.py", source("v22"), settle=False)
    assert not watch.changed()  # too soon: not scanned
    time.sleep(CodeWatch.MIN_INTERVAL)
    assert watch.changed()


def test_the_watch_scans_no_more_often_than_its_cost_allows(tmp_path: Path) -> None:
    app = write_app(tmp_path, "app", source("v1"))
    watch = CodeWatch(app)
    watch.cost = 0.02  # as if the folder took 20 ms to scan: at most one scan per 0.5 s
    edit(app / "inference.py", source("v22"), settle=False)
    assert not watch.changed()  # too soon: not scanned
    time.sleep(CodeWatch.MAX_INTERVAL)
    assert watch.changed()


# -- a queue crossing an edit, a shutdown awaiting a retiring worker ------------------------


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_queue_behind_one_worker_crosses_an_edit_without_leaking_a_slot(
    echo_apps: Path, echo_server: LocalPlatform, echo_http: httpx.Client, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    first = run(echo_http, "local/queue", {"hold": str(flag)})
    wait_status(echo_http, first["id"], {RUNNING})
    queued = [run(echo_http, "local/queue", {}) for _ in range(3)]
    edit(echo_apps / "queue" / "inference.py", echo_source("v2"))
    late = run(echo_http, "local/queue", {})  # sees the edit: the running worker is to retire
    assert data(echo_http.get("/health"))["apps"]["queue"] == {"workers": 1, "queued": 4}
    flag.touch()
    done = [wait_status(echo_http, t["id"], {COMPLETED, FAILED}) for t in [first, *queued, late]]
    assert [t["status"] for t in done] == [COMPLETED] * 5, done
    old_pid = done[0]["output"]["pid"]
    assert done[0]["output"]["version"] == "v1"
    # Everything queued ran on one new worker with the new code: no deadlock, no double start.
    assert {(t["output"]["version"], t["output"]["pid"]) for t in done[1:]} == {
        ("v2", done[1]["output"]["pid"])
    }
    # The slot count equals the live workers: the retired one gave its slot back on exit.
    assert data(echo_http.get("/health"))["apps"]["queue"] == {"workers": 1, "queued": 0}
    assert gone(old_pid)


def test_a_task_queued_before_a_save_runs_the_saved_code(
    echo_apps: Path, echo_http: httpx.Client, tmp_path: Path
) -> None:
    # Bug: a worker given back was handed to the next queued task without looking at the
    # sources, so tasks that had queued before a save ran the old code on the warm worker.
    flag = tmp_path / "go"
    first = run(echo_http, "local/waiting", {"hold": str(flag)})
    wait_status(echo_http, first["id"], {RUNNING})
    queued = run(echo_http, "local/waiting", {})
    edit(echo_apps / "waiting" / "inference.py", echo_source("v2"))
    flag.touch()
    done = wait_status(echo_http, queued["id"], {COMPLETED, FAILED})
    assert done["status"] == COMPLETED, done
    held = data(echo_http.get(f"/tasks/{first['id']}"))["output"]
    assert (held["version"], done["output"]["version"]) == ("v1", "v2")
    assert done["output"]["pid"] != held["pid"]


def test_shutdown_awaits_a_worker_still_retiring(tmp_path: Path) -> None:
    app = write_app(tmp_path / "apps", "slowunload", echo_source("v1", unload=3.0))
    platform = LocalPlatform([app], data_dir=tmp_path / "data").start()
    try:
        with api_client(platform) as http:
            old = run(http, "local/slowunload", {}, wait=True)["output"]["pid"]
            edit(app / "inference.py", echo_source("v2", unload=0.0))
            assert run(http, "local/slowunload", {}, wait=True)["output"]["version"] == "v2"
            assert not gone(old)  # still running its 3 s unload
    finally:
        platform.stop()
    # The server waited for its clean exit (unload ran to its end) instead of leaving it to
    # die with the server, or to be orphaned.
    assert (app / f"unloaded-{old}").read_text() == "done"
    assert gone(old)


def test_a_symlink_loop_is_read_once_and_not_taken_for_a_large_folder(tmp_path: Path) -> None:
    # Bug: a link back to the app folder was followed to the depth bound, reading the app up
    # to 8 times (or, with two loops, thousands of entries) and flagging the folder as too
    # large to watch.
    app = write_app(tmp_path, "looped", echo_source("v1"))
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
    app = write_app(tmp_path, "linked", echo_source("v1"))
    outside = tmp_path / "data"
    (outside / "files").mkdir(parents=True)
    for index in range(1100):
        (outside / "files" / f"{index}.py").write_text("")
    (app / "data").symlink_to(outside)
    found, bounded = fingerprint(app, skip=outside.resolve())
    assert not bounded
    assert sorted(path for path, _, _ in found) == ["inf.yml", "inference.py"]

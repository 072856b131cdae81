"""Parts of the local platform in process: app discovery, the response helpers other routes use
(contract C5), the CLI's errors, and the record store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from inferencesh.core.types import TaskStatus
from inferencesh.platform.config import discover_apps, load_app
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.records import TaskRecord
from inferencesh.platform.responses import (
    ok,
    problem,
    problem_from,
    read_json,
    stream_response,
)
from inferencesh.platform.store import Store
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "apps"


def make_app(tmp: Path, folder: str, manifest: str | None) -> Path:
    app = tmp / folder
    app.mkdir(parents=True)
    (app / "inference.py").write_text("class App:\n    pass\n")
    if manifest is not None:
        (app / "inf.yml").write_text(manifest)
    return app


# --- discovery ------------------------------------------------------------------------------


def test_app_names_come_from_inf_yml_or_the_folder(tmp_path: Path) -> None:
    named = load_app(
        make_app(
            tmp_path,
            "x",
            "name: My App\nsecrets:\n  - key: A\n  - key: B\n    optional: true\n  - C\n",
        )
    )
    assert named.ref == "local/my-app"
    assert named.secrets == ("A", "C") and named.optional_secrets == ("B",)
    assert load_app(make_app(tmp_path, "Plain_Folder", None)).ref == "local/plain_folder"


def test_discovery_of_a_folder_of_apps_and_errors(tmp_path: Path) -> None:
    refs = {a.ref for a in discover_apps([EXAMPLES])}
    assert {"local/hello", "local/counter", "local/slow"} <= refs
    with pytest.raises(ValueError, match="no such directory"):
        discover_apps([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither an app directory"):
        discover_apps([tmp_path / "empty"])
    make_app(tmp_path, "a", "name: same\n")
    make_app(tmp_path, "b", "name: same\n")
    with pytest.raises(ValueError, match="two apps are named 'same'"):
        discover_apps([tmp_path / "a", tmp_path / "b"])
    bad = make_app(tmp_path, "bad", "secrets: nope\n")
    with pytest.raises(ValueError, match="`secrets` must be a list"):
        load_app(bad)


def test_dev_command_reports_bad_app_dirs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferencesh",
            "dev",
            str(tmp_path / "nowhere"),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "nowhere: no such directory" in proc.stderr


# --- responses (C5) ----------------------------------------------------------------------------


async def _events(n: int, delay: float) -> AsyncIterator[dict[str, Any]]:
    for i in range(n):
        await asyncio.sleep(delay)
        yield {"event": "chats", "data": {"i": i}} if i % 2 else {"data": {"i": i}, "fields": ["i"]}


def _client() -> httpx.AsyncClient:
    async def echo(request: Request) -> Response:
        body = await read_json(request, 100)
        if body == {"fail": True}:
            raise PlatformError(409, "conflict", "told to fail")
        return ok(request, body, 201)

    async def gone(request: Request) -> Response:
        return problem(request, 410, "SESSION_ENDED", "Session ended: sess_x")

    async def events(request: Request) -> Response:
        return stream_response(request, _events(3, 0.12), heartbeat_interval=0.05)

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PlatformError)
        return problem_from(request, exc)

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/gone", gone),
            Route("/events", events),
        ],
        exception_handlers={PlatformError: on_error},
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://platform")


async def test_ok_and_problem_in_both_envelopes() -> None:
    client = _client()
    v1 = await client.post("/echo", json={"a": 1})
    assert v1.status_code == 201 and v1.json() == {"success": True, "status": 201, "data": {"a": 1}}
    v2 = await client.post("/echo", json={"a": 1}, headers={"X-API-Version": "2"})
    assert v2.json() == {"a": 1}
    gone = (await client.get("/gone")).json()
    assert gone["error"] == {"code": "SESSION_ENDED", "message": "Session ended: sess_x"}
    gone2 = await client.get("/gone", headers={"X-API-Version": "2"})
    assert gone2.headers["content-type"] == "application/problem+json"
    assert gone2.json()["type"].endswith("/SESSION_ENDED") and gone2.json()["status"] == 410
    assert (await client.post("/echo", json={"fail": True})).json()["error"]["code"] == "conflict"


async def test_read_json_limits_and_errors() -> None:
    client = _client()
    big = await client.post("/echo", content=b'{"k": "' + b"x" * 200 + b'"}')
    assert big.status_code == 413 and "100 bytes" in big.json()["error"]["message"]
    bad = await client.post("/echo", content=b"{oops")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    assert (await client.post("/echo")).json()["data"] is None


async def test_stream_response_ndjson_and_sse_with_heartbeats() -> None:
    client = _client()
    response = await client.get("/events")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert {"type": "heartbeat"} in lines
    assert [line for line in lines if line != {"type": "heartbeat"}] == [
        {"data": {"i": 0}, "fields": ["i"]},
        {"event": "chats", "data": {"i": 1}},
        {"data": {"i": 2}, "fields": ["i"]},
    ]
    response = await client.get("/events", headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    text = response.text
    frames = [f for f in text.split("\n\n") if f]
    assert ": heartbeat" in frames
    assert 'event: chats\ndata: {"i":1}' in frames
    assert 'data: {"data":{"i":0},"fields":["i"]}' in frames


# --- records --------------------------------------------------------------------------------


def test_store_keeps_records_across_connections(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    store = Store(db)
    task = TaskRecord(
        id="t1",
        status=TaskStatus(7),
        app="local/x",
        created_at="2026-01-01T00:00:00Z",
        input={"k": [1]},
    )
    store.put_task(task)
    store.put_task(msgspec.structs.replace(task, id="t2", status=TaskStatus(10)))
    store.close()
    again = Store(db)
    assert again.get_task("t1") == task
    assert [t.id for t in again.unfinished_tasks()] == ["t1"]
    assert again.delete_task("t2") and again.get_task("t2") is None
    again.close()


def test_warm_starts_a_worker_per_app_before_any_task(tmp_path: Path) -> None:
    from inferencesh.platform.launcher import LocalPlatform

    with LocalPlatform(
        [EXAMPLES / "hello", EXAMPLES / "counter"], data_dir=tmp_path, args=["--warm"]
    ) as platform:
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        import time

        deadline = time.monotonic() + 30
        while True:
            health = httpx.get(
                f"{platform.base_url}/health", headers=headers, trust_env=False
            ).json()
            apps = health["data"]["apps"]
            if all(apps[name]["workers"] == 1 for name in ("hello", "counter")):
                break
            assert time.monotonic() < deadline, apps
            time.sleep(0.05)


def test_a_server_started_by_a_launcher_that_dies_shuts_down(tmp_path: Path) -> None:
    # A test run killed mid-way must not leave `inferencesh dev` (and its workers) running.
    pid_file = tmp_path / "server.pid"
    launcher = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from inferencesh.platform.launcher import LocalPlatform\n"
        f"platform = LocalPlatform([{str(EXAMPLES / 'hello')!r}], data_dir={str(tmp_path)!r})\n"
        "platform.start()\n"
        # Written whole, then renamed: the test never reads a half-written file.
        f"Path({str(pid_file)!r} + '.tmp').write_text(str(platform.process.pid))\n"
        f"Path({str(pid_file)!r} + '.tmp').rename({str(pid_file)!r})\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", launcher])
    deadline = time.monotonic() + 60
    while not pid_file.exists():
        assert parent.poll() is None and time.monotonic() < deadline, "the launcher failed"
        time.sleep(0.05)
    server = int(pid_file.read_text())
    parent.kill()  # no chance to stop the server
    parent.wait()
    deadline = time.monotonic() + 30  # a graceful shutdown, on a loaded machine
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server), "the server outlived the process that started it"
    assert "is gone: shutting down" in (tmp_path / "server.log").read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True

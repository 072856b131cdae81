"""The published `inferencesh` client (latest from PyPI, in its own virtual environment) runs
unchanged against the local platform: run with wait, fire and forget, stream, cancel, file upload,
sessions, requirement errors, and its async client.

The virtual environment lives in `.venvs/published` and is reused when present.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, PlatformFactory, copied_app, run_published

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"
VENV = ROOT / ".venvs" / "published"
SECRET = "INFSH_COMPAT_TEST_SECRET"

SCRIPT = textwrap.dedent(
    '''
    import asyncio, json, sys, time
    import inferencesh
    from inferencesh import inference, async_inference

    base_url, api_key, scenario, workdir = sys.argv[1:5]
    client = inference(api_key=api_key, base_url=base_url)

    def plain(value):
        """`get_task` returns a Response wrapper in newer releases; unwrap it."""
        return getattr(value, "data", value)

    def wait_status(task_id, wanted, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            task = plain(client.get_task(task_id))
            if task["status"] in wanted:
                return task
            time.sleep(0.05)
        raise SystemExit(f"task {task_id} never reached {wanted}")

    out = {"version": inferencesh.__version__}
    if scenario == "run_wait":
        result = client.run({"app": "local/hello", "input": {"prompt": "A cat astronaut"}})
        out.update(status=result["status"], output=result["output"])
    elif scenario == "fire_and_forget":
        task = client.run({"app": "local/hello", "input": {"prompt": "later"}}, wait=False)
        out.update(id=task["id"], first_status=task["status"])
        out["final"] = wait_status(task["id"], (10, 11, 12))
    elif scenario == "stream":
        updates = []
        for update in client.run({"app": "local/streaming", "input": {"text": "one two three"}}, stream=True):
            updates.append({"status": update["status"], "output": update.get("output"), "logs": bool(update.get("logs"))})
        out["updates"] = updates
    elif scenario == "cancel":
        task = client.run({"app": "local/slow", "input": {"seconds": 30}}, wait=False)
        wait_status(task["id"], (7,))
        client.cancel(task["id"])
        out["final"] = wait_status(task["id"], (10, 11, 12))
    elif scenario == "upload":
        path = f"{workdir}/upload.txt"
        with open(path, "w") as handle:
            handle.write("published client upload\\n")
        uploaded = client.upload_file(path)
        out["uri"] = uploaded["uri"]
        result = client.run({"app": "local/files", "input": {"document": uploaded["uri"]}})
        out["output"] = result["output"]
        auto = client.run({"app": "local/files", "input": {"document": path}})  # auto-upload of a path
        out["auto_output"] = auto["output"]
    elif scenario == "session":
        first = client.run({"app": "local/counter", "function": "set_value", "input": {"value": 7},
                            "session": "new", "session_timeout": 300})
        session_id = first["session_id"]
        second = client.run({"app": "local/counter", "function": "increment", "input": {"by": 3},
                             "session": session_id})
        out.update(session_id=session_id, first=first["output"], second=second["output"],
                   second_session=second.get("session_id"))
        info = plain(client.sessions.get(session_id))
        out["info"] = {"status": info["status"], "call_count": info["call_count"]}
        client.sessions.end(session_id)
        try:
            client.run({"app": "local/counter", "input": {}, "session": session_id})
            out["after_end"] = "no error"
        except Exception as exc:
            out["after_end"] = f"{type(exc).__name__}: {exc}"
    elif scenario == "requirements":
        try:
            client.run({"app": "local/needs-secret", "input": {}})
            out["raised"] = None
        # The seed names RequirementsNotMetException; 0.36 only has RequirementsNotMetError.
        except getattr(inferencesh, "RequirementsNotMetException", inferencesh.RequirementsNotMetError) as exc:
            out["raised"] = "RequirementsNotMetError"
            # 0.36 gives objects with attributes here; the seed indexes them like dicts.
            field = lambda e, k: getattr(e, k) if hasattr(e, k) else e[k]
            out["errors"] = [{"type": field(e, "type"), "key": field(e, "key")} for e in exc.errors]
    elif scenario == "async":
        async def main():
            aclient = async_inference(api_key=api_key, base_url=base_url)
            result = await aclient.run({"app": "local/hello", "input": {"prompt": "A galaxy"}})
            statuses = []
            stream = await aclient.run({"app": "local/streaming", "input": {"text": "a b"}}, stream=True)
            async for update in stream:
                statuses.append(update["status"])
            return {"status": result["status"], "output": result["output"], "statuses": statuses}
        out.update(asyncio.run(main()))
    print(json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [EXAMPLES, OWN / "apps"],
        files=copied_app(EXAMPLES / "hello", "needs-secret", f"secrets:\n  - key: {SECRET}\n"),
        env={SECRET: None},
    )


def scenario(published: Path, server: LocalPlatform, name: str, tmp_path: Path) -> dict[str, Any]:
    args = [server.base_url, server.api_key, name, str(tmp_path)]
    return run_published(published, SCRIPT, args, tmp_path)


def test_published_client_is_the_pypi_release(published_python: Path) -> None:
    proc = subprocess.run(
        [str(published_python), "-c", "import inferencesh, sys; print(inferencesh.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
        check=True,
    )
    assert proc.stdout.startswith(str(VENV) + "/")
    assert "/packages/inferencesh-core/" not in proc.stdout


def test_run_with_wait(published_python: Path, server: LocalPlatform, tmp_path: Path) -> None:
    out = scenario(published_python, server, "run_wait", tmp_path)
    assert out["status"] == 10
    assert (
        out["output"]["result"].startswith("A cat astronaut")
        or "A cat astronaut" in out["output"]["result"]
    )


def test_fire_and_forget_then_get(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "fire_and_forget", tmp_path)
    assert out["first_status"] in (1, 2)
    assert out["final"]["status"] == 10 and out["final"]["id"] == out["id"]
    assert "later" in out["final"]["output"]["result"]


def test_stream(published_python: Path, server: LocalPlatform, tmp_path: Path) -> None:
    updates = scenario(published_python, server, "stream", tmp_path)["updates"]
    assert updates[-1]["status"] == 10
    assert updates[-1]["output"] == {"text": "one two three", "words": 3, "done": True}
    assert any(u["status"] == 7 for u in updates)
    assert any(u["logs"] for u in updates)


def test_cancel(published_python: Path, server: LocalPlatform, tmp_path: Path) -> None:
    out = scenario(published_python, server, "cancel", tmp_path)
    assert out["final"]["status"] == 12


def test_upload_file_and_use_it_as_input(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "upload", tmp_path)
    assert out["uri"].startswith(server.base_url)
    assert out["output"]["size"] == len("published client upload\n")
    assert out["output"]["upper"]["uri"].startswith(server.base_url)
    assert out["auto_output"]["size"] == out["output"]["size"]


def test_session_with_two_calls_sharing_state(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "session", tmp_path)
    assert out["session_id"].startswith("sess_")
    assert out["first"] == {"value": 7} and out["second"] == {"value": 10}
    assert out["second_session"] == out["session_id"]
    assert out["info"] == {"status": "active", "call_count": 2}
    assert "410" in out["after_end"]


def test_requirements_not_met(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "requirements", tmp_path)
    assert out["raised"] == "RequirementsNotMetError"
    assert out["errors"] == [{"type": "secret", "key": SECRET}]


def test_async_client(published_python: Path, server: LocalPlatform, tmp_path: Path) -> None:
    out = scenario(published_python, server, "async", tmp_path)
    assert out["status"] == 10 and "A galaxy" in out["output"]["result"]
    assert out["statuses"][-1] == 10

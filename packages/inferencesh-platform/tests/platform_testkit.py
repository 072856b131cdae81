"""Helpers the local platform's HTTP tests share: app folders, an API client, the v1 envelope."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from inferencesh.platform.launcher import LocalPlatform


def write_app(root: Path, name: str, source: str, manifest: str = "") -> Path:
    """Write an app directory for a test (real code, run by the real worker)."""
    app = root / name
    app.mkdir(parents=True, exist_ok=True)
    (app / "inference.py").write_text(textwrap.dedent(source))
    (app / "inf.yml").write_text(f"name: {name}\n" + textwrap.dedent(manifest))
    return app


@contextmanager
def api_client(server: LocalPlatform, timeout: float = 60) -> Iterator[httpx.Client]:
    """Raw httpx to the platform with its key (no proxies from the environment)."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(
        base_url=server.base_url, headers=headers, timeout=timeout, trust_env=False
    ) as client:
        yield client


def data(response: httpx.Response) -> Any:
    """The v1 envelope's ``data``, after checking the reply and the envelope itself."""
    assert response.status_code < 300, response.text
    body = response.json()
    assert body["success"] is True and body["status"] == response.status_code, body
    return body["data"]


def run(http: httpx.Client, app: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``POST /apps/run``; the created (or, with ``wait=True``, finished) task."""
    task: dict[str, Any] = data(http.post("/apps/run", json={"app": app, "input": inputs, **extra}))
    return task


def wait_status(http: httpx.Client, task_id: str, statuses: set[int], timeout: float = 30) -> Any:
    """Poll the task until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = data(http.get(f"/tasks/{task_id}"))
        if task["status"] in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached {statuses}")


def run_published(python: Path, script: str, args: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``script`` with the published client's interpreter; the JSON its last line prints.

    It runs from ``cwd`` (not the repository, so our own ``inferencesh`` cannot shadow the
    published one) without ``PYTHONPATH``/``VIRTUAL_ENV`` from this environment.
    """
    path = cwd / "published_scenario.py"
    path.write_text(script)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(python), str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["version"].startswith("0.1."), "ran our package instead of the published one"
    return result

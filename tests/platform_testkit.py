"""Helpers the local platform's HTTP tests share: app folders, an API client, the v1 envelope."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from inferencesh.apps.platform.launcher import LocalPlatform


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

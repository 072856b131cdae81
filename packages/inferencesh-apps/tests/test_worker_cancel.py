"""The worker's ``POST /cancel``: which run a cancel names, with or without an id, and what a bad
body gets; each on a real worker process over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SLOW = Path(__file__).resolve().parents[3] / "examples" / "apps" / "slow"


class _Worker:
    def __init__(self, app_dir: Path, workdir: Path) -> None:
        ready = workdir / "ready.json"
        self._log = (workdir / "worker.log").open("w")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "inferencesh.apps.worker"),
                *("--app-dir", str(app_dir), "--ready-file", str(ready)),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert self.proc.poll() is None, "the worker exited before it was ready"
            assert time.monotonic() < deadline, "the worker was not ready in time"
            time.sleep(0.02)
        port = json.loads(ready.read_text())["port"]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def start_run(self, task_id: str | None, seconds: float) -> tuple[threading.Thread, list[Any]]:
        """POST /run in a thread (it streams until the run ends); returns the thread and the
        list its events land in."""
        events: list[Any] = []
        body: dict[str, Any] = {"input": {"seconds": seconds}}
        if task_id is not None:
            body["metadata"] = {"task_id": task_id}

        def stream() -> None:
            with self.client.stream("POST", "/run", json=body) as response:
                events.extend(json.loads(line) for line in response.iter_lines() if line)

        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while self.client.get("/health").json()["status"] != "busy":
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.02)
        return thread, events

    def stop(self) -> None:
        self.client.post("/shutdown")
        self.client.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Worker]:
    started = _Worker(SLOW, tmp_path_factory.mktemp("worker"))
    try:
        yield started
    finally:
        started.stop()


def test_a_cancel_naming_another_run_is_refused_and_the_run_goes_on(worker: _Worker) -> None:
    thread, events = worker.start_run("task-a", seconds=30)
    refused = worker.client.post("/cancel", json={"task_id": "task-b"})
    assert refused.status_code == 200 and refused.json() == {"cancelled": False}
    time.sleep(0.2)
    assert worker.client.get("/health").json()["status"] == "busy"
    assert thread.is_alive(), "the run ended on a cancel meant for another run"

    accepted = worker.client.post("/cancel", json={"task_id": "task-a"})
    assert accepted.json() == {"cancelled": True}
    thread.join(15)
    assert events[-1]["type"] == "error" and events[-1]["kind"] == "cancelled"


def test_a_cancel_naming_a_run_when_none_is_in_flight_is_refused(worker: _Worker) -> None:
    response = worker.client.post("/cancel", json={"task_id": "task-a"})
    assert response.json() == {"cancelled": False}


def test_a_cancel_without_an_id_still_cancels_the_run_in_flight(worker: _Worker) -> None:
    for body in (None, {}, {"task_id": None}):
        thread, events = worker.start_run("task-c", seconds=30)
        response = worker.client.post("/cancel", json=body) if body is not None else None
        if response is None:
            response = worker.client.post("/cancel")  # no body at all, as before
        assert response.json() == {"cancelled": True}, body
        thread.join(15)
        assert events[-1]["kind"] == "cancelled"


def test_a_run_without_a_task_id_is_only_cancelled_without_an_id(worker: _Worker) -> None:
    thread, events = worker.start_run(None, seconds=30)
    assert worker.client.post("/cancel", json={"task_id": "task-a"}).json() == {"cancelled": False}
    assert worker.client.post("/cancel").json() == {"cancelled": True}
    thread.join(15)
    assert events[-1]["kind"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"task_id": 5}, "`task_id` must be a string or null"),
        ({"task_id": ""}, "`task_id` must not be empty"),
        ([1], "the body must be a JSON object"),
    ],
)
def test_a_bad_cancel_body_is_a_400_naming_the_problem(
    worker: _Worker, body: Any, message: str
) -> None:
    response = worker.client.post("/cancel", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]

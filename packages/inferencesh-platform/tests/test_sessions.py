"""Sessions on the local platform end with the reason when their worker dies, loses its
connection or the session is deleted mid-call; over a real ``inferencesh dev`` process."""

from __future__ import annotations

import os
import time

import httpx
from platform_testkit import data, kill_and_wait, run, wait_status


def test_a_session_whose_worker_died_while_idle_is_ended_with_the_reason(
    one_slot_http: httpx.Client,
) -> None:
    first = run(one_slot_http, "local/stuck", {}, session="new", wait=True)
    assert first["status"] == 10
    session_id = first["session_id"]
    kill_and_wait(first["output"]["pid"])
    # The next call is refused with the session's own error (issue 16, item 10), not run as
    # a task that fails like any other.
    again = one_slot_http.post(
        "/apps/run", json={"app": "local/stuck", "input": {}, "session": session_id}
    )
    assert again.status_code == 410 and again.json()["error"]["code"] == "WORKER_LOST"
    assert "killed by signal 9" in again.json()["message"] or "SIGKILL" in again.json()["message"]
    session = data(one_slot_http.get(f"/sessions/{session_id}"))
    assert session["status"] == "ended" and session["ended_at"], session
    gone = one_slot_http.post(
        "/apps/run", json={"app": "local/stuck", "input": {}, "session": session_id}
    )
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "WORKER_LOST"
    assert "worker lost: the worker process was killed by" in gone.json()["message"]


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


def test_a_session_whose_worker_connection_failed_is_ended_with_the_reason(
    recording_http: httpx.Client,
) -> None:
    first = run(recording_http, "local/sever", {}, session="new", wait=True)
    session_id = first["session_id"]
    cut = run(recording_http, "local/sever", {"sever": True}, session=session_id, wait=True)
    assert cut["status"] == 11 and "the worker connection failed" in cut["error"]
    assert wait_gone(first["output"]["pid"])
    session = data(recording_http.get(f"/sessions/{session_id}"))
    assert session["status"] == "ended", session
    gone = recording_http.post(
        "/apps/run", json={"app": "local/sever", "input": {}, "session": session_id}
    )
    assert gone.status_code == 410


# --- a call cut short by ending its session says why ---------------------------------------


def test_a_call_running_when_its_session_is_deleted_is_cancelled_with_a_reason(
    recording_http: httpx.Client,
) -> None:
    task = run(recording_http, "local/slow", {"seconds": 30}, session="new")
    wait_status(recording_http, task["id"], {7})
    assert recording_http.delete(f"/sessions/{task['session_id']}").status_code < 300
    final = wait_status(recording_http, task["id"], {10, 11, 12})
    assert final["status"] == 12
    assert final.get("error") == "the session was ended while this call ran", final.get("error")

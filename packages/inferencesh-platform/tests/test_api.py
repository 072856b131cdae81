"""The local platform's HTTP API, end to end: a real `inferencesh dev` process, real workers,
the example apps, and a raw HTTP client (protocol details the SDKs hide)."""

from __future__ import annotations

import itertools
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from inferencesh.core.types import Task, TaskStatus
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import App, PlatformFactory, api_client, data, run

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "apps"
SECRET = "INFSH_PLATFORM_TEST_SECRET"

TROUBLE_APP = """
import os, signal
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    mode: str = "ok"

class AppOutput(BaseAppOutput):
    ok: bool

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        if input_data.mode == "crash":
            print("about to crash", flush=True)
            os._exit(3)
        if input_data.mode == "chatty":
            for i in range(1200):
                print(f"{i:05d}" + "x" * 995, flush=True)
        if input_data.mode == "freeze":
            os.kill(os.getpid(), signal.SIGSTOP)  # the whole worker stops answering
        return AppOutput(ok=True)
"""


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [
            EXAMPLES,
            App("trouble", TROUBLE_APP),
            App("broken", "def run(:\n"),
            App(
                "needs-secret", TROUBLE_APP, f"secrets:\n  - key: {SECRET}\n    description: test\n"
            ),
        ],
        args=[
            "--concurrency",
            "2",
            "--heartbeat",
            "0.2",
            "--cancel-timeout",
            "1",
            "--hang-timeout",
            "1.5",
            "--max-request-mb",
            "0.05",
            "--max-upload-mb",
            "0.1",
        ],
        env={SECRET: None},  # the server reads the environment at start: really absent
    )


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server, timeout=30) as client:
        yield client


def wait_terminal(http: httpx.Client, task_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = data(http.get(f"/tasks/{task_id}"))
        if task["status"] in (10, 11, 12):
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def stream_lines(
    http: httpx.Client, task_id: str, accept: str = "application/x-ndjson"
) -> list[str]:
    with http.stream("GET", f"/tasks/{task_id}/stream", headers={"Accept": accept}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(accept)
        return list(response.iter_lines())


# --- envelopes, auth, routing -------------------------------------------------------------


def test_run_with_wait_returns_the_completed_task_in_the_v1_envelope(http: httpx.Client) -> None:
    task = run(http, "local/hello", {"prompt": "a lighthouse", "style": "ink"}, wait=True)
    assert task["status"] == 10
    assert task["output"]["result"].startswith("ink: a lighthouse")
    assert task["app"] == "local/hello"
    assert task["function"] == "run"
    statuses = [e["status"] for e in task["events"]]
    assert statuses[0] == 1 and statuses[-1] == 10
    assert all(TaskStatus(a).can_transition_to(b) for a, b in itertools.pairwise(statuses))
    contents = "".join(log["content"] for log in task["logs"])
    assert "Processing" in contents


def test_v2_header_gives_bare_bodies_and_problem_json(http: httpx.Client) -> None:
    v2 = {"X-API-Version": "2"}
    response = http.post("/run", json={"app": "hello", "input": {"prompt": "x"}}, headers=v2)
    assert response.status_code == 200
    task = response.json()
    assert "success" not in task and task["status"] in range(1, 13)
    missing = http.get("/tasks/nope", headers=v2)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    problem = missing.json()
    assert problem["status"] == 404 and problem["type"].endswith("/not_found")
    assert "nope" in problem["detail"]
    v1 = http.get("/tasks/nope").json()
    assert v1["success"] is False and v1["error"]["code"] == "not_found"


@pytest.mark.parametrize("ref", ["local/hello", "hello", "infsh/hello@abc123", "/v1/apps/run"])
def test_app_ref_forms_resolve_to_the_local_app(http: httpx.Client, ref: str) -> None:
    path, app = ("/v1/apps/run", "hello") if ref.startswith("/v1") else ("/apps/run", ref)
    task = data(http.post(path, json={"app": app, "input": {"prompt": "p"}, "wait": True}))
    assert task["status"] == 10 and task["app"] == "local/hello"


def test_function_from_the_ref_and_unknown_app(http: httpx.Client) -> None:
    task = run(http, "local/counter:increment", {"by": 5}, wait=True)
    assert task["function"] == "increment" and task["status"] == 10
    response = http.post("/apps/run", json={"app": "someone/unknown-app", "input": {}})
    assert response.status_code == 404
    assert "local/hello" in response.json()["error"]["message"]  # says what is available


def test_every_route_needs_the_api_key(server: LocalPlatform) -> None:
    with httpx.Client(base_url=server.base_url, trust_env=False) as anon:
        for method, path in [
            ("GET", "/tasks/x"),
            ("POST", "/apps/run"),
            ("GET", "/openapi.json"),
            ("GET", "/sessions"),
            ("POST", "/files"),
            ("GET", "/tasks/x/stream"),
        ]:
            response = anon.request(method, path)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
        wrong = anon.get("/sessions", headers={"Authorization": "Bearer inf_wrong"})
        assert wrong.status_code == 401


def test_api_key_is_kept_private_and_never_logged(server: LocalPlatform) -> None:
    key_file = server.data_dir / "api_key"
    assert key_file.read_text().strip() == server.api_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    log_lines = server.log_path.read_text().splitlines()
    # Printed once at start (for the user), nowhere else.
    assert sum(server.api_key in line for line in log_lines) == 1


def test_openapi_lists_the_routes(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in [
        "/apps/run",
        "/tasks/{task_id}/stream",
        "/files",
        "/sessions/{session_id}/keepalive",
    ]:
        assert path in doc["paths"], path
    assert "post" in doc["paths"]["/tasks/{task_id}/cancel"]


def test_bad_requests_say_what_was_wrong(http: httpx.Client) -> None:
    bad_json = http.post(
        "/apps/run", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    no_app = http.post("/apps/run", json={"input": {}})
    assert no_app.status_code == 400 and "`app` is required" in no_app.json()["error"]["message"]
    bad_input = http.post("/apps/run", json={"app": "hello", "input": [1]})
    assert bad_input.status_code == 400 and "`input`" in bad_input.json()["error"]["message"]
    too_big = http.post("/apps/run", json={"app": "hello", "input": {"prompt": "x" * 100_000}})
    assert too_big.status_code == 413 and "limit" in too_big.json()["error"]["message"]


def test_invalid_input_fails_the_task_with_the_validation_error(http: httpx.Client) -> None:
    task = run(http, "local/counter:set_value", {"value": "not a number"}, wait=True)
    assert task["status"] == 11
    assert "value" in task["error"]


# --- status and streams ---------------------------------------------------------------------


def test_fire_and_forget_then_status_and_get(http: httpx.Client) -> None:
    task = run(http, "local/hello", {"prompt": "later"})
    assert task["status"] == 1 and task.get("output") is None
    done = wait_terminal(http, task["id"])
    status = data(http.get(f"/tasks/{task['id']}/status"))
    assert status == {"id": task["id"], "status": 10, "updated_at": done["updated_at"]}


def test_stream_sends_partial_updates_logs_heartbeats_and_closes_after_terminal(
    http: httpx.Client,
) -> None:
    task = run(http, "local/slow", {"seconds": 0.8, "step": 0.1})
    lines = stream_lines(http, task["id"])
    events = [json.loads(line) for line in lines if line.strip()]
    assert {"type": "heartbeat"} not in events[:1]
    updates = [e for e in events if "data" in e]
    assert all(isinstance(e["fields"], list) for e in updates)
    assert updates[0]["data"]["id"] == task["id"]
    assert set(updates[0]["fields"]) >= {"id", "status", "input"}  # a full snapshot first
    assert any(
        "logs" in e["fields"] and e["data"]["status"] == 7 for e in updates
    )  # logs while running
    final = updates[-1]["data"]
    assert final["status"] == 10 and final["output"]["steps"] >= 1
    assert all(e["data"]["status"] not in (10, 11, 12) for e in updates[:-1])
    statuses = [e["data"]["status"] for e in updates]
    assert all(
        TaskStatus(a).can_transition_to(b) or a == b for a, b in itertools.pairwise(statuses)
    )


def test_stream_heartbeats_while_nothing_happens(http: httpx.Client) -> None:
    task = run(http, "local/slow", {"seconds": 1.0, "step": 1.0})
    lines = stream_lines(http, task["id"])
    events = [json.loads(line) for line in lines if line]
    assert sum(e == {"type": "heartbeat"} for e in events) >= 2
    # The status is repeated every two heartbeat intervals without a change.
    repeats = [e for e in events if e.get("fields") == ["status"] and e["data"]["status"] == 7]
    assert len(repeats) >= 1


def test_stream_of_partial_outputs_from_an_async_generator(http: httpx.Client) -> None:
    task = run(http, "local/streaming", {"text": "one two three"})
    events = [json.loads(line) for line in stream_lines(http, task["id"]) if line.strip()]
    outputs = [
        e["data"]["output"]
        for e in events
        if "output" in e.get("fields", []) and e["data"].get("output")
    ]
    assert outputs[-1]["done"] is True
    assert any(o.get("done") is False for o in outputs[:-1])


def test_sse_when_asked(http: httpx.Client) -> None:
    task = run(http, "local/hello", {"prompt": "sse"})
    lines = stream_lines(http, task["id"], accept="text/event-stream")
    payloads = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert payloads and payloads[-1]["data"]["status"] == 10


_TASK_FIELDS = {f.encode_name for f in msgspec.structs.fields(Task)}


def test_run_with_stream_true_returns_the_stream(http: httpx.Client) -> None:
    body = {"app": "local/hello", "input": {"prompt": "s"}, "stream": True}
    ndjson = {"Accept": "application/x-ndjson"}
    with http.stream("POST", "/apps/run", json=body, headers=ndjson) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line.strip()]
    assert lines[-1]["data"]["status"] == 10
    # The same wire shape as /tasks/{id}/stream: TaskDTO fields only, no internal bookkeeping.
    lines = [line for line in lines if "data" in line]  # not the heartbeats
    for line in lines:
        assert set(line["data"]) <= _TASK_FIELDS, set(line["data"]) - _TASK_FIELDS
    again = [json.loads(x) for x in stream_lines(http, lines[0]["data"]["id"]) if x.strip()]
    again = [line for line in again if "data" in line]
    assert set(lines[-1]["data"]) == set(again[-1]["data"])


def test_stream_of_a_finished_task_is_one_snapshot(http: httpx.Client) -> None:
    task = run(http, "local/hello", {"prompt": "done"}, wait=True)
    events = [json.loads(line) for line in stream_lines(http, task["id"]) if line.strip()]
    assert len(events) == 1 and events[0]["data"]["status"] == 10


# --- cancel, failures, crashes, hangs -----------------------------------------------------


def test_failed_app_reports_the_error_and_the_worker_keeps_serving(http: httpx.Client) -> None:
    task = run(http, "local/failing", {"fail": True}, wait=True)
    assert task["status"] == 11 and task["error"]
    again = run(http, "local/failing", {"fail": False}, wait=True)
    assert again["status"] == 10


def test_cancel_running_task_is_graceful(http: httpx.Client) -> None:
    task = run(http, "local/slow", {"seconds": 30, "step": 0.05})
    deadline = time.monotonic() + 20
    while (
        data(http.get(f"/tasks/{task['id']}/status"))["status"] != 7 and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    cancelled = data(http.post(f"/tasks/{task['id']}/cancel"))
    assert cancelled["status"] in (8, 12)
    final = wait_terminal(http, task["id"], timeout=10)
    assert final["status"] == 12
    statuses = [e["status"] for e in final["events"]]
    assert 8 in statuses and statuses[-1] == 12
    # Cooperative cancel keeps the worker: it serves again, its state intact. (The app has two
    # workers here, and the cancelled one may be handed back a moment after its task ended: a
    # few runs reach it.)
    for _ in range(10):
        after = run(http, "local/slow", {"seconds": 0}, wait=True)
        assert after["status"] == 10
        if after["worker_id"] == final["worker_id"]:
            break
    assert after["worker_id"] == final["worker_id"]
    assert after["output"]["cancel_requests"] >= 1


def test_cancel_queued_task_never_runs(http: httpx.Client) -> None:
    blockers = [run(http, "local/slow", {"seconds": 1.5, "step": 0.05}) for _ in range(2)]
    queued = run(http, "local/slow", {"seconds": 0})
    time.sleep(0.2)
    data(http.post(f"/tasks/{queued['id']}/cancel"))
    final = wait_terminal(http, queued["id"], timeout=5)
    assert final["status"] == 12 and "worker_id" not in final
    for blocker in blockers:
        assert wait_terminal(http, blocker["id"])["status"] == 10


def test_crash_fails_the_task_with_the_reason_and_the_worker_is_replaced(
    http: httpx.Client,
) -> None:
    task = run(http, "local/trouble", {"mode": "crash"}, wait=True)
    assert task["status"] == 11
    assert "exited with code 3" in task["error"]
    again = run(http, "local/trouble", {"mode": "ok"}, wait=True)
    assert again["status"] == 10 and again["worker_id"] != task["worker_id"]


def test_hung_worker_is_killed_and_the_task_fails(http: httpx.Client) -> None:
    task = run(http, "local/trouble", {"mode": "freeze"}, wait=True)
    assert task["status"] == 11
    assert "stopped responding" in task["error"]
    again = run(http, "local/trouble", {"mode": "ok"}, wait=True)
    assert again["status"] == 10


def test_cancel_of_a_frozen_worker_kills_it_after_the_timeout(http: httpx.Client) -> None:
    task = run(http, "local/trouble", {"mode": "freeze"})
    time.sleep(0.3)
    data(http.post(f"/tasks/{task['id']}/cancel", json={"timeout": 200}))
    final = wait_terminal(http, task["id"], timeout=10)
    assert final["status"] == 12


def test_concurrency_is_bounded_per_app_and_extra_tasks_queue(http: httpx.Client) -> None:
    # Both workers started first: a task waiting on a worker that is still starting is not in
    # the queue, and on a loaded machine a later task can reach the other worker before it.
    warm = [run(http, "local/slow", {"seconds": 0.4, "step": 0.05}) for _ in range(2)]
    assert len({wait_terminal(http, t["id"])["worker_id"] for t in warm}) == 2
    tasks = [run(http, "local/slow", {"seconds": 0.4, "step": 0.05}) for _ in range(5)]
    finals = [wait_terminal(http, t["id"]) for t in tasks]
    assert all(t["status"] == 10 for t in finals)
    assert len({t["worker_id"] for t in finals}) <= 2
    assert all(2 in [e["status"] for e in t["events"]] for t in finals)
    # The queue is first in, first out: tasks reach a worker in the order they were created.
    dispatched = [next(e["created_at"] for e in t["events"] if e["status"] == 3) for t in finals]
    assert dispatched == sorted(dispatched)
    # At most two ran at once: every task started after all but one of the earlier ones ended.
    ended = [t["updated_at"] for t in finals]
    for i in range(2, len(finals)):
        assert sum(end <= dispatched[i] for end in ended[:i]) >= i - 1


def test_missing_secret_gives_412_with_the_requirements(http: httpx.Client) -> None:
    for headers in ({}, {"X-API-Version": "2"}):
        response = http.post(
            "/apps/run", json={"app": "local/needs-secret", "input": {}}, headers=headers
        )
        assert response.status_code == 412
        body = response.json()
        assert body["satisfied"] is False
        assert body["errors"][0]["type"] == "secret"
        assert body["errors"][0]["key"] == SECRET
        assert SECRET in body["errors"][0]["message"]


# --- files -----------------------------------------------------------------------------------


def upload(
    http: httpx.Client, content: bytes, filename: str, content_type: str = "text/plain"
) -> dict[str, Any]:
    spec = {"uri": "", "filename": filename, "content_type": content_type, "size": len(content)}
    created = data(http.post("/files", json={"files": [spec]}))
    assert isinstance(created, list) and len(created) == 1
    record: dict[str, Any] = created[0]
    # Presigned-style: no Authorization header on the PUT.
    put = httpx.put(
        record["upload_url"],
        content=content,
        headers={"Content-Type": content_type},
        trust_env=False,
    )
    assert put.status_code == 200, put.text
    return record


def test_upload_then_download_and_use_as_input(http: httpx.Client) -> None:
    record = upload(http, b"hello files\n", "notes.txt")
    assert record["upload_url"].startswith(http.base_url.__str__().rstrip("/") + "/storage/upload/")
    got = httpx.get(record["uri"], trust_env=False)
    assert got.status_code == 200 and got.content == b"hello files\n"
    assert got.headers["content-type"].startswith("text/plain")
    task = run(http, "local/files", {"document": record["uri"]}, wait=True)
    assert task["status"] == 10, task.get("error")
    out = task["output"]["upper"]
    assert "path" not in out and out["uri"].startswith("http://127.0.0.1:")
    assert httpx.get(out["uri"], trust_env=False).content == b"HELLO FILES\n"
    meta = data(http.get(f"/files/{record['id']}"))
    assert meta["size"] == len(b"hello files\n") and meta["filename"] == "notes.txt"


def test_file_urls_need_their_signature_and_names_never_reach_the_disk(
    http: httpx.Client, server: LocalPlatform
) -> None:
    record = upload(http, b"x", "../../../etc/passwd")
    assert record["filename"] == "passwd"
    unsigned = httpx.get(record["uri"].split("?")[0], trust_env=False)
    assert unsigned.status_code == 403
    forged = record["upload_url"].rsplit("sig=", 1)[0] + "sig=" + "0" * 40
    assert httpx.put(forged, content=b"evil", trust_env=False).status_code == 403
    traversal = httpx.get(
        f"{server.base_url}/storage/files/..%2F..%2Fapi_key/x?sig=0", trust_env=False
    )
    assert traversal.status_code in (403, 404)
    assert not (server.data_dir / "etc").exists()


def test_upload_size_limits_give_413(http: httpx.Client) -> None:
    declared = http.post(
        "/files", json={"files": [{"filename": "big.bin", "size": 10 * 1024 * 1024}]}
    )
    assert declared.status_code == 413
    created = data(http.post("/files", json={"files": [{"filename": "liar.bin", "size": 10}]}))[0]
    put = httpx.put(created["upload_url"], content=b"x" * 200_000, trust_env=False)
    assert put.status_code == 413 and "limit" in put.json()["error"]["message"]


# --- sessions --------------------------------------------------------------------------------


def test_session_keeps_state_between_calls_and_ends(http: httpx.Client) -> None:
    first = run(
        http,
        "local/counter",
        {"value": 41},
        function="set_value",
        session="new",
        session_timeout=60,
        wait=True,
    )
    session_id = first["session_id"]
    assert session_id.startswith("sess_") and first["session_timeout"] == 60
    second = run(
        http, "local/counter", {"by": 1}, function="increment", session=session_id, wait=True
    )
    assert second["output"] == {"value": 42} and second["session_id"] == session_id
    assert second["worker_id"] == first["worker_id"]
    info = data(http.get(f"/sessions/{session_id}"))
    assert info["status"] == "active" and info["call_count"] == 2 and info["idle_timeout"] == 60
    kept = data(http.post(f"/sessions/{session_id}/keepalive"))
    assert kept["expires_at"] >= info["expires_at"]
    assert any(s["id"] == session_id for s in data(http.get("/sessions")))
    assert http.delete(f"/sessions/{session_id}").status_code == 204
    ended = http.post(
        "/apps/run", json={"app": "local/counter", "input": {}, "session": session_id}
    )
    assert ended.status_code == 410 and ended.json()["error"]["code"] == "SESSION_ENDED"
    assert data(http.get(f"/sessions/{session_id}"))["status"] == "ended"


def test_session_errors(http: httpx.Client) -> None:
    unknown = http.post(
        "/apps/run", json={"app": "local/counter", "input": {}, "session": "sess_nope"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "SESSION_NOT_FOUND"
    assert http.get("/sessions/sess_nope").status_code == 404
    for bad in (0, 3601, "60"):
        response = http.post(
            "/apps/run",
            json={"app": "counter", "input": {}, "session": "new", "session_timeout": bad},
        )
        assert (
            response.status_code == 400 and "session_timeout" in response.json()["error"]["message"]
        )
    without_new = http.post(
        "/apps/run", json={"app": "counter", "input": {}, "session_timeout": 10}
    )
    assert without_new.status_code == 400


def test_idle_session_expires(http: httpx.Client) -> None:
    first = run(http, "local/counter", {}, session="new", session_timeout=1, wait=True)
    time.sleep(2.0)
    response = http.post(
        "/apps/run", json={"app": "local/counter", "input": {}, "session": first["session_id"]}
    )
    assert response.status_code == 410 and response.json()["error"]["code"] == "SESSION_EXPIRED"
    assert data(http.get(f"/sessions/{first['session_id']}"))["status"] == "expired"


def test_session_calls_run_in_order_on_one_worker(http: httpx.Client) -> None:
    first = run(http, "local/counter", {"value": 0}, function="set_value", session="new", wait=True)
    sid = first["session_id"]
    tasks = [
        run(http, "local/counter", {"by": 1}, function="increment", session=sid) for _ in range(4)
    ]
    values = [wait_terminal(http, t["id"])["output"]["value"] for t in tasks]
    assert values == [1, 2, 3, 4]
    http.delete(f"/sessions/{sid}")


# --- records survive a restart ---------------------------------------------------------------


def test_restart_keeps_results_and_fails_running_tasks(tmp_path: Path) -> None:
    from inferencesh.platform.launcher import free_port

    port = free_port()
    # The raw requests below name a host file: the operator allows its folder.
    allow = ["--allow-path", str(EXAMPLES / "files")]
    first = LocalPlatform(
        [EXAMPLES / "slow", EXAMPLES / "files"], data_dir=tmp_path, port=port, args=allow
    )
    with first:
        headers = {"Authorization": f"Bearer {first.api_key}"}
        with httpx.Client(
            base_url=first.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            done = run(client, "local/slow", {"seconds": 0}, wait=True)
            made = run(
                client,
                "local/files",
                {"document": str(EXAMPLES / "files" / "sample.txt")},
                wait=True,
            )
            assert made["status"] == 10, made.get("error")
            running = run(client, "local/slow", {"seconds": 60})
            wait_for = time.monotonic() + 20
            while (
                data(client.get(f"/tasks/{running['id']}/status"))["status"] != 7
                and time.monotonic() < wait_for
            ):
                time.sleep(0.05)
        first.stop(kill=True)
    # Workers do not outlive a killed server (Linux: parent-death signal).
    deadline = time.monotonic() + 10
    while _worker_pids(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _worker_pids(first)
    second = LocalPlatform([EXAMPLES / "slow", EXAMPLES / "files"], data_dir=tmp_path, port=port)
    with second:
        assert second.api_key == first.api_key  # kept in the data dir
        headers = {"Authorization": f"Bearer {second.api_key}"}
        with httpx.Client(
            base_url=second.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            kept = data(client.get(f"/tasks/{done['id']}"))
            assert kept["status"] == 10 and kept["output"] == done["output"]
            failed = data(client.get(f"/tasks/{running['id']}"))
            assert failed["status"] == 11
            assert "stopped while this task was running" in failed["error"]
            file_uri = made["output"]["upper"]["uri"]
            assert httpx.get(file_uri, trust_env=False).content.strip() != b""


# --- webhooks, listings, shutdown ----------------------------------------------------------


def test_webhook_receives_the_finished_task(http: httpx.Client) -> None:
    import queue
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.put(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
        task = run(http, "local/hello", {"prompt": "hooked"}, webhook=url)
        payload = received.get(timeout=20)
        assert payload["event"] == "task.completed"
        assert payload["data"]["id"] == task["id"] and payload["data"]["status"] == 10
        assert set(payload["data"]) <= _TASK_FIELDS, set(payload["data"]) - _TASK_FIELDS
    finally:
        hook.shutdown()
        hook.server_close()


def _listed(http: httpx.Client, kind: str) -> tuple[int, set[str]]:
    """A list's ``total_items`` and the ids of every page of it, which the total must match."""
    first = data(http.post(f"/{kind}/list", json={"limit": 2}))
    ids, page = [item["id"] for item in first["items"]], first
    while page["has_next"]:
        page = data(http.post(f"/{kind}/list", json={"limit": 100, "cursor": page["next_cursor"]}))
        ids += [item["id"] for item in page["items"]]
    assert first["total_items"] == len(ids) == len(set(ids)), (kind, first["total_items"], ids)
    return first["total_items"], set(ids)


def test_list_totals_count_every_record(http: httpx.Client) -> None:
    tasks, _ = _listed(http, "tasks")
    task = run(http, "local/hello", {"prompt": "counted"}, wait=True)
    total, ids = _listed(http, "tasks")
    assert total == tasks + 1 and task["id"] in ids
    files, _ = _listed(http, "files")
    record = upload(http, b"counted", "counted.txt")
    total, ids = _listed(http, "files")
    assert total == files + 1 and record["id"] in ids
    assert http.delete(f"/tasks/{task['id']}").status_code == 204
    assert http.delete(f"/files/{record['id']}").status_code == 204
    assert _listed(http, "tasks")[0] == tasks and _listed(http, "files")[0] == files


def test_list_logs_and_delete_tasks_and_files(http: httpx.Client) -> None:
    task = run(http, "local/hello", {"prompt": "listed"}, wait=True)
    listing = data(http.post("/tasks/list", json={"limit": 500}))
    assert any(t["id"] == task["id"] for t in listing["items"])
    logs = data(http.get(f"/tasks/{task['id']}/logs"))
    assert logs["task_id"] == task["id"] and logs["status"] == 10 and logs["logs"]
    assert http.delete(f"/tasks/{task['id']}").status_code == 204
    assert http.get(f"/tasks/{task['id']}").status_code == 404
    running = run(http, "local/slow", {"seconds": 5})
    assert http.delete(f"/tasks/{running['id']}").status_code == 409
    http.post(f"/tasks/{running['id']}/cancel", json={"force": True})
    record = upload(http, b"gone soon", "gone.txt")
    assert any(f["id"] == record["id"] for f in data(http.post("/files/list", json={}))["items"])
    assert http.delete(f"/files/{record['id']}").status_code == 204
    assert httpx.get(record["uri"], trust_env=False).status_code == 404


def _worker_pids(server: LocalPlatform) -> list[int]:
    """Live worker processes of one platform: their environment names the server's pid (their
    command line no longer names its data dir, which app code must not learn)."""
    assert server.process is not None
    mark = f"INFERENCESH_PARENT_PID={server.process.pid}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes().split(b"\0")
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"inferencesh.apps.worker" in cmdline and mark in environ and state != "Z":
                pids.append(int(proc.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find worker processes")
def test_stop_fails_running_tasks_and_leaves_no_workers(tmp_path: Path) -> None:
    platform = LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path)
    with platform:
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        with httpx.Client(
            base_url=platform.base_url, headers=headers, trust_env=False, timeout=30
        ) as client:
            running = run(client, "local/slow", {"seconds": 60})
            deadline = time.monotonic() + 20
            while data(client.get(f"/tasks/{running['id']}/status"))["status"] != 7:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert _worker_pids(platform)
    assert not _worker_pids(platform)  # a clean stop shuts its workers down
    with LocalPlatform([EXAMPLES / "slow"], data_dir=tmp_path) as again:
        headers = {"Authorization": f"Bearer {again.api_key}"}
        task = httpx.get(
            f"{again.base_url}/tasks/{running['id']}", headers=headers, trust_env=False
        ).json()["data"]
        assert task["status"] == 11 and "shut down" in task["error"]


def test_a_retried_create_with_the_same_idempotency_key_makes_one_task(http: httpx.Client) -> None:
    body = {"app": "local/counter", "input": {}, "session": "new"}
    headers = {"Idempotency-Key": "retry-test-1"}
    first = data(http.post("/apps/run", json=body, headers=headers))
    again = data(http.post("/apps/run", json=body, headers=headers))
    assert again["id"] == first["id"] and again["session_id"] == first["session_id"]
    other = http.post("/apps/run", json={**body, "input": {"x": 1}}, headers=headers)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["error"]["message"]
    fresh = data(http.post("/apps/run", json=body, headers={"Idempotency-Key": "retry-test-2"}))
    assert fresh["id"] != first["id"]
    for task in (first, fresh):
        wait_terminal(http, task["id"])
        http.delete(f"/sessions/{task['session_id']}")


def test_an_app_that_cannot_load_fails_its_tasks_with_the_reason(http: httpx.Client) -> None:
    task = run(http, "local/broken", {}, wait=True)
    assert task["status"] == 11
    assert "before it was ready" in task["error"] and "SyntaxError" in task["error"]
    assert run(http, "local/hello", {"prompt": "still fine"}, wait=True)["status"] == 10
    in_session = run(http, "local/broken", {}, session="new", wait=True)
    assert in_session["status"] == 11
    info = data(http.get(f"/sessions/{in_session['session_id']}"))
    assert info["status"] == "ended"
    again = http.post(
        "/apps/run", json={"app": "local/broken", "input": {}, "session": in_session["session_id"]}
    )
    assert again.status_code == 410 and "could not start" in again.json()["error"]["message"]


def test_very_long_logs_keep_their_end(http: httpx.Client) -> None:
    task = run(http, "local/trouble", {"mode": "chatty"}, wait=True)
    assert task["status"] == 10
    content = next(log["content"] for log in task["logs"] if log["log_type"] == 1)
    assert content.startswith("[... earlier output truncated ...]")
    assert len(content) <= 1_000_100
    assert content.rstrip().endswith("01199" + "x" * 995)

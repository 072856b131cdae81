"""The local platform checked against the protocol reference
(`/work/shared/reference/platform-protocol.md`), outside agents and chats: a real
`inferencesh dev` process, real workers and raw HTTP in both envelopes. Each test names the
reference section it holds the server to."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import App, PlatformFactory, api_client, data, run

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "apps"
PRESENT = "INFSH_CONFORMANCE_PRESENT"
ABSENT = "INFSH_CONFORMANCE_ABSENT"
V2 = {"X-API-Version": "2"}

METERED_APP = """
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from inferencesh.models.output_meta import OutputMeta, TextMeta

class AppInput(BaseAppInput):
    text: str = "hi"

class AppOutput(BaseAppOutput):
    text: str

class App(BaseApp):
    async def run(self, input_data: AppInput):
        meta = OutputMeta(outputs=[TextMeta(tokens=len(input_data.text))])
        yield AppOutput(text="partial", output_meta=meta)
        yield AppOutput(text=input_data.text.upper(), output_meta=meta)
"""


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [EXAMPLES / "hello", App("metered", METERED_APP)], env={ABSENT: None, PRESENT: "set"}
    )


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server, timeout=30) as client:
        yield client


# §1.5 "API output strips the internal pricing field output_meta"; §3.4 (billing reads it).
def test_output_meta_is_stripped_from_task_output(http: httpx.Client) -> None:
    task = run(http, "local/metered", {"text": "abc"}, wait=True)
    assert task["status"] == 10, task
    assert task["output"] == {"text": "ABC"}
    again = http.get(f"/tasks/{task['id']}", headers=V2).json()
    assert again["output"] == {"text": "ABC"}
    listed = data(http.post("/tasks/list", json={"limit": 5}))["items"]
    assert all("output_meta" not in (t.get("output") or {}) for t in listed)


# §1.5 and §2.2: partial outputs on a stream are API output too.
def test_output_meta_is_stripped_from_streamed_outputs(http: httpx.Client) -> None:
    body = {"app": "local/metered", "input": {"text": "xy"}, "stream": True}
    outputs = []
    ndjson = {"Accept": "application/x-ndjson"}
    with http.stream("POST", "/apps/run", json=body, headers=ndjson) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            event = json.loads(line)
            if "output" in event.get("data", {}) and event["data"]["output"] is not None:
                outputs.append(event["data"]["output"])
    assert outputs, "the stream carried no output"
    assert outputs[-1] == {"text": "XY"}
    assert all("output_meta" not in o for o in outputs), outputs


# §2.1: `stream: true` on POST /apps/run "returns SSE directly"; NDJSON when asked for.
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/event-stream"),
        ("*/*", "text/event-stream"),
        ("text/event-stream", "text/event-stream"),
        ("application/x-ndjson", "application/x-ndjson"),
        ("application/x-ndjson, text/event-stream", "application/x-ndjson"),
    ],
)
def test_run_with_stream_true_answers_sse_unless_ndjson_is_asked_for(
    server: LocalPlatform, accept: str | None, expected: str
) -> None:
    body = {"app": "local/hello", "input": {"prompt": "fmt"}, "stream": True}
    with api_client(server) as http:
        del http.headers["accept"]  # httpx sends `*/*` unless told otherwise
        headers = {} if accept is None else {"Accept": accept}
        with http.stream("POST", "/apps/run", json=body, headers=headers) as response:
            assert response.headers["content-type"].startswith(expected)
            text = response.read().decode()
        if expected == "text/event-stream":
            payloads = [f[len("data: ") :] for f in text.split("\n\n") if f.startswith("data: ")]
        else:
            payloads = text.splitlines()
        last = json.loads(payloads[-1])["data"]
        assert last["status"] == 10
        # A task's own stream keeps NDJSON as its default.
        with http.stream("GET", f"/tasks/{last['id']}/stream") as response:
            assert response.headers["content-type"].startswith("application/x-ndjson")


# §7 Pagination: CursorListRequest{cursor,...} -> CursorListResponse{items, next_cursor,
# prev_cursor, has_next, has_previous, items_per_page, total_items}.
@pytest.mark.parametrize("path", ["/tasks/list", "/files/list"])
def test_list_pages_follow_cursors(http: httpx.Client, path: str) -> None:
    for _ in range(3):
        run(http, "local/hello", {"prompt": "page"}, wait=True)
        http.post("/files", json={"files": [{"uri": "", "filename": "p.txt", "size": 1}]})
    first = data(http.post(path, json={"limit": 2}))
    assert first["has_next"] is True and first["has_previous"] is False
    assert isinstance(first["next_cursor"], str) and first["next_cursor"]
    assert first["items_per_page"] == 2 and first["total_items"] >= 3
    second = data(http.post(path, json={"limit": 2, "cursor": first["next_cursor"]}))
    assert second["has_previous"] is True
    assert isinstance(second["prev_cursor"], str) and second["prev_cursor"]
    ids = [t["id"] for t in first["items"]] + [t["id"] for t in second["items"]]
    assert len(ids) == len(set(ids)) == 2 + len(second["items"])
    back = data(http.post(path, json={"limit": 2, "cursor": second["prev_cursor"]}))
    assert [t["id"] for t in back["items"]] == [t["id"] for t in first["items"]]
    # v2: the same page, bare.
    bare = http.post(path, json={"limit": 2}, headers=V2).json()
    assert bare["next_cursor"] == first["next_cursor"]


# §7 Pagination: a cursor the server did not make is a bad request that says so.
def test_list_rejects_a_foreign_cursor(http: httpx.Client) -> None:
    response = http.post("/tasks/list", json={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "cursor" in error["message"]


# §1.3: POST /integrations/check {secrets?, credentials?/integrations?} -> {satisfied, errors}.
def test_integrations_check_reports_missing_secrets(http: httpx.Client) -> None:
    fine = data(http.post("/integrations/check", json={"secrets": [PRESENT]}))
    assert fine == {"satisfied": True, "errors": []}
    body = {"secrets": [{"key": PRESENT}, {"key": ABSENT}, {"key": "X_OPT", "optional": True}]}
    result = data(http.post("/integrations/check", json=body))
    assert result["satisfied"] is False
    assert [(e["type"], e["key"]) for e in result["errors"]] == [("secret", ABSENT)]
    assert ABSENT in result["errors"][0]["message"]
    assert result["errors"][0]["action"]["type"] == "add_secret"
    bare = http.post("/integrations/check", json={"secrets": [ABSENT]}, headers=V2).json()
    assert bare["satisfied"] is False and bare["errors"][0]["key"] == ABSENT


# §1.3: credentials cannot be connected to a local platform, so each one asked for is missing.
def test_integrations_check_reports_credentials(http: httpx.Client) -> None:
    for field in ("credentials", "integrations"):
        body = {field: [{"provider": "google", "key": "google.sheets"}]}
        result = data(http.post("/integrations/check", json=body))
        assert result["satisfied"] is False
        (error,) = result["errors"]
        assert error["type"] == "credential" and error["key"] == "google.sheets"
        assert error["action"] == {"type": "connect", "provider": "google"}


# §1.2 invalid_request: a malformed check names what was wrong.
def test_integrations_check_rejects_bad_bodies(http: httpx.Client) -> None:
    response = http.post("/integrations/check", json={"secrets": [3]})
    assert response.status_code == 400
    assert "secrets[0]" in response.json()["error"]["message"]
    response = http.post("/integrations/check", json=[1], headers=V2)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


# §1.5 `run_at`: "task stays queued until that time; past timestamps run immediately".
def test_run_at_keeps_a_task_queued_until_its_time(http: httpx.Client) -> None:
    at = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    body = {"app": "local/hello", "input": {"prompt": "later"}, "run_at": at.isoformat()}
    task = data(http.post("/apps/run", json=body))
    assert task["run_at"].endswith("Z")
    assert datetime.fromisoformat(task["run_at"].replace("Z", "+00:00")) == at
    time.sleep(0.5)
    assert data(http.get(f"/tasks/{task['id']}/status"))["status"] == 2  # queued
    done = data(http.post("/apps/run", json={**body, "wait": True, "run_at": None}))
    assert done["status"] == 10  # a task without run_at is not held behind it
    events = data(http.get(f"/tasks/{task['id']}/logs"))["events"]
    while not any(e["status"] == 10 for e in events):
        time.sleep(0.1)
        events = data(http.get(f"/tasks/{task['id']}/logs"))["events"]
    started = next(e for e in events if e["status"] == 3)  # dispatched
    assert datetime.fromisoformat(started["event_time"].replace("Z", "+00:00")) >= at


def test_run_at_in_the_past_runs_at_once(http: httpx.Client) -> None:
    body = {"app": "local/hello", "input": {"prompt": "now"}, "run_at": "2020-01-01T00:00:00Z"}
    task = data(http.post("/apps/run", json={**body, "wait": True}))
    assert task["status"] == 10 and task["run_at"] == "2020-01-01T00:00:00Z"


def test_a_scheduled_task_cancels_at_once(http: httpx.Client) -> None:
    at = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    task = data(http.post("/apps/run", json={"app": "local/hello", "input": {}, "run_at": at}))
    assert data(http.post(f"/tasks/{task['id']}/cancel"))["status"] == 12
    assert data(http.get(f"/tasks/{task['id']}/status"))["status"] == 12
    now = {"app": "local/hello", "input": {"prompt": "p"}, "wait": True}
    assert data(http.post("/apps/run", json=now))["status"] == 10


@pytest.mark.parametrize(
    ("value", "why"),
    [("tomorrow", "ISO 8601"), ("2030-01-01T00:00:00", "time zone"), (5, "ISO 8601")],
)
def test_run_at_must_be_a_zoned_timestamp(http: httpx.Client, value: Any, why: str) -> None:
    response = http.post("/apps/run", json={"app": "local/hello", "run_at": value}, headers=V2)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "run_at" in detail and why in detail

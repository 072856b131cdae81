"""Hostile request shapes meet named limits (issue 16, items 5, 8 and 9): bodies nested too
deeply, huge paging values and too many entries get a 4xx that names the limit, the server
keeps answering others meanwhile, and an error reply leaves the connection open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from inferencesh import Inference, InferenceError
from inferencesh.core.requests import RequestError
from inferencesh.platform.limits import json_depth
from platform_testkit import App, PlatformFactory, SharedPlatform, api_client, data

ECHO = """
from typing import Any
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    value: Any = None

class AppOutput(BaseAppOutput):
    value: Any = None
    depth: int = 0

def _depth(v):
    d = 0
    while isinstance(v, dict) and v:
        v = next(iter(v.values()))
        d += 1
    return d

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        v = input_data.value
        if isinstance(v, dict) and v.get("make_deep"):
            deep = 1
            for _ in range(int(v["make_deep"])):
                deep = {"a": deep}
            return AppOutput(value=deep)
        return AppOutput(value=v, depth=_depth(v))
"""


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.fixture(scope="module")
def limited(local_platform: PlatformFactory) -> SharedPlatform:
    return local_platform(
        [App("echo", ECHO)],
        args=["--max-json-depth", "40", "--max-files-per-request", "50"],
    )


@pytest.fixture(scope="module")
def http(limited: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(limited) as client:
        yield client


def test_json_depth_scans_without_recursing() -> None:
    assert json_depth(b"1") == 0
    assert json_depth(b'[[], {"k": "]]]}}}"}]') == 2
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000


@pytest.mark.parametrize("depth", [41, 1000, 100_000])
def test_a_body_nested_too_deeply_gets_a_400_naming_the_limit(
    http: httpx.Client, depth: int
) -> None:
    body = b'{"app": "local/echo", "input": {"value": ' + nested(depth) + b"}}"
    response = http.post("/apps/run", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "the limit is 40" in message and "--max-json-depth" in message
    # Every JSON route, not only runs.
    for path in ("/tasks/list", "/files/list", "/files", "/integrations/check"):
        reply = http.post(path, content=nested(depth))
        assert reply.status_code == 400 and "--max-json-depth" in reply.text, (path, reply.text)


def test_a_body_within_the_limit_runs(http: httpx.Client) -> None:
    value = 1
    for _ in range(35):
        value = {"a": value}  # + app, input and value levels: 38 in all
    task = data(
        http.post("/apps/run", json={"app": "local/echo", "input": {"value": value}, "wait": True})
    )
    assert task["output"]["depth"] == 35, task
    files = data(http.get(f"/tasks/{task['id']}/files"))
    assert files == []


def test_an_output_nested_too_deeply_fails_its_task_and_its_routes_still_answer(
    http: httpx.Client,
) -> None:
    task = data(
        http.post(
            "/apps/run",
            json={"app": "local/echo", "input": {"value": {"make_deep": 3000}}, "wait": True},
        )
    )
    assert task["status"] == 11, task  # failed, with a reason, not stuck
    assert task["error"]
    for path in (f"/tasks/{task['id']}", f"/tasks/{task['id']}/files"):
        assert http.get(path).status_code == 200, path
    assert http.post("/tasks/list", json={}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("offset", 10**30), ("offset", "9" * 5000), ("limit", 10**30), ("offset", 2**63)],
)
def test_huge_paging_values_get_a_400_naming_the_limit(
    http: httpx.Client, field: str, value: object
) -> None:
    for path in ("/tasks/list", "/files/list"):
        reply = http.post(path, json={field: value})
        assert reply.status_code == 400, (path, reply.text)
        assert f"`{field}`" in reply.json()["error"]["message"]
        reply = http.post(path, params={field: str(value)})
        assert reply.status_code == 400, (path, reply.text)


def test_a_huge_cursor_gets_a_400(http: httpx.Client) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(b"offset:" + b"9" * 40).decode()
    reply = http.post("/tasks/list", json={"cursor": cursor})
    assert reply.status_code == 400 and "`cursor`" in reply.text
    cursor = base64.urlsafe_b64encode(b"offset:99999999999").decode()
    reply = http.post("/tasks/list", json={"cursor": cursor})
    assert reply.status_code == 400 and "at most 1000000000" in reply.text


def test_too_many_file_entries_get_a_413_and_the_server_keeps_answering(
    http: httpx.Client, limited: SharedPlatform
) -> None:
    body = {"files": [{}] * 1_000_000}  # 3 MB
    slowest: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with api_client(limited) as other:
            while not done.is_set():
                started = time.monotonic()
                assert other.get("/health").status_code == 200
                slowest.append(time.monotonic() - started)
                time.sleep(0.02)

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        before = data(http.post("/files/list", json={}))["total_items"]
        reply = http.post("/files", json=body)
    finally:
        done.set()
        thread.join()
    assert 400 <= reply.status_code < 500, reply.text
    assert "256" in reply.json()["error"]["message"]  # the request's own limit
    assert data(http.post("/files/list", json={}))["total_items"] == before  # nothing created
    assert max(slowest) < 5.0, max(slowest)
    reply = http.post("/files", json={"files": [{"filename": "a.txt"}] * 51})
    assert reply.status_code == 413, reply.text
    message = reply.json()["error"]["message"]
    assert "limit is 50" in message and "--max-files-per-request" in message
    assert len(data(http.post("/files", json={"files": [{"filename": "a.txt"}] * 50}))) == 50


def test_the_connection_stays_open_after_error_replies(http: httpx.Client) -> None:
    transport = httpx.HTTPTransport()
    with httpx.Client(
        base_url=str(http.base_url), headers=dict(http.headers), transport=transport
    ) as client:
        assert client.get("/tasks/nope").status_code == 404
        assert client.post("/tasks/list", content=nested(500)).status_code == 400
        assert client.post("/tasks/list", json={"offset": 10**30}).status_code == 400
        assert client.post("/files", json={"files": [{}] * 51}).status_code == 413
        reply = client.get("/health")
        assert reply.status_code == 200
        assert reply.headers.get("connection") != "close"
        # One connection served them all: no error reply closed it.
        assert len(transport._pool.connections) == 1


def test_the_client_raises_its_own_errors_for_deep_values(limited: SharedPlatform) -> None:
    deep: object = 1
    for _ in range(5000):
        deep = {"a": deep}
    with Inference(api_key=limited.api_key, base_url=limited.base_url) as client:
        with pytest.raises(InferenceError) as server_side:
            client.run({"app": "local/echo", "input": {"value": nested_value(60)}})
        assert "--max-json-depth" in str(server_side.value)
        with pytest.raises((RequestError, InferenceError)) as client_side:
            client.run({"app": "local/echo", "input": {"value": deep}})
        assert "deep" in str(client_side.value)


def nested_value(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value

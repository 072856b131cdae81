"""``GET /apps/{id}`` and ``GET /apps/{ns}/{name}``: one app with its schemas, as its worker
serves them (functions with kind, capabilities, description, annotations), over a real local
platform with real app code in worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.sources import CodeWatch
from platform_testkit import App, PlatformFactory, api_client, data, run, write_app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"

COMPLETED = 10

# Loads, but its input model has a field pydantic gives no JSON Schema for.
UNSCHEMABLE = """\
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import ConfigDict


class Opaque:
    pass


class AppInput(BaseAppInput):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    thing: Opaque | None = None


class AppOutput(BaseAppOutput):
    ok: bool


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(ok=True)
"""

VERSIONED = """\
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput


class AppInput(BaseAppInput):
    {field}: str = ""


class AppOutput(BaseAppOutput):
    ok: bool


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(ok=True)
"""


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(
        tmp_path_factory.mktemp("schema-route"), "versioned", VERSIONED.format(field="first")
    )


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory, versioned: Path) -> Any:
    return local_platform(
        [
            EXAMPLES / "chat-036",
            EXAMPLES / "live-echo",
            App("unschemable", UNSCHEMABLE),
            App("broken", "raise RuntimeError('cannot import this app: no model weights')\n"),
            versioned,
        ],
        name="app-schemas-route",
    )


def get_app(http: httpx.Client, path: str) -> dict[str, Any]:
    app: dict[str, Any] = data(http.get(path))
    return app


def test_an_app_with_its_functions_kinds_capabilities_and_annotations(server: Any) -> None:
    with api_client(server) as http:
        app = get_app(http, "/apps/local/chat-036")
    assert (app["id"], app["namespace"], app["name"]) == ("local/chat-036", "local", "chat-036")
    version = app["version"]
    assert version["default_function"] == "run"
    functions = version["functions"]
    assert list(functions) == ["run", "plan_clip", "openai"]
    for name, entry in functions.items():
        assert entry["name"] == name
        assert entry["kind"] == "run"
        assert entry["description"]
        assert entry["input_schema"]["type"] == "object"
        assert entry["output_schema"]["type"] == "object"
    # `run` takes an LLMInput and returns an LLMOutput.
    assert functions["run"]["capabilities"] == ["llm"]
    assert functions["plan_clip"]["capabilities"] == []
    assert functions["plan_clip"]["description"] == "Plan the shots of a short video clip."
    assert functions["plan_clip"]["annotations"] == {
        "title": "Plan a clip",
        "readOnlyHint": True,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert functions["plan_clip"]["credentials"] == [
        {"slug": "storyboard", "capabilities": ["storyboard.clips.read"]}
    ]
    assert "annotations" not in functions["run"]
    # The version's own schemas are the default function's.
    assert version["input_schema"] == functions["run"]["input_schema"]
    assert version["output_schema"] == functions["run"]["output_schema"]
    assert "prompt" in functions["plan_clip"]["input_schema"]["properties"]
    assert version["setup_schema"]["type"] == "object"


def test_a_stream_function_has_kind_stream(server: Any) -> None:
    with api_client(server) as http:
        app = get_app(http, "/apps/live-echo")
    assert app["id"] == "local/live-echo"
    echo = app["version"]["functions"]["echo"]
    assert echo["kind"] == "stream"
    assert echo["description"] == "Echo audio back, with a running transcript."
    assert app["version"]["default_function"] == "echo"
    assert app["version"]["setup_schema"] is None


def test_both_paths_and_any_namespace_name_the_same_app(server: Any) -> None:
    with api_client(server) as http:
        by_id = get_app(http, "/apps/chat-036")
        by_name = get_app(http, "/apps/local/chat-036")
        encoded = get_app(http, "/apps/local%2Fchat-036")
        v2 = http.get("/v1/apps/local/chat-036", headers={"X-Api-Version": "2"})
    assert by_id == by_name == encoded
    assert v2.status_code == 200 and v2.json() == by_id  # v2: the bare DTO


def test_the_schema_is_that_of_a_worker_of_the_apps_pool(server: Any) -> None:
    # Read from the pool: a run afterwards finds the worker warm (one worker, not two).
    with api_client(server) as http:
        get_app(http, "/apps/local/chat-036")
        task = run(
            http,
            "local/chat-036",
            {"prompt": "a cat", "seconds": 2},
            wait=True,
            function="plan_clip",
        )
        assert task["status"] == COMPLETED, task
        health = data(http.get("/health"))
    assert health["apps"]["chat-036"]["workers"] == 1


def test_an_unknown_app_is_a_404_problem(server: Any) -> None:
    with api_client(server) as http:
        v1 = http.get("/apps/local/nope")
        v2 = http.get("/apps/nope", headers={"X-Api-Version": "2"})
    assert v1.status_code == 404
    body = v1.json()
    assert body["success"] is False and body["status"] == 404
    assert body["error"]["code"] == "not_found"
    assert "local/chat-036" in body["error"]["message"]  # it lists what is served
    assert v2.status_code == 404
    problem = v2.json()
    assert v2.headers["content-type"].startswith("application/problem+json")
    assert (problem["status"], problem["code"], problem["title"]) == (404, "not_found", "Not Found")
    assert "'nope'" in problem["detail"]


def test_auth_is_required(server: Any) -> None:
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as http:
        missing = http.get("/apps/local/chat-036")
        wrong = http.get("/apps/chat-036", headers={"Authorization": "Bearer not-the-key"})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert "input_schema" not in missing.text


def test_an_app_whose_models_give_no_schema_is_an_error_naming_it(server: Any) -> None:
    with api_client(server) as http:
        response = http.get("/apps/local/unschemable")
        again = http.get("/apps/local/unschemable")
        # The worker stays usable for runs.
        task = run(http, "local/unschemable", {}, wait=True)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "app_schema_failed"
    assert "local/unschemable" in error["message"]
    assert "schema cannot be generated" in error["message"]
    assert "Opaque" in error["message"]
    assert again.status_code == 500
    assert task["status"] == COMPLETED, task


def test_an_app_that_cannot_load_is_an_error_with_the_reason(server: Any) -> None:
    with api_client(server) as http:
        response = http.get("/apps/broken")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "app_schema_failed"
    assert "local/broken" in error["message"]
    assert "no model weights" in error["message"]


def test_an_edit_of_the_code_is_served_after_a_reload(server: Any, versioned: Path) -> None:
    with api_client(server) as http:
        before = get_app(http, "/apps/local/versioned")
        cached = get_app(http, "/apps/local/versioned")
        path = versioned / "inference.py"
        mtime = path.stat().st_mtime_ns
        path.write_text(VERSIONED.format(field="second"))
        if path.stat().st_mtime_ns <= mtime:
            os.utime(path, ns=(mtime + 1_000_000, mtime + 1_000_000))
        time.sleep(CodeWatch.MAX_INTERVAL)
        after = get_app(http, "/apps/local/versioned")
    assert list(before["version"]["input_schema"]["properties"]) == ["first"]
    assert cached == before
    assert list(after["version"]["input_schema"]["properties"]) == ["second"]

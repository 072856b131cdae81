"""App tools declared without params are offered the app's own input schema (read from a
worker's ``GET /schema``), on the real local platform with the scripted model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import pytest
from inferencesh import app_tool, inference, string
from platform_testkit import App, PlatformFactory


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    broken = App(
        "broken", 'raise RuntimeError("broken on purpose")\n', "description: fails to import\n"
    )
    apps = [e2e.APPS / "multi_function", e2e.APPS / "counter", broken]
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS], apps=apps)
    yield server
    server.close()


def offered(platform: Any, *tools: Any) -> dict[str, Any]:
    """The tools (name -> parameters) the model was offered on one turn with ``tools``."""
    config = dict(e2e.scripted({"text": "done"}), tools=list(tools))
    with inference(api_key=e2e.KEY, base_url=platform.base_url) as client:
        response = client.agent(config).send_message("go")
    assert response.text == "done", response.text
    task = platform.call("GET", f"/tasks/{response.messages[0].task_id}")
    return {t["function"]["name"]: t["function"]["parameters"] for t in task["input"]["tools"]}


def test_an_app_tool_without_params_is_offered_the_apps_input_schema(platform: Any) -> None:
    tools = offered(platform, app_tool("hello", "local/hello").describe("Greets"))
    schema = tools["hello"]
    # Before: an empty object schema, so the model could not know the app's arguments.
    assert set(schema["properties"]) == {"prompt", "style", "count"}
    assert schema["properties"]["prompt"]["type"] == "string"
    assert schema["required"] == ["prompt"]


def test_a_function_app_tool_is_offered_that_functions_schema(platform: Any) -> None:
    reverse = app_tool("reverse", "local/multi-function").function("reverse")
    greet = app_tool("greet", "local/multi-function")
    tools = offered(platform, reverse, greet)
    assert set(tools["reverse"]["properties"]) == {"text"}
    assert tools["reverse"]["required"] == ["text"]
    assert set(tools["greet"]["properties"]) == {"name"}  # the default function, run


def test_preset_inputs_are_not_required_and_sessions_keep_their_argument(
    platform: Any,
) -> None:
    preset = app_tool("styled", "local/hello").input({"prompt": "fixed"})
    counter = app_tool("count", "local/counter").function("increment").session_enabled()
    tools = offered(platform, preset, counter)
    assert "prompt" in tools["styled"]["properties"]
    assert "prompt" not in tools["styled"].get("required", [])
    assert tools["count"]["properties"]["session"]["type"] == "string"
    assert "by" in tools["count"]["properties"]


def test_declared_params_still_win_over_the_apps_schema(platform: Any) -> None:
    narrow = app_tool("narrow", "local/hello").param("prompt", string("What to say"))
    tools = offered(platform, narrow)
    assert set(tools["narrow"]["properties"]) == {"prompt"}


def test_an_app_that_cannot_load_is_offered_the_empty_schema(platform: Any) -> None:
    tools = offered(platform, app_tool("broken", "local/broken"), app_tool("hi", "local/hello"))
    assert tools["broken"] == {"type": "object", "properties": {}}
    assert "prompt" in tools["hi"]["properties"]  # one failure does not hide the others
    log = platform.server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "app tool 'broken' is offered an empty schema" in log


def test_the_schema_is_read_once_and_the_worker_is_given_back(platform: Any) -> None:
    for _ in range(3):
        offered(platform, app_tool("hello", "local/hello"))
    # Borrowed through the pool and released: one warm worker, free for the next task.
    assert platform.call("GET", "/health")["apps"]["hello"]["workers"] == 1
    with inference(api_key=e2e.KEY, base_url=platform.base_url) as client:
        task = client.run({"app": "local/hello", "input": {"prompt": "hi"}})
    assert task.output["result"] == "modern: hi"

"""Request bodies at both ends: the client and the local platform check a run, a file creation and
an agent config with the same structs (``inferencesh.core.requests``), so the same bad body is
refused by the client before anything is sent and by the platform with a 400 naming the same
field in the same words. Hostile bodies are refused cleanly and leave the server serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.agents import AgentConfigError
from inferencesh.core import Inference, inference
from inferencesh.core.files import UploadFileOptions
from inferencesh.core.requests import RequestError
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory, api_client, data

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"
AGENTS = ROOT / "examples" / "agents"
V2 = {"X-API-Version": "2"}


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    # Its own platform (name): the tests count the tasks it holds.
    return local_platform(
        [APPS / "hello", APPS / "scripted-model"],
        agents=[AGENTS],
        args=["--max-request-mb", "2"],
        name="request-bodies",
    )


@pytest.fixture(scope="module")
def http(server: LocalPlatform) -> Iterator[httpx.Client]:
    with api_client(server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def client(server: LocalPlatform) -> Iterator[Inference]:
    with inference(api_key=server.api_key, base_url=server.base_url) as sdk:
        yield sdk


def _tasks(http: httpx.Client) -> int:
    return int(data(http.post("/tasks/list", json={"limit": 1}))["total_items"])


def _files(http: httpx.Client) -> int:
    return int(data(http.post("/files/list", json={"limit": 1}))["total_items"])


def _refused(response: httpx.Response) -> str:
    """The message of a 400 answer, checked in the v1 envelope."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "invalid_request"
    message: str = body["error"]["message"]
    return message


# ---- runs ---------------------------------------------------------------------------------------

BAD_RUNS = [
    ({"app": "local/hello", "session": "new", "session_timeout": 0}, "session_timeout"),
    ({"app": "local/hello", "session": "new", "session_timeout": 3601}, "session_timeout"),
    ({"app": "local/hello", "session_timeout": 30}, "session_timeout"),
    ({"app": "local/hello", "input": [1, 2]}, "input"),
    ({"app": "local/hello", "setup": "big"}, "setup"),
    ({"app": "local/hello", "webhook": "ftp://x.test/h"}, "webhook"),
    ({"app": "local/hello", "function": "do it"}, "function"),
    ({"app": "local hello"}, "app"),
    ({"input": {"prompt": "x"}}, "app"),
    ({"app": "local/hello", "workers": ["w", 1]}, "workers[1]"),
    ({"app": "local/hello", "run_at": "soon"}, "run_at"),
    ({"app": "local/hello", "metadata": 5}, "metadata"),
]


def _subscripts(field: str) -> str:
    name, _, index = field.partition("[")
    return f"params[{name!r}]" + (f"[{index}" if index else "")


@pytest.mark.parametrize(("body", "field"), BAD_RUNS)
def test_a_bad_run_is_refused_at_both_ends_in_the_same_words(
    http: httpx.Client, client: Inference, body: dict[str, Any], field: str
) -> None:
    before = _tasks(http)
    with pytest.raises(RequestError) as info:
        client.run(body, wait=False)
    client_message = str(info.value)
    assert client_message.startswith(_subscripts(field) + " ")
    assert _tasks(http) == before  # refused before anything was sent

    server_message = _refused(http.post("/apps/run", json=body))
    assert server_message.startswith(f"`{field}` ")
    # One rule, one reason: the words after the field's name are the client's.
    assert server_message.split(" ", 1)[1] == client_message.split(" ", 1)[1]
    problem = http.post("/apps/run", json=body, headers=V2)
    assert problem.status_code == 400
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["detail"] == server_message
    assert _tasks(http) == before


@pytest.mark.parametrize(("timeout", "status"), [(1, 200), (3600, 200), (0, 400), (3601, 400)])
def test_session_timeout_boundaries_on_the_platform(
    http: httpx.Client, timeout: int, status: int
) -> None:
    body = {
        "app": "local/hello",
        "input": {"prompt": "p"},
        "session": "new",
        "session_timeout": timeout,
    }
    response = http.post("/apps/run", json={**body, "wait": True})
    assert response.status_code == status, response.text
    if status == 200:
        task = data(response)
        assert task["status"] == 10 and task["session_timeout"] == timeout
        http.delete(f"/sessions/{task['session_id']}")


def test_a_good_run_is_the_same_struct_at_both_ends(client: Inference) -> None:
    task = client.run(
        {"app": "local/hello", "input": {"prompt": "typed"}, "metadata": {"k": 1}, "infra": "cloud"}
    )
    assert task.status == 10 and task.input == {"prompt": "typed"}
    assert task.output is not None


def test_unknown_fields_from_other_clients_are_ignored(http: httpx.Client) -> None:
    # The published clients pass caller params through (`variant`, `worker_selection_mode`).
    body = {
        "app": "local/hello",
        "input": {"prompt": "p"},
        "worker_selection_mode": "x",
        "wait": True,
    }
    assert data(http.post("/apps/run", json=body))["status"] == 10


@pytest.mark.parametrize("flag", ["wait", "stream"])
def test_flags_in_the_body_are_booleans(http: httpx.Client, flag: str) -> None:
    message = _refused(http.post("/apps/run", json={"app": "local/hello", flag: "yes"}))
    assert message == f"`{flag}` must be true or false, got 'yes'"
    # The query string keeps its words: ?wait=true.
    body = {"app": "local/hello", "input": {"prompt": "p"}}
    assert data(http.post("/apps/run?wait=true", json=body))["status"] == 10


# ---- files --------------------------------------------------------------------------------------

BAD_FILES = [
    ({"files": []}, "files"),
    ({"files": "a.txt"}, "files"),
    ({"files": [{"filename": "a.txt", "size": -1}]}, "files[0].size"),
    ({"files": [{"filename": 5}]}, "files[0].filename"),
    ({"files": [{}], "category": "tmp"}, "category"),
    ({"category": "uploads"}, "files"),
]


@pytest.mark.parametrize(("body", "field"), BAD_FILES)
def test_a_bad_file_creation_is_refused_naming_the_field(
    http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    before = _files(http)
    message = _refused(http.post("/files", json=body))
    assert message.startswith(f"`{field}` ")
    assert _files(http) == before


def test_a_bad_upload_option_is_refused_by_both(http: httpx.Client, client: Inference) -> None:
    before = _files(http)
    with pytest.raises(RequestError) as info:
        client.upload_file(b"x", UploadFileOptions(category="tmp"))
    assert str(info.value).startswith("UploadFileOptions.category must be one of")
    assert _files(http) == before
    body = {"files": [{"filename": "x"}], "category": "tmp"}
    message = _refused(http.post("/files", json=body))
    assert message.split(" ", 1)[1] == str(info.value).split(" ", 1)[1]
    record = client.upload_file(b"x", UploadFileOptions(category="inputs"))
    assert record.category == "inputs" and _files(http) == before + 1


# ---- agent configs ------------------------------------------------------------------------------

SCRIPTED = {"ref": "local/scripted-model"}
BAD_AGENTS = [
    ({"core_app": SCRIPTED, "tools": [{"name": "a b", "type": "client"}]}, "tools[0].name"),
    ({"core_app": SCRIPTED, "tools": [{"name": "t", "type": "teleport"}]}, "tools[0].type"),
    (
        {"core_app": SCRIPTED, "tools": [{"name": "t", "type": "app", "app": {}}]},
        "tools[0].app.ref",
    ),
    ({"core_app": SCRIPTED, "tools": [{"name": "t", "type": "hook"}]}, "tools[0].hook.url"),
    (
        {"core_app": SCRIPTED, "tools": [{"name": "t", "type": "http", "http": {"url": "x"}}]},
        "tools[0].http.url",
    ),
    (
        {
            "core_app": SCRIPTED,
            "tools": [{"name": "t", "type": "client"}, {"name": "t", "type": "client"}],
        },
        "tools[1].name",
    ),
    ({"core_app": {"ref": "scripted-model"}}, "core_app.ref"),
    ({"core_app": "local/scripted-model"}, "core_app"),
    ({"core_app": SCRIPTED, "system_prompt": 3}, "system_prompt"),
    ({"core_app": SCRIPTED, "skills": [{"content": "x"}]}, "skills[0].name"),
]


@pytest.mark.parametrize(("config", "field"), BAD_AGENTS)
def test_a_bad_agent_config_is_refused_at_both_ends_in_the_same_words(
    server: LocalPlatform, http: httpx.Client, client: Inference, config: dict[str, Any], field: str
) -> None:
    with pytest.raises(AgentConfigError) as info:
        client.agent(config)
    client_message = str(info.value)
    assert client_message.startswith(f"agent config: $.{field} ")

    body = {"agent_config": config, "input": {"text": "hi"}}
    server_message = _refused(http.post("/agents/run", json=body))
    assert server_message.startswith(f"agent_config.{field} ")
    # "agent config: $.tools[0].name <reason>" and "agent_config.tools[0].name <reason>"
    assert server_message.split(" ", 1)[1] == client_message.split(" ", 3)[3]


def test_the_platform_runs_the_config_the_client_built(client: Inference) -> None:
    agent = client.agent(
        {"core_app": SCRIPTED, "system_prompt": "Be brief.", "temperature": 0.2, "name": "typed"}
    )
    reply = agent.send_message("hello there")
    assert reply.text  # the scripted model answered through the decoded config


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"agent": "local/assistant"}, "input is required"),
        ({"agent": "local/assistant", "input": {"text": ""}}, "input.text is empty"),
        ({"agent": "assistant", "input": {"text": "x"}}, "agent must be a ref such as"),
        ({"agent": "local/assistant", "input": "hi"}, "input must be an object, got 'hi'"),
        (
            {"agent": "local/assistant", "input": {"text": "x"}, "context": {"n": 1}},
            "context[...] must be a string",
        ),
    ],
)
def test_agent_run_bodies_name_what_is_wrong(http: httpx.Client, body: Any, words: str) -> None:
    assert words in _refused(http.post("/agents/run", json=body))


# ---- hostile bodies -----------------------------------------------------------------------------

ROUTES = ["/apps/run", "/files", "/agents/run"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("depth", [5_000, 500_000])
def test_deep_nesting_is_a_400_not_a_crash(http: httpx.Client, route: str, depth: int) -> None:
    body = b'{"input": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    response = http.post(route, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert "nests too deeply" in response.json()["error"]["message"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"123", b"null", b"{", b"\xff\xfe\x00", b"[" * 10])
def test_wrong_shapes_are_a_400(http: httpx.Client, route: str, raw: bytes) -> None:
    response = http.post(route, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, (route, raw, response.text[:300])


def test_huge_arrays_are_refused(http: httpx.Client) -> None:
    files = {"files": [{"filename": "a"}] * 50_000}
    assert _refused(http.post("/files", json=files)).startswith(
        "`files` must be a list of 1 to 256"
    )
    tools = [{"name": f"t{n}", "type": "client"} for n in range(1_000)]
    body = {"agent_config": {"core_app": SCRIPTED, "tools": tools}, "input": {"text": "x"}}
    assert "agent_config.tools must be a list with at most 512 items" in _refused(
        http.post("/agents/run", json=body)
    )


def test_a_body_over_the_limit_is_a_413(http: httpx.Client) -> None:
    body = {"app": "local/hello", "input": {"blob": "x" * (3 * 1024 * 1024)}}
    assert http.post("/apps/run", json=body).status_code == 413


def test_the_server_keeps_serving_after_hostile_bodies(http: httpx.Client) -> None:
    for route in ROUTES:
        http.post(route, content=b"[" * 200_000, headers={"Content-Type": "application/json"})
    assert http.get("/health").status_code == 200
    body = {"app": "local/hello", "input": {"prompt": "still here"}, "wait": True}
    assert data(http.post("/apps/run", json=body))["status"] == 10


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/tools/tinv_x/reject", {"reason": 5}, "`reason` must be a string, got 5"),
        (
            "/chats/chat_x/tools/tinv_x/always-allow",
            {"tool_name": "a b"},
            "`tool_name` must be 1-64 letters, digits, '_' or '-', got 'a b'",
        ),
    ],
)
def test_tool_decision_bodies_are_the_clients_structs(
    http: httpx.Client, path: str, body: dict[str, Any], message: str
) -> None:
    assert _refused(http.post(path, json=body)) == message
    # A good body goes on to the invocation, which does not exist here.
    assert http.post(path, json={}).status_code == 404
    assert http.post(path).status_code == 404

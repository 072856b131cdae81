"""The project's agents client against the local agent loop, end to end (the real local
platform and the scripted model): file attachments, tools from functions, taking up a waiting
turn from another agent, HTTP tools' arguments and auth, and session-enabled app tools."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import agentloop_testkit as e2e
import pytest
from inferencesh import app_tool, inference, integer, string, tool
from inferencesh.core import Inference
from platform_testkit import PlatformFactory


@pytest.fixture(scope="module")
def receiver() -> Iterator[Any]:
    with e2e.Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS])
    yield server
    server.close()


@pytest.fixture
def client(platform: Any) -> Iterator[Inference]:
    with inference(api_key=e2e.KEY, base_url=platform.base_url) as c:
        yield c


def scripted(*turns: dict[str, Any], tools: list[Any] | None = None) -> dict[str, Any]:
    return dict(e2e.scripted(*turns), tools=tools or [])


REPORT = {"text": "got {{tool_results}}"}


def test_one_uploaded_file_or_file_dict_need_not_be_in_a_list(client: Inference) -> None:
    uploaded = client.upload_file(b"12345")
    for attachment in (uploaded, {"uri": uploaded.uri, "filename": "five.bin"}):
        agent = client.agent(scripted({"text": "files {{files}}"}))
        # Before: the file was iterated as a dict, key by key ("attachment 'id' is not a file").
        response = agent.send_message("look", files=attachment)  # type: ignore[arg-type]
        assert response.text.startswith("files ") and response.text.endswith(":5")
        (user,) = [m for m in agent.get_chat().chat_messages if m.role == "user"]  # type: ignore[union-attr]
        assert [c.type for c in user.content] == ["text", "file"]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_a_tool_from_a_function_gets_its_declared_types(client: Inference) -> None:
    def paint(color: Color, shade: int | None) -> str:
        """Paint the wall."""
        return f"{color.name} shade {shade}"

    agent = client.agent(
        scripted(
            {"tool_calls": [{"name": "paint", "arguments": {"color": "blue"}}]},
            REPORT,
            tools=[paint],
        )
    )
    # Before: the handler got the string "blue" (no .name) and no `shade` (a TypeError), and the
    # model read the Python error instead of the result.
    assert agent.send_message("paint it").text == "got BLUE shade None"


def test_an_agent_given_a_chat_id_takes_up_the_waiting_turn(client: Inference) -> None:
    lookup = {"tool_calls": [{"name": "lookup", "arguments": {"key": "k1"}}]}
    first = client.agent(scripted(lookup, REPORT, tools=[tool("lookup").param("key", string())]))
    paused = first.send_message("find k1")
    assert paused.status == "awaiting_input"

    # Another process continues the chat by its id, with a handler for the waiting call.
    answered = tool("lookup").param("key", string()).handler(lambda args: f"value of {args['key']}")
    later = client.agent(scripted(tools=[answered]))
    later.chat_id = first.chat_id
    seen: list[str] = []
    # Before: AgentError "no turn in progress: send a message first".
    response = later.wait(on_tool_call=lambda call: seen.append(call.name), timeout=30)
    assert response.text == "got value of k1"
    assert seen == ["lookup"]
    assert [i.status for i in response.tool_invocations] == ["completed"]


def test_two_agents_taking_up_one_turn_both_see_it_end(client: Inference) -> None:
    lookup = {"tool_calls": [{"name": "lookup", "arguments": {"key": "k1"}}]}
    first = client.agent(scripted(lookup, REPORT, tools=[tool("lookup").param("key", string())]))
    assert first.send_message("find k1").status == "awaiting_input"

    def follower(label: str) -> Any:
        handler = tool("lookup").param("key", string()).handler(lambda args: f"{label} answer")
        agent = client.agent(scripted(tools=[handler]))
        agent.chat_id = first.chat_id
        return agent

    followers = [follower("left"), follower("right")]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda agent: agent.wait(timeout=30).text, followers))
    # Both handlers may run; the platform takes one answer and the other follower carries on.
    assert replies[0] == replies[1] in ("got left answer", "got right answer")


def test_a_get_http_tool_sends_object_arguments_as_json(
    platform: Any, receiver: Any, client: Inference
) -> None:
    search = {
        "name": "search",
        "type": "http",
        "http": {"url": receiver.base_url + "/api/search", "method": "GET"},
    }
    arguments = {"q": "fjords", "filter": {"year": 2024}, "tags": ["a", "b"], "page": None}
    agent = client.agent(
        scripted(
            {"tool_calls": [{"name": "search", "arguments": arguments}]}, REPORT, tools=[search]
        )
    )
    reply = agent.send_message("search")
    echoed = json.loads(reply.text.removeprefix("got "))
    # Before: filter={'year': 2024} (a Python repr) and page= (an empty value).
    assert echoed["method"] == "GET"
    assert echoed["query"] == {"q": "fjords", "filter": '{"year": 2024}', "tags": "b"}


def test_an_http_tool_with_connected_account_auth_fails_clearly(
    platform: Any, receiver: Any, client: Inference
) -> None:
    private = {
        "name": "private",
        "type": "http",
        "http": {
            "url": receiver.base_url + "/api/private",
            "auth": {"type": "credential", "provider": "github"},
        },
    }
    agent = client.agent(
        scripted({"tool_calls": [{"name": "private", "arguments": {}}]}, REPORT, tools=[private])
    )
    reply = agent.send_message("call it")
    # Before: the request went out without any credentials, as if none were needed.
    assert "'credential' (a connected account)" in reply.text, reply.text
    assert '"method"' not in reply.text  # the endpoint was never called


@pytest.fixture(scope="module")
def counter_platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS], apps=[e2e.APPS / "counter"])
    yield server
    server.close()


def test_a_session_enabled_app_tool_offers_the_session_argument(counter_platform: Any) -> None:
    count = (
        app_tool("count", "local/counter")
        .function("increment")
        .param("by", integer("How much to add"))
        .session_enabled()
    )
    first = {"tool_calls": [{"name": "count", "arguments": {"by": 2, "session": "new"}}]}
    with inference(api_key=e2e.KEY, base_url=counter_platform.base_url) as client:
        agent = client.agent(scripted(first, REPORT, tools=[count]))
        response = agent.send_message("count")
    assert '{"value": 2} (session_id: sess_' in response.text
    # Before: the model was never told it may pass `session` (the platform reads it).
    offered = model_tools(counter_platform, response.messages[0])
    assert offered["count"]["properties"]["session"]["type"] == "string"
    assert offered["count"]["required"] == ["by"]


def model_tools(platform: Any, message: Any) -> dict[str, Any]:
    """The tools (name -> parameters) the core app was offered for an assistant message."""
    task = platform.call("GET", f"/tasks/{message.task_id}")
    return {t["function"]["name"]: t["function"]["parameters"] for t in task["input"]["tools"]}

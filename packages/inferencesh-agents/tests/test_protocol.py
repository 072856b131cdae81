"""Review findings in the agents client: each test failed before its fix.

The chat-protocol ones use pytest-httpx for what a real server does not do on demand (a request
that loses its connection); the tool builder ones need no server.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

import httpx
import pytest
from inferencesh import tool
from inferencesh.agents import AgentError, ToolDefinitionError
from inferencesh.core import Inference
from inferencesh.core.errors import APIConnectionError

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
PENDING = {"id": "a1", "order": 2, "role": "assistant", "status": "pending", "chat_id": "c1"}
BASE = "http://127.0.0.1:8765"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


# ---- from_function: the handler gets what the annotations say --------------------------------


def test_from_function_converts_arguments_to_the_annotations() -> None:
    seen: dict[str, Any] = {}

    def paint(
        color: Color,
        tags: set[str],
        scale: float,
        mode: Literal["fast", "slow"] = "fast",
        note: str | None = None,
    ) -> str:
        """Paint something."""
        seen.update(color=color, tags=tags, scale=scale, mode=mode, note=note)
        return color.name

    handler = tool.from_function(paint).build().handler
    assert handler is not None
    # JSON gives the enum's value, a list for the set and an int for the float.
    assert handler({"color": "red", "tags": ["a", "a", "b"], "scale": 2}) == "RED"
    assert seen == {
        "color": Color.RED,
        "tags": {"a", "b"},
        "scale": 2.0,
        "mode": "fast",
        "note": None,
    }
    assert type(seen["scale"]) is float
    # `null` for a parameter with a default (how many models leave one out) keeps the default.
    assert handler({"color": "blue", "tags": [], "scale": 1.5, "mode": None}) == "BLUE"
    assert seen["mode"] == "fast"


def test_from_function_passes_none_for_a_missing_nullable_argument() -> None:
    def lookup(key: str, limit: int | None) -> str:
        """Look up."""
        return f"{key}:{limit}"

    built = tool.from_function(lookup).build()
    # The schema tells the model `limit` may be left out...
    assert built["client"]["input_schema"]["required"] == ["key"]
    # ...so leaving it out must not break the call.
    assert built.handler is not None
    assert built.handler({"key": "k"}) == "k:None"
    assert built.handler({"key": "k", "limit": "7"}) == "k:7"  # a number sent as text


def test_from_function_bad_arguments_name_the_parameter() -> None:
    def paint(color: Color) -> str:
        """Paint."""
        return color.name

    handler = tool.from_function(paint).build().handler
    assert handler is not None
    with pytest.raises(ValueError, match=r"argument 'color'.*'green'"):
        handler({"color": "green"})
    with pytest.raises(ValueError, match=r"unknown arguments \['size'\]"):
        handler({"color": "red", "size": 3})


def test_from_function_refuses_a_fixed_length_tuple() -> None:
    def pair(point: tuple[int, str]) -> None:
        """Pair."""

    with pytest.raises(ToolDefinitionError, match=r"parameter 'point'.*tuple\[T, \.\.\.\]"):
        tool.from_function(pair)

    def many(points: tuple[int, ...]) -> int:
        """Many."""
        return sum(points)

    built = tool.from_function(many).build()
    assert built["client"]["input_schema"]["properties"]["points"] == {
        "type": "array",
        "items": {"type": "integer"},
    }
    assert built.handler is not None
    assert built.handler({"points": [1, 2]}) == 3


# ---- the chat protocol ------------------------------------------------------------------------


def _waiting_turn(script: Any, invocation: dict[str, Any]) -> None:
    """A turn whose reply calls a tool and waits (the stream then ends)."""
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    waiting = s.msg("a1", 2, text="Calling", status="pending", invocations=[invocation])
    s.stream(s.ndjson(("chat_messages", waiting), ("chats", s.chat("awaiting_input"))))


def _finished(script: Any, invocation: dict[str, Any]) -> None:
    """What the platform shows once the call has its result."""
    s = script
    done = {**invocation, "status": "completed"}
    s.get_chat(
        s.chat(
            "idle",
            [
                USER,
                s.msg("a1", 2, text="Calling", invocations=[done]),
                s.msg("a2", 3, text="All done"),
            ],
        )
    )


def test_an_answer_lost_to_the_connection_is_sent_again(client: Inference, script: Any) -> None:
    s = script
    call = s.inv("t1", "lookup", {}, "awaiting_input")
    _waiting_turn(s, call)
    s.mock.add_exception(
        httpx.ConnectError("connection refused"), method="POST", url=f"{BASE}/tools/t1"
    )
    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [tool("lookup").build()]})
    paused = agent.send_message("look it up")
    assert paused.status == "awaiting_input"

    with pytest.raises(APIConnectionError):
        agent.submit_tool_result("t1", "found it")
    # The platform still waits for the answer: the next follow sends it, once.
    s.accept("POST", "/tools/t1")
    _finished(s, call)
    assert agent.wait().text == "All done"
    assert s.bodies("POST", "/tools/t1") == [{"result": "found it"}] * 2  # failed try + resend


def test_answering_again_after_a_lost_request_sends_one_answer(
    client: Inference, script: Any
) -> None:
    s = script
    call = s.inv("t1", "lookup", {}, "awaiting_input")
    _waiting_turn(s, call)
    s.mock.add_exception(
        httpx.ConnectError("connection refused"), method="POST", url=f"{BASE}/tools/t1"
    )
    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [tool("lookup").build()]})
    agent.send_message("look it up")
    with pytest.raises(APIConnectionError):
        agent.submit_tool_result("t1", "first")
    s.accept("POST", "/tools/t1")
    agent.submit_tool_result("t1", "second")  # replaces the unsent one: no 409 for a double
    assert s.bodies("POST", "/tools/t1") == [{"result": "first"}, {"result": "second"}]


def test_a_handler_result_that_is_not_json_is_reported_as_its_failure(
    client: Inference, script: Any
) -> None:
    s = script
    call = s.inv("t1", "lookup", {}, "awaiting_input")
    _waiting_turn(s, call)
    s.accept("POST", "/tools/t1")
    _finished(s, call)
    lookup = tool("lookup").handler(lambda args: object()).build()
    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [lookup]})
    # Before: AgentError out of send_message, the call left open and the chat stuck waiting.
    assert agent.send_message("look it up").text == "All done"
    ((body,),) = [s.bodies("POST", "/tools/t1")]
    assert body["result"].startswith('{"error":"AgentError: a tool result must be a string')


async def test_an_async_handler_in_the_sync_agent_inside_a_loop_is_refused(
    client: Inference, script: Any
) -> None:
    s = script
    _waiting_turn(s, s.inv("t1", "lookup", {}, "awaiting_input"))

    async def lookup(args: dict[str, Any]) -> str:
        return "found"

    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [tool("lookup").handler(lookup)]})
    # Before: the refusal was caught as the tool's failure and sent to the model as its result.
    with pytest.raises(AgentError, match="use AsyncAgent"):
        agent.send_message("look it up")
    assert s.bodies("POST", "/tools/t1") == []


def test_a_platform_still_away_after_a_drop_is_waited_for(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(s.dropping(s.ndjson(("chat_messages", s.msg("a1", 2, text="Hel", status="pending")))))
    # The catch-up GET finds the platform restarting (refused twice), then back.
    for _ in range(2):
        s.mock.add_exception(httpx.ConnectError("refused"), method="GET", url=f"{BASE}/chats/c1")
    s.get_chat(s.chat("idle", [USER, s.msg("a1", 2, text="Hello world")]))
    # Before: the first refused GET ended the turn with APIConnectionError, reconnects unused.
    assert client.agent("a/b").send_message("hi").text == "Hello world"


def test_a_platform_never_reached_fails_at_once(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.mock.add_exception(httpx.ConnectError("refused"), method="GET", url=f"{BASE}/chats/c1")
    with pytest.raises(APIConnectionError, match="refused"):
        client.agent("a/b").send_message("hi")


def test_a_handler_answer_taken_by_another_client_does_not_end_the_turn(
    client: Inference, script: Any
) -> None:
    s = script
    call = s.inv("t1", "lookup", {}, "awaiting_input")
    _waiting_turn(s, call)
    # Another agent following the same chat answered first: the platform refuses this answer.
    s.mock.add_response(
        method="POST",
        url=f"{BASE}/tools/t1",
        status_code=409,
        json={"success": False, "error": {"code": "conflict", "message": "t1 is completed"}},
    )
    _finished(s, call)
    lookup = tool("lookup").handler(lambda args: "mine").build()
    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [lookup]})
    assert agent.send_message("look it up").text == "All done"


def test_a_stale_snapshot_with_go_timestamps_is_recognised_on_every_python() -> None:
    """Go writes fractions of any length (``.9Z``, nanoseconds); Python 3.10's ``fromisoformat``
    reads neither, which let a stale message snapshot overwrite a newer one there."""
    from inferencesh.agents._protocol import Store
    from inferencesh.core.chat import ChatMessage

    store = Store()
    newer = ChatMessage(id="m1", updated_at="2024-01-01T00:00:01.12345Z", status="pending")
    stale = ChatMessage(id="m1", updated_at="2024-01-01T00:00:00.9Z", status="pending")
    assert store.apply_message(newer)
    assert not store.apply_message(stale)
    assert store.messages["m1"] is newer

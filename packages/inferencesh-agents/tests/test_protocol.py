"""The chat protocol's decisions (``inferencesh.agents._protocol``) where the connection or the
platform misbehaves: answers lost or taken by another client, a platform away or never reached,
handler results that are not JSON, and snapshots ordered by Go timestamps.

pytest-httpx plays what a real server does not do on demand (a request that loses its connection).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from inferencesh import tool
from inferencesh.agents import AgentError
from inferencesh.core import Inference
from inferencesh.core.errors import APIConnectionError

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
PENDING = {"id": "a1", "order": 2, "role": "assistant", "status": "pending", "chat_id": "c1"}
BASE = "http://127.0.0.1:8765"


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

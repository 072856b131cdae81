"""The async agent client: the same protocol procedures driven with awaits."""

from __future__ import annotations

from typing import Any

import pytest
from inferencesh import tool
from inferencesh.agents import AgentError, AsyncAgent, AsyncAgents, string
from inferencesh.core import AsyncInference
from inferencesh.core.errors import AuthenticationError

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
PENDING = {"id": "a1", "order": 2, "role": "assistant", "status": "pending", "chat_id": "c1"}


def tool_turn(s: Any, invocation: dict[str, Any], repeats: int = 2) -> None:
    waiting = s.msg("a1", 2, text="Calling", status="pending", invocations=[invocation])
    done = {**invocation, "status": "completed"}
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            *[("chat_messages", waiting)] * repeats,
            ("chats", s.chat("awaiting_input")),
            ("chats", s.chat("busy")),
            ("chat_messages", s.msg("a1", 2, text="Calling", invocations=[done])),
            ("chat_messages", s.msg("a2", 3, text="Done", status="pending")),
            ("chat_messages", s.msg("a2", 3, text="Done.", status="ready")),
            ("chats", s.chat("idle")),
        )
    )


async def test_seed_async_agent_send_and_stream_messages(
    aclient: AsyncInference, script: Any
) -> None:
    s = script
    agent = aclient.agent("my-org/assistant@latest")
    assert isinstance(agent, AsyncAgent)
    assert isinstance(aclient.agents, AsyncAgents)
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Hi", status="pending")),
            ("chat_messages", s.msg("a1", 2, text="Hi!", status="ready")),
            ("chats", s.chat("idle")),
        )
    )
    response = await agent.send_message("Hello!")
    assert response.text == "Hi!"

    # The seed then iterates the chat's messages; the chat is idle, so the iteration ends.
    s.get_chat(s.chat("idle", [USER, s.msg("a1", 2, text="Hi!")]))
    seen = [msg async for msg in agent.stream_messages()]
    assert [m.id for m in seen] == ["u1", "a1"]
    assert seen[1]["content"][0]["text"] == "Hi!"


async def test_async_callbacks_and_async_handler(aclient: AsyncInference, script: Any) -> None:
    s = script
    tool_turn(s, s.inv("t1", "lookup", {"q": "x"}, "awaiting_input"))
    s.accept("POST", "/tools/t1")
    handled: list[dict[str, Any]] = []
    updates: list[str] = []

    async def lookup(args: dict[str, Any]) -> str:
        handled.append(args)
        return "found"

    async def on_message(update: Any) -> None:
        updates.append(update.content)

    agent = aclient.agent(
        {
            "core_app": {"ref": "a/b"},
            "tools": [tool("lookup").param("q", string()).handler(lookup)],
        }
    )
    response = await agent.send_message("find x", on_message=on_message)
    assert response.text == "Done."
    assert handled == [{"q": "x"}]
    assert script.bodies("POST", "/tools/t1") == [{"result": "found"}]
    assert updates == ["Calling", "", "Done", "."]


async def test_plain_callback_may_submit_without_await(
    aclient: AsyncInference, script: Any
) -> None:
    s = script
    tool_turn(s, s.inv("t1", "greet", {"name": "Ada"}, "awaiting_input"), repeats=3)
    s.accept("POST", "/tools/t1")
    agent = aclient.agent("a/b")

    def handle_tool(call: Any) -> None:
        agent.submit_tool_result(call.id, f"hello {call.args['name']}")  # not awaited

    await agent.send_message("greet", on_tool_call=handle_tool)
    assert script.bodies("POST", "/tools/t1") == [{"result": "hello Ada"}]


async def test_async_approval_with_awaited_submit(aclient: AsyncInference, script: Any) -> None:
    s = script
    tool_turn(s, s.inv("t1", "rm", {}, "awaiting_approval"))
    s.accept("POST", "/tools/t1/reject")
    agent = aclient.agent("a/b")

    async def handle_tool(call: Any) -> None:
        assert call.requires_approval
        await agent.submit_tool_result(call.id, {"error": "Denied by user"})

    await agent.send_message("rm -rf", on_tool_call=handle_tool)
    assert script.bodies("POST", "/tools/t1/reject") == [{"reason": "Denied by user"}]


async def test_async_dropped_stream_resumes(aclient: AsyncInference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(s.dropping(s.ndjson(("chat_messages", s.msg("a1", 2, text="Par", status="pending")))))
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Partial", status="ready")),
            ("chats", s.chat("idle")),
        )
    )
    pieces: list[str] = []
    response = await aclient.agent("a/b").send_message(
        "x", on_message=lambda m: pieces.append(m.content)
    )
    assert response.text == "Partial"
    assert pieces == ["Par", "tial"]


async def test_async_stream_http_error(aclient: AsyncInference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.mock.add_response(
        method="GET",
        url="http://127.0.0.1:8765/chats/c1/stream",
        status_code=401,
        json={"success": False, "error": {"code": "unauthorized", "message": "bad key"}},
    )
    with pytest.raises(AuthenticationError):
        await aclient.agent("a/b").send_message("x")


async def test_async_misc_endpoints(aclient: AsyncInference, script: Any) -> None:
    s = script
    agent = aclient.agent("a/b")
    assert await agent.get_chat() is None
    await agent.stop_chat()
    with pytest.raises(AgentError, match="no chat yet"):
        [m async for m in agent.stream_chat()]
    agent.chat_id = "c1"
    s.accept("POST", "/tools/t1/invoke")
    s.accept("POST", "/chats/c1/tools/t1/always-allow")
    s.accept("POST", "/chats/c1/stop")
    s.get_chat(s.chat("idle", [USER], output={"answer": 42}))
    await agent.approve_tool("t1")
    await agent.always_allow("t1", "deploy")
    await agent.stop_chat()
    chat = await aclient.agents.get_chat("c1")
    assert chat.output == {"answer": 42}
    assert s.bodies("POST", "/chats/c1/tools/t1/always-allow") == [{"tool_name": "deploy"}]


async def test_attachment_path_check_runs_off_the_event_loop(
    aclient: AsyncInference, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from inferencesh.agents import _protocol

    checked_on: list[int] = []
    real = _protocol.is_existing_file

    def spy(path: str) -> bool:
        checked_on.append(threading.get_ident())
        return real(path)

    monkeypatch.setattr(_protocol, "is_existing_file", spy)
    agent = aclient.agent("a/b")
    with pytest.raises(AgentError, match="is not a file"):
        await agent.send_message("x", files=[tmp_path / "missing.png"])
    assert checked_on and threading.get_ident() not in checked_on


async def test_async_get_chat_validates_the_id(aclient: AsyncInference) -> None:
    with pytest.raises(ValueError, match="chat_id"):
        await aclient.agents.get_chat("  ")

"""The local agent loop against the protocol reference (``platform-protocol.md`` §1.4, §5).

Each test names the section it checks. They drive the real local platform (a subprocess with the
scripted model in a real worker) over HTTP, as ``test_agents_api.py`` does, with the harness in
``agentloop_testkit.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import msgspec
import pytest
from inferencesh.core.chat import Chat
from platform_testkit import OWN, PlatformFactory

call = e2e.call
client_tool = e2e.client_tool
invocations = e2e.invocations
scripted = e2e.scripted
text_of = e2e.text_of
last_reply = e2e.last_reply


@pytest.fixture(scope="module")
def receiver() -> Iterator[Any]:
    with e2e.Receiver() as r:
        yield r


# §5.5: an agent version's permissions.allow_all_tools skips approval in its chats.
TRUSTED = {
    "core_app": {
        "ref": "local/scripted-model",
        "input": {
            "script": [
                {"tool_calls": [{"name": "lookup", "arguments": {"x": "1"}}]},
                {"text": "{{tool_results}}"},
            ]
        },
    },
    "tools": [
        {
            "name": "lookup",
            "type": "app",
            "require_approval": True,
            "app": {"ref": "local/hello", "input": {"prompt": "trusted"}},
        }
    ],
    "permissions": {"allow_all_tools": True},
}


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(
        local_platform,
        [e2e.AGENTS, OWN / "agents"],
        {"TOKEN_FOR_CALL": "tok-9"},
        files={"agents/trusted.yaml": json.dumps(TRUSTED)},
    )
    yield server
    server.close()


def _done(platform: Any, chat_id: str) -> dict[str, Any]:
    """Follow the turn until it stops (ends or waits on someone): never hangs on a wait."""
    platform.events(
        chat_id, until=lambda e: e["event"] == "chats" and e["data"]["status"] != "busy"
    )
    chat: dict[str, Any] = platform.wait_for(chat_id, lambda c: c["status"] != "busy")
    return chat


def _wait_status(platform: Any, chat_id: str, status: str) -> dict[str, Any]:
    platform.events(
        chat_id, until=lambda e: e["event"] == "chats" and e["data"]["status"] == status
    )
    chat: dict[str, Any] = platform.wait_for(chat_id, lambda c: c["status"] == status)
    return chat


def test_the_run_names_what_it_waits_on(platform: Any) -> None:
    """§5.2 AgentRunDTO: an ``input_required`` run carries ``interrupt_reason`` and the waiting
    call (``interrupt_tool_id`` / ``tool_invocation_id``); the fields clear when it moves on."""
    config = scripted(
        {"tool_calls": [call("lookup", x="1")]},
        {"text": "got {{tool_results}}"},
        tools=[client_tool("lookup")],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = _wait_status(platform, chat_id, "awaiting_input")
    (inv,) = invocations(chat)
    run = chat["active_run"]
    assert run["state"] == "input_required"
    assert run["interrupt_reason"] == "client_tool"
    assert run["interrupt_tool_id"] == inv["id"]
    assert run["tool_invocation_id"] == inv["id"]
    platform.call("POST", f"/tools/{inv['id']}", {"result": "one"})
    chat = _done(platform, chat_id)
    run = chat["active_run"]
    assert run["state"] == "completed"
    assert "interrupt_reason" not in run and "interrupt_tool_id" not in run


def test_messages_carry_their_run(platform: Any) -> None:
    """§5.2 ChatMessageDTO.agent_run_id: the messages of a turn name the run (one per user
    message); the chat's ``active_run.user_message_id`` is that turn's user message."""
    first = platform.run({"agent": "local/assistant", "input": {"text": "one"}})
    chat_id = first["assistant_message"]["chat_id"]
    assert first["user_message"]["agent_run_id"]
    assert first["assistant_message"]["agent_run_id"] == first["user_message"]["agent_run_id"]
    _done(platform, chat_id)
    second = platform.run({"chat_id": chat_id, "input": {"text": "two"}})
    chat = _done(platform, chat_id)
    runs = [m["agent_run_id"] for m in chat["chat_messages"]]
    assert runs[0] == runs[1] != runs[2] == runs[3]
    assert chat["active_run"]["id"] == runs[2]
    assert chat["active_run"]["user_message_id"] == second["user_message"]["id"]


def test_the_finished_run_carries_the_output(platform: Any) -> None:
    """§5.2 AgentRunDTO.output and §5.4 ``finish``: the parsed result becomes ``chat.output``
    and the run's ``output``."""
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
    }
    config = scripted({"tool_calls": [call("finish", answer=42)]}, output_schema=schema)
    reply = platform.run({"agent_config": config, "input": {"text": "answer"}})
    chat = _done(platform, reply["assistant_message"]["chat_id"])
    assert chat["output"] == {"answer": 42}
    assert chat["active_run"]["state"] == "completed"
    assert chat["active_run"]["output"] == {"answer": 42}
    msgspec.convert(chat, Chat)


def test_call_tools_run_like_http_tools(platform: Any, receiver: Any) -> None:
    """§5.4 ``http`` / ``call`` (``ToolType`` has ``call``; ``AgentTool`` a ``call`` key): a
    ``type: "call"`` tool is an authenticated request, configured under ``call``."""
    tool = {
        "name": "ping",
        "type": "call",
        "description": "Ping",
        "call": {
            "url": receiver.base_url + "/api/ping",
            "auth": {"type": "api_key", "secret": "TOKEN_FOR_CALL", "header": "Authorization"},
        },
    }
    config = scripted(
        {"tool_calls": [call("ping", n=1)]}, {"text": "{{tool_results}}"}, tools=[tool]
    )
    reply = platform.run({"agent_config": config, "input": {"text": "ping"}})
    chat = _done(platform, reply["assistant_message"]["chat_id"])
    (inv,) = invocations(chat)
    assert (inv["type"], inv["status"]) == ("call", "completed")
    echoed = json.loads(text_of(last_reply(chat)))
    assert echoed["method"] == "POST" and echoed["path"] == "/api/ping"
    assert echoed["authorization"] == "tok-9" and echoed["body"] == {"n": 1}


def test_internal_tools_catalogue(platform: Any) -> None:
    """§1.4 ``GET /agents/internal-tools`` -> ``[{id, name, description, tools[], scope}]``;
    scopes are ``all | top_level | sub_agent`` (§5.4)."""
    groups = platform.call("GET", "/agents/internal-tools")
    assert isinstance(groups, list) and groups
    by_id = {g["id"]: g for g in groups}
    for group in groups:
        assert set(group) >= {"id", "name", "description", "tools", "scope"}
        assert group["scope"] in ("all", "top_level", "sub_agent")
        assert group["description"] and group["tools"]
    assert by_id["plan"]["tools"] == ["plan_create", "plan_update", "plan_load"]
    assert by_id["memory"]["tools"] == ["memory_set", "memory_get", "memory_getall"]
    assert by_id["finish"]["tools"] == ["finish"] and by_id["finish"]["scope"] == "sub_agent"
    assert by_id["skills"]["tools"] == ["skill_get"]


def test_allow_all_tools_permission_skips_approval(platform: Any) -> None:
    """§5.5: ``permissions.allow_all_tools`` of the agent skips approval."""
    reply = platform.run({"agent": "local/trusted", "input": {"text": "look"}})
    chat = _done(platform, reply["assistant_message"]["chat_id"])
    (inv,) = invocations(chat)
    assert inv["status"] == "completed"
    assert "trusted" in text_of(last_reply(chat))


def test_lifecycle_hooks_are_run_and_bad_ones_refused(platform: Any) -> None:
    """§5.6 lifecycle hooks (``AgentConfigInput.hooks``) are accepted and run by the local loop
    (``test_agents_hooks.py`` has their behaviour); one that is malformed is refused with a
    clear error instead of running without it."""
    bad = scripted({"text": "hi"}, hooks=[{"event": "agent.begin", "type": "webhook"}])
    response = platform.http.post(
        platform.url("/agents/run"), json={"agent_config": bad, "input": {"text": "x"}}
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "hooks[0]" in message and "agent.begin" in message
    # A hook at a non-gating event that cannot be reached is logged; the run goes on.
    unreachable = [{"event": "agent.start", "type": "webhook", "handler": "http://127.0.0.1:9/h"}]
    for hooks in ([], unreachable):
        reply = platform.run(
            {"agent_config": scripted({"text": "fine"}, hooks=hooks), "input": {"text": "x"}}
        )
        chat = _done(platform, reply["assistant_message"]["chat_id"])
        assert text_of(last_reply(chat)) == "fine"


def test_required_context_fields_must_be_given(platform: Any) -> None:
    """§5.1: the agent's ``context`` fields (``ContextField``) are set at chat creation and the
    required ones must be present."""
    fields = [{"name": "region", "required": True}, {"name": "team"}]
    config = scripted({"text": "ok"}, context=fields)
    response = platform.http.post(
        platform.url("/agents/run"),
        json={"agent_config": config, "input": {"text": "x"}, "context": {"team": "a"}},
    )
    assert response.status_code == 400
    assert "region" in response.json()["error"]["message"]
    body = {"agent_config": config, "input": {"text": "x"}, "context": {"region": "eu"}}
    chat = _done(platform, platform.run(body)["assistant_message"]["chat_id"])
    assert chat["context"] == {"region": "eu"} and text_of(last_reply(chat)) == "ok"

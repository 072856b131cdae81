"""The local agent loop end to end: the real platform in a subprocess, the scripted model in a
real worker, driven over HTTP (these tests speak the wire protocol directly; the agents client
and the seed snippets are in ``tests/e2e/test_agents_seed_examples.py``)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from agentloop_testkit import (
    AGENTS,
    ROOT,
    Platform,
    Receiver,
    call,
    client_tool,
    invocations,
    last_reply,
    scripted,
    text_of,
)
from inferencesh.core.chat import Chat
from platform_testkit import OWN, PlatformFactory

# -- fixtures -----------------------------------------------------------------------------------


# Agents of these tests only, beside the examples' (written into the platform's own folder).
AGENT_FILES = {
    "agents/limited.yaml": (
        "core_app:\n"
        "  ref: local/scripted-model\n"
        "  input:\n"
        "    script:\n" + "      - tool_calls: [{name: memory_getall}]\n" * 6 + "max_steps: 3\n"
    ),
    "agents/child-approval.json": json.dumps(
        {
            "namespace": "my-org",
            "core_app": {"ref": "local/scripted-model"},
            "system_prompt": "A sub-agent.",
        }
    ),
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory, receiver: Receiver) -> Iterator[Platform]:
    server = Platform.shared(
        local_platform,
        [AGENTS, OWN / "agents"],
        {
            "HOOK_SECRET": "s3cret-value",
            "INFERENCESH_AGENT_MAX_STEPS": "8",
            "WEATHER_TOKEN": "tok-123",
            "TEAM_NAME": "blue",
            "WEB_SEARCH_URL": receiver.base_url,
        },
        files=AGENT_FILES,
    )
    yield server
    server.close()


# -- tests --------------------------------------------------------------------------------------


def test_template_agent_streams_a_reply(platform: Platform) -> None:
    reply = platform.run(
        {"agent": "local/assistant", "input": {"text": "hi there", "role": "user"}}
    )
    user, assistant = reply["user_message"], reply["assistant_message"]
    assert user["role"] == "user" and text_of(user) == "hi there"
    assert assistant["role"] == "assistant" and assistant["status"] == "pending"
    assert assistant["chat_id"] == user["chat_id"]
    chat = platform.finish(assistant["chat_id"])
    assert chat["status"] == "idle"
    final = last_reply(chat)
    assert final["id"] == assistant["id"]
    assert final["status"] == "ready"
    assert text_of(final) == "Hello! You said: hi there"
    assert final["task_id"]
    task = platform.call("GET", f"/tasks/{final['task_id']}")
    assert task["status"] == 10
    assert task["input"]["system_prompt"] == "You are a helpful assistant."


def test_reply_grows_in_message_snapshots(platform: Platform) -> None:
    config = scripted({"text": "one two three four five", "delay": 0.15})
    reply = platform.run({"agent_config": config, "input": {"text": "count"}})
    chat_id = reply["assistant_message"]["chat_id"]
    events = platform.events(chat_id)
    texts = [
        text_of(e["data"])
        for e in events
        if e["event"] == "chat_messages" and e["data"]["role"] == "assistant"
    ]
    growing = [t for i, t in enumerate(texts) if t and (i == 0 or t != texts[i - 1])]
    assert len(growing) >= 3, texts
    assert all(b.startswith(a) for a, b in itertools.pairwise(growing))
    assert growing[-1] == "one two three four five"
    assert events[-1]["event"] == "chats" and events[-1]["data"]["status"] == "idle"


def test_multi_turn_context_reaches_the_model(platform: Platform) -> None:
    first = platform.run({"agent": "local/assistant", "input": {"text": "my name is Ada"}})
    chat_id = first["assistant_message"]["chat_id"]
    platform.finish(chat_id)
    second = platform.run(
        {"chat_id": chat_id, "agent": "local/assistant", "input": {"text": "who?"}}
    )
    assert second["assistant_message"]["chat_id"] == chat_id
    chat = platform.finish(chat_id)
    assert [m["role"] for m in chat["chat_messages"]] == ["user", "assistant", "user", "assistant"]
    assert [m["order"] for m in chat["chat_messages"]] == [0, 1, 2, 3]
    assert text_of(last_reply(chat)) == (
        "Earlier in this chat: user: my name is Ada | "
        "assistant: Hello! You said: my name is Ada | user: who?"
    )


def test_sse_when_asked(platform: Platform) -> None:
    reply = platform.run({"agent": "local/assistant", "input": {"text": "sse"}})
    chat_id = reply["assistant_message"]["chat_id"]
    platform.finish(chat_id)
    body = platform.sse_snapshot(chat_id)
    assert "event: chat_messages\ndata: {" in body
    assert body.rstrip().split("\n")[-2] == "event: chats"


def test_client_tool_waits_for_the_client(platform: Platform) -> None:
    config = scripted(
        {"tool_calls": [call("lookup", x="42")]},
        {"text": "The tool said: {{tool_results}}"},
        tools=[client_tool("lookup")],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "look it up"}})
    chat_id = reply["assistant_message"]["chat_id"]
    events = platform.events(
        chat_id, until=lambda e: e["event"] == "chats" and e["data"]["status"] == "awaiting_input"
    )
    assert events[-1]["data"]["status"] == "awaiting_input"
    chat = platform.chat(chat_id)
    (inv,) = invocations(chat)
    assert inv["type"] == "client"
    assert inv["status"] == "awaiting_input"
    assert inv["function"] == {"name": "lookup", "arguments": {"x": "42"}}
    assert inv["tool_invocation_id"] == "call_0_0"
    assert platform.call("GET", f"/chats/{chat_id}/status")["status"] == "awaiting_input"
    assert chat["active_run"]["state"] == "input_required"
    (interrupt,) = chat["pending_interrupts"]
    assert (interrupt["reason"], interrupt["resource_id"]) == ("client_tool", inv["id"])
    platform.call("POST", f"/tools/{inv['id']}", {"result": "forty-two"})
    chat = platform.finish(chat_id)
    (inv,) = invocations(chat)
    assert inv["status"] == "completed" and inv["result"] == "forty-two"
    assert text_of(last_reply(chat)) == "The tool said: forty-two"
    assert chat["active_run"]["state"] == "completed" and chat["pending_interrupts"] == []
    # The reply that made the call is ready and carries the call; the answer is a new message.
    roles = [(m["role"], m["status"]) for m in chat["chat_messages"]]
    assert roles == [("user", "ready"), ("assistant", "ready"), ("assistant", "ready")]
    # A second result for the same call is refused.
    platform.call("POST", f"/tools/{inv['id']}", {"result": "again"}, status=409)


def test_parallel_tool_calls_run_at_once(platform: Platform) -> None:
    config = scripted(
        {"tool_calls": [call("a", x="1"), call("b", x="2")]},
        {"text": "Both: {{tool_results}}"},
        tools=[client_tool("a"), client_tool("b")],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "both"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(
        chat_id,
        lambda c: (
            len(invocations(c)) == 2
            and all(i["status"] == "awaiting_input" for i in invocations(c))
        ),
    )
    first, second = invocations(chat)
    # Answer in the opposite order: results are matched by call, not by arrival.
    platform.call("POST", f"/tools/{second['id']}", {"result": "B"})
    assert platform.chat(chat_id)["status"] == "awaiting_input"
    platform.call("POST", f"/tools/{first['id']}", {"result": "A"})
    chat = platform.finish(chat_id)
    assert text_of(last_reply(chat)) == "Both: A\nB"
    task = platform.call("GET", f"/tasks/{last_reply(chat)['task_id']}")
    context = task["input"]["context"]
    assert [m["role"] for m in context] == ["user", "assistant", "tool"]
    assert [c["id"] for c in context[1]["tool_calls"]] == ["call_0_0", "call_0_1"]
    assert task["input"]["role"] == "tool" and task["input"]["tool_call_id"] == "call_0_1"


def test_app_tool_runs_a_task_with_presets(platform: Platform) -> None:
    tool = {
        "name": "write",
        "type": "app",
        "description": "Write something",
        "app": {
            "ref": "local/hello",
            "setup": {"model_id": "tiny-model"},
            "input": {"style": "plain", "count": 2},
            "input_schema": {
                "type": "object",
                "properties": {"prompt": {"type": "string"}, "style": {"type": "string"}},
                "required": ["prompt", "style"],
            },
        },
    }
    config = scripted(
        {"tool_calls": [call("write", prompt="a poem")]},
        {"text": "Done: {{tool_results}}"},
        tools=[tool],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "write"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    (inv,) = invocations(chat)
    assert inv["type"] == "app" and inv["status"] == "completed", inv
    task = platform.call("GET", f"/tasks/{inv['execution_id']}")
    assert task["status"] == 10
    assert task["input"] == {"style": "plain", "count": 2, "prompt": "a poem"}
    assert task["output"]["model_id"] == "tiny-model"
    assert inv["result"].startswith(f"Task {task['id']} local/hello completed with output: {{")
    assert json.loads(inv["result"].split("output: ", 1)[1]) == task["output"]
    assert text_of(last_reply(chat)) == f"Done: {inv['result']}"
    # The preset input is not required from the model.
    model_task = platform.call("GET", f"/tasks/{chat['chat_messages'][1]['task_id']}")
    (offered,) = model_task["input"]["tools"]
    assert offered["function"]["parameters"]["required"] == ["prompt"]


def test_failing_app_tool_reports_the_error_to_the_model(platform: Platform) -> None:
    tool = {"name": "broken", "type": "app", "app": {"ref": "local/hello"}}
    config = scripted(
        {"tool_calls": [call("broken", wrong="x")]},
        {"text": "It said: {{tool_results}}"},
        tools=[tool],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    (inv,) = invocations(chat)
    assert inv["status"] == "failed"
    assert "local/hello failed" in inv["result"] and "prompt" in inv["result"]
    assert text_of(last_reply(chat)).startswith("It said: Error: Task ")


def test_sub_agent_runs_in_a_child_chat(platform: Platform) -> None:
    tool = {
        "name": "research",
        "type": "agent",
        "description": "Research a topic",
        "agent": {"ref": "local/researcher"},
    }
    config = scripted(
        {"tool_calls": [call("research", message="quantum dots")]},
        {"text": "Research says: {{tool_results}}"},
        tools=[tool],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "research it"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.finish(chat_id)
    (inv,) = invocations(chat)
    assert inv["type"] == "agent" and inv["status"] == "completed"
    assert inv["result"] == "Report: the topic is well understood."
    child = platform.chat(inv["execution_id"])
    assert chat["children"] == [child["id"]]
    assert child["parent_id"] == chat_id
    assert child["status"] == "completed"
    assert child["output"] == "Report: the topic is well understood."
    assert text_of(child["chat_messages"][0]) == "quantum dots"
    assert text_of(last_reply(chat)) == "Research says: Report: the topic is well understood."


def test_webhook_tool_posts_and_waits_for_the_callback(
    platform: Platform, receiver: Receiver
) -> None:
    tool = {
        "name": "notify",
        "type": "hook",
        "description": "Notify",
        "hook": {
            "url": receiver.base_url + "/hook",
            "secret": "HOOK_SECRET",
            "input_schema": {"type": "object", "properties": {"channel": {"type": "string"}}},
        },
    }
    config = scripted(
        {"tool_calls": [call("notify", channel="#ops")]},
        {"text": "Hook said: {{tool_results}}"},
        tools=[tool],
    )
    receiver.hooks.clear()
    reply = platform.run({"agent_config": config, "input": {"text": "tell ops"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(
        chat_id, lambda c: any(i["status"] == "awaiting_input" for i in invocations(c))
    )
    (inv,) = invocations(chat)
    ((headers, payload),) = receiver.hooks
    assert headers["x-hook-secret"] == "s3cret-value"
    assert headers["x-webhook-signature"].startswith("sha256=")
    assert payload["tool_invocation_id"] == inv["id"]
    assert payload["hook_name"] == "notify"
    assert payload["chat_id"] == chat_id
    assert payload["arguments"] == {"channel": "#ops"}
    assert payload["callback_method"] == "POST"
    assert payload["callback_url"] == platform.url(f"/tools/{inv['id']}")
    assert payload["timestamp"]
    # The receiver calls back later, as a webhook service would.
    response = platform.http.post(payload["callback_url"], json={"result": "posted to #ops"})
    assert response.status_code == 200
    chat = platform.finish(chat_id)
    assert text_of(last_reply(chat)) == "Hook said: posted to #ops"


def test_webhook_tool_without_its_secret_fails_clearly(
    platform: Platform, receiver: Receiver
) -> None:
    tool = {
        "name": "notify",
        "type": "hook",
        "hook": {"url": receiver.base_url + "/hook", "secret": "NOT_SET_ANYWHERE"},
    }
    config = scripted({"tool_calls": [call("notify")]}, {"text": "{{tool_results}}"}, tools=[tool])
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    assert "NOT_SET_ANYWHERE" in text_of(last_reply(chat))
    assert invocations(chat)[0]["status"] == "failed"


def _approval_chat(platform: Platform) -> tuple[str, dict[str, Any]]:
    tool = {
        "name": "write",
        "type": "app",
        "require_approval": True,
        "app": {"ref": "local/hello", "input": {"prompt": "approved run"}},
    }
    config = scripted(
        {"tool_calls": [call("write")]},
        {"text": "Result: {{tool_results}}"},
        {"tool_calls": [call("write")]},
        {"text": "Again: {{tool_results}}"},
        tools=[tool],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "write"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    (inv,) = invocations(chat)
    assert inv["status"] == "awaiting_approval"
    assert not inv.get("execution_id")
    return chat_id, config


def test_approval_granted_runs_the_tool(platform: Platform) -> None:
    chat_id, _ = _approval_chat(platform)
    (inv,) = invocations(platform.chat(chat_id))
    platform.call("POST", f"/tools/{inv['id']}/invoke")
    chat = platform.finish(chat_id)
    (inv,) = invocations(chat)
    assert inv["status"] == "completed" and inv["execution_id"]
    assert "approved run" in text_of(last_reply(chat))


def test_approval_denied_tells_the_model(platform: Platform) -> None:
    chat_id, _ = _approval_chat(platform)
    (inv,) = invocations(platform.chat(chat_id))
    platform.call("POST", f"/tools/{inv['id']}/reject", {"reason": "not today"})
    chat = platform.finish(chat_id)
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled" and not inv.get("execution_id")
    assert text_of(last_reply(chat)) == "Result: Rejected by the user: not today"
    platform.call("POST", f"/tools/{inv['id']}/invoke", status=409)


def test_always_allow_skips_later_approvals(platform: Platform) -> None:
    chat_id, config = _approval_chat(platform)
    (inv,) = invocations(platform.chat(chat_id))
    platform.call(
        "POST", f"/chats/{chat_id}/tools/{inv['id']}/always-allow", {"tool_name": "write"}
    )
    chat = platform.finish(chat_id)
    assert chat["agent_data"]["always_allowed_tools"] == ["write"]
    assert invocations(chat)[0]["status"] == "completed"
    platform.run({"chat_id": chat_id, "agent_config": config, "input": {"text": "again"}})
    chat = platform.finish(chat_id)
    second = invocations(chat)[-1]
    assert second["status"] == "completed"  # no approval asked this time
    assert text_of(last_reply(chat)).startswith("Again: Task ")


def test_stop_mid_reply_cancels_the_message_and_the_task(platform: Platform) -> None:
    words = " ".join(f"w{i}" for i in range(60))
    config = scripted({"text": words, "delay": 0.1})
    reply = platform.run({"agent_config": config, "input": {"text": "talk"}})
    chat_id = reply["assistant_message"]["chat_id"]
    platform.wait_for(chat_id, lambda c: len(text_of(last_reply(c))) > 0)
    platform.call("POST", f"/chats/{chat_id}/stop")
    chat = platform.chat(chat_id)
    assert chat["status"] == "idle"
    message = last_reply(chat)
    assert message["status"] == "cancelled"
    assert 0 < len(text_of(message)) < len(words)
    deadline = time.monotonic() + 15
    while platform.call("GET", f"/tasks/{message['task_id']}")["status"] != 12:
        assert time.monotonic() < deadline, "the model task was not cancelled"
        time.sleep(0.05)
    # The chat takes the next message.
    platform.run({"chat_id": chat_id, "agent": "local/assistant", "input": {"text": "hi"}})
    assert platform.finish(chat_id)["status"] == "idle"


def _upload(platform: Platform, data: bytes, filename: str, content_type: str) -> dict[str, Any]:
    (file,) = platform.call(
        "POST",
        "/files",
        {"files": [{"filename": filename, "content_type": content_type, "size": len(data)}]},
    )
    put = httpx.put(file["upload_url"], content=data, headers={"Content-Type": content_type})
    assert put.status_code < 300, put.text
    return file


def test_file_attachments_reach_the_model(platform: Platform) -> None:
    image = _upload(platform, b"\x89PNG\r\n\x1a\n" + b"0" * 92, "cat.png", "image/png")
    notes = _upload(platform, b"hello notes", "notes.txt", "text/plain")
    config = scripted({"text": "I got {{files}}"})
    attachments = [
        {"uri": image["uri"], "filename": "cat.png", "content_type": "image/png"},
        {"uri": notes["uri"], "filename": "notes.txt", "content_type": "text/plain"},
    ]
    reply = platform.run(
        {"agent_config": config, "input": {"text": "what is this?", "attachments": attachments}}
    )
    user = reply["user_message"]
    assert {c["type"] for c in user["content"]} == {"text", "image", "file"}
    chat = platform.finish(user["chat_id"])
    assert text_of(last_reply(chat)) == "I got cat.png:100, notes.txt:11"
    task = platform.call("GET", f"/tasks/{last_reply(chat)['task_id']}")
    assert task["input"]["images"] == [image["uri"]]
    assert task["input"]["files"] == [notes["uri"]]


def test_skills_preloaded_and_on_demand(platform: Platform, receiver: Receiver) -> None:
    skills = [
        {
            "name": "style",
            "description": "House style",
            "content": "Write tersely.",
            "preload": True,
        },
        {"name": "review", "description": "Code review guidelines", "content": "1. Check security"},
        {
            "name": "api-docs",
            "description": "API docs",
            "url": receiver.base_url + "/skills/api.md",
        },
    ]
    config = scripted(
        {"text": "PROMPT[{{system_prompt}}] TOOLS[{{tools}}]"},
        {"tool_calls": [call("skill_get", skill="review"), call("skill_get", skill="api-docs")]},
        {"text": "Loaded: {{tool_results}}"},
        system_prompt="Be helpful.",
        skills=skills,
    )
    reply = platform.run({"agent_config": config, "input": {"text": "hi"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.finish(chat_id)
    assert text_of(last_reply(chat)) == (
        "PROMPT[Be helpful.\n\n# Skill: style\n\nWrite tersely.] TOOLS[skill_get]"
    )
    platform.run({"chat_id": chat_id, "agent_config": config, "input": {"text": "review"}})
    chat = platform.finish(chat_id)
    assert text_of(last_reply(chat)) == (
        "Loaded: 1. Check security\n# Skill file api.md\n\nAlways check the api.md rules."
    )
    model_task = platform.call("GET", f"/tasks/{chat['chat_messages'][3]['task_id']}")
    (skill_get,) = model_task["input"]["tools"]
    description = skill_get["function"]["description"]
    assert "- review: Code review guidelines" in description
    assert "- api-docs: API docs" in description
    assert "style" not in description


def test_plan_memory_and_finish_use_chat_state(platform: Platform) -> None:
    config = scripted(
        {
            "tool_calls": [
                call("plan_create", steps=[{"title": "look"}, {"title": "answer"}]),
                call("memory_set", key="user", value="Ada"),
            ]
        },
        {
            "tool_calls": [
                call("plan_update", index=0, status="completed", notes="seen"),
                call("memory_get", key="user"),
            ]
        },
        {"tool_calls": [call("finish", status="succeeded", result="all done")]},
        {"text": "never reached"},
        internal_tools={"plan": True, "memory": True, "finish": True},
    )
    reply = platform.run({"agent_config": config, "input": {"text": "plan it"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    data = chat["agent_data"]
    assert [(s["title"], s["status"]) for s in data["plan_steps"]] == [
        ("look", "completed"),
        ("answer", "pending"),
    ]
    assert data["plan_steps"][0]["notes"] == "seen"
    assert data["memory"] == {"user": "Ada"}
    assert chat["output"] == "all done"
    results = {i["function"]["name"]: i["result"] for i in invocations(chat)}
    assert results["memory_get"] == "Ada"
    assert all(i["type"] == "internal" for i in invocations(chat))
    # finish ends the turn: no model call after it.
    assert "never reached" not in json.dumps(chat)
    assert chat["status"] == "idle"


def test_turn_limit_ends_an_endless_loop(platform: Platform) -> None:
    reply = platform.run({"agent": "local/limited", "input": {"text": "loop"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    final = last_reply(chat)
    assert final["status"] == "failed"
    assert any(
        "turn limit reached: 3 model calls" in (c.get("error") or "") for c in final["content"]
    )
    assert len([m for m in chat["chat_messages"] if m["role"] == "assistant"]) == 4


def test_app_tool_on_an_unknown_app_reports_the_error_to_the_model(platform: Platform) -> None:
    # The platform refuses the task (404): the model reads why, and the sibling call still runs.
    tools = [
        {"name": "ghost", "type": "app", "app": {"ref": "local/no-such-app"}},
        {"name": "write", "type": "app", "app": {"ref": "local/hello"}},
    ]
    config = scripted(
        {"tool_calls": [call("ghost", prompt="x"), call("write", prompt="a poem")]},
        {"text": "It said: {{tool_results}}"},
        tools=tools,
    )
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    ghost, write = invocations(chat)
    assert ghost["status"] == "failed", ghost
    assert "local/no-such-app" in ghost["result"] and "internal error" not in ghost["result"]
    assert write["status"] == "completed", write
    final = last_reply(chat)
    assert final["status"] == "ready", final
    assert text_of(final).startswith("It said: Error: ")
    assert "local/no-such-app" in text_of(final)


def test_app_tool_on_an_alias_cycle_reports_the_error_to_the_model(platform: Platform) -> None:
    # Refs go to /apps/run as written; its resolver's error (a broken alias table) is the
    # tool's result, not a failure of the whole turn.
    aliases = platform.agents_dirs[-1] / "aliases.yaml"
    aliases.write_text("test/loop-a: test/loop-b\ntest/loop-b: test/loop-a\n")
    try:
        tool = {"name": "loopy", "type": "app", "app": {"ref": "test/loop-a"}}
        config = scripted(
            {"tool_calls": [call("loopy", prompt="x")]},
            {"text": "It said: {{tool_results}}"},
            tools=[tool],
        )
        reply = platform.run({"agent_config": config, "input": {"text": "go"}})
        chat = platform.finish(reply["assistant_message"]["chat_id"])
    finally:
        aliases.unlink()
    (inv,) = invocations(chat)
    assert inv["status"] == "failed", inv
    assert "cycle" in inv["result"] and "internal error" not in inv["result"], inv
    final = last_reply(chat)
    assert final["status"] == "ready", final
    assert "cycle" in text_of(final)


def test_model_failure_fails_the_message(platform: Platform) -> None:
    config = scripted({"error": "the model is down"})
    reply = platform.run({"agent_config": config, "input": {"text": "hi"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    final = last_reply(chat)
    assert final["status"] == "failed"
    assert "the model is down" in json.dumps(final["content"])
    assert chat["status"] == "idle"


def test_unknown_tool_call_is_reported_to_the_model(platform: Platform) -> None:
    config = scripted({"tool_calls": [call("nope")]}, {"text": "{{tool_results}}"})
    reply = platform.run({"agent_config": config, "input": {"text": "hi"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    assert text_of(last_reply(chat)).startswith("Error: unknown tool 'nope'")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            {"agent": "local/nobody", "input": {"text": "x"}},
            404,
            ["local/nobody", "local/assistant"],
        ),
        ({"input": {"text": "x"}}, 400, ["agent_config"]),
        ({"agent_config": {"core_app": {}}, "input": {"text": "x"}}, 400, ["core_app.ref"]),
        ({"agent": "local/assistant"}, 400, ["input"]),
        ({"agent": "local/assistant", "input": {"text": ""}}, 400, ["empty"]),
        (
            {
                "agent_config": scripted(tools=[{"name": "t", "type": "teleport"}]),
                "input": {"text": "x"},
            },
            400,
            ["tools[0].type", "teleport"],
        ),
        ({"chat_id": "chat_missing", "input": {"text": "x"}}, 404, ["chat_missing"]),
    ],
)
def test_bad_requests_say_what_is_wrong(
    platform: Platform, body: dict[str, Any], status: int, words: list[str]
) -> None:
    response = platform.http.post(platform.url("/agents/run"), json=body)
    assert response.status_code == status
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message


def test_routes_need_the_api_key(platform: Platform) -> None:
    response = httpx.post(platform.url("/agents/run"), json={"agent": "local/assistant"})
    assert response.status_code == 401


def test_v2_envelope_gives_bare_bodies(platform: Platform) -> None:
    response = platform.http.post(
        platform.url("/agents/run"),
        json={"agent": "local/assistant", "input": {"text": "v2"}},
        headers={"X-API-Version": "2"},
    )
    assert set(response.json()) == {"user_message", "assistant_message"}
    missing = platform.http.get(platform.url("/chats/nope"), headers={"X-API-Version": "2"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "nope" in missing.json()["detail"]


def test_chats_survive_a_restart(tmp_path: Path) -> None:
    server = Platform(tmp_path / "data", [AGENTS], {})
    server.start()
    try:
        done = server.run({"agent": "local/assistant", "input": {"text": "remember me"}})
        done_id = done["assistant_message"]["chat_id"]
        server.finish(done_id)
        config = scripted(
            {"tool_calls": [call("lookup", x="1")]},
            {"text": "After the restart: {{tool_results}}"},
            tools=[client_tool("lookup")],
        )
        waiting = server.run({"agent_config": config, "input": {"text": "wait"}})
        waiting_id = waiting["assistant_message"]["chat_id"]
        server.wait_for(waiting_id, lambda c: c["status"] == "awaiting_input")
        slow = scripted({"text": " ".join(["word"] * 100), "delay": 0.3})
        busy = server.run({"agent_config": slow, "input": {"text": "talk"}})
        busy_id = busy["assistant_message"]["chat_id"]
        server.wait_for(busy_id, lambda c: len(text_of(last_reply(c))) > 0)
    finally:
        server.stop(kill=True)  # a crash: nothing gets to tidy up

    server.start()
    try:
        chat = server.chat(done_id)
        assert chat["status"] == "idle"
        assert text_of(last_reply(chat)) == "Hello! You said: remember me"
        # A turn cut off mid-reply ends failed with the reason, never stuck busy.
        chat = server.chat(busy_id)
        assert chat["status"] == "idle"
        assert last_reply(chat)["status"] == "failed"
        assert "restarted" in json.dumps(last_reply(chat)["content"])
        # A turn waiting on the client still waits, and finishes when the result arrives.
        chat = server.chat(waiting_id)
        assert chat["status"] == "awaiting_input"
        (inv,) = invocations(chat)
        assert inv["status"] == "awaiting_input"
        server.call("POST", f"/tools/{inv['id']}", {"result": "still here"})
        chat = server.finish(waiting_id)
        assert text_of(last_reply(chat)) == "After the restart: still here"
        # The chat goes on with its stored agent.
        server.run({"chat_id": done_id, "input": {"text": "again"}})
        assert "again" in text_of(last_reply(server.finish(done_id)))
    finally:
        server.stop()


def test_schema_driven_arguments_for_every_tool(platform: Platform) -> None:
    rich = {
        "name": "book",
        "type": "client",
        "client": {
            "input_schema": {
                "type": "object",
                "properties": {
                    "level": {"type": "string", "enum": ["low", "high"]},
                    "count": {"type": "integer"},
                    "where": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                        "required": ["city"],
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "note": {"type": "string"},
                },
                "required": ["level", "count", "where", "tags"],
            }
        },
    }
    config = {
        "core_app": {"ref": "local/scripted-model", "setup": {"call_tools": "all"}},
        "internal_tools": {"plan": False, "memory": False},
        "tools": [rich, client_tool("other")],
    }
    reply = platform.run({"agent_config": config, "input": {"text": "call everything"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    book, other = invocations(chat)
    assert book["function"]["arguments"] == {
        "level": "low",
        "count": 0,
        "where": {"city": "a"},
        "tags": ["a"],
    }
    assert other["function"]["arguments"] == {"x": "a"}
    platform.call("POST", f"/tools/{book['id']}", {"result": "booked"})
    platform.call("POST", f"/tools/{other['id']}", {"result": "done"})
    chat = platform.finish(chat_id)
    assert text_of(last_reply(chat)) == "Tool results: booked\ndone"


def test_script_in_the_core_app_setup(platform: Platform) -> None:
    config = {
        "core_app": {
            "ref": "local/scripted-model",
            "setup": {"script": [{"text": "from setup: {{input}}", "reasoning": "thinking"}]},
        },
    }
    reply = platform.run({"agent_config": config, "input": {"text": "hi"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    final = last_reply(chat)
    assert text_of(final) == "from setup: hi"
    assert final["content"][0] == {"type": "reasoning", "text": "thinking"}


def test_http_tools_send_authenticated_requests(platform: Platform, receiver: Receiver) -> None:
    post = {
        "name": "weather",
        "type": "http",
        "http": {
            "url": receiver.base_url + "/api/{{context.region}}/weather",
            "auth": {"type": "bearer", "secret": "WEATHER_TOKEN"},
            "headers": {"X-Team": "${{secrets.TEAM_NAME}}"},
        },
    }
    get = {
        "name": "search",
        "type": "http",
        "http": {"url": receiver.base_url + "/api/search", "method": "GET"},
    }
    config = scripted(
        {"tool_calls": [call("weather", city="Oslo"), call("search", q="fjords")]},
        {"text": "{{tool_results}}"},
        tools=[post, get],
    )
    reply = platform.run(
        {"agent_config": config, "input": {"text": "weather?"}, "context": {"region": "eu"}}
    )
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    assert chat["context"] == {"region": "eu"}
    weather, search = (json.loads(line) for line in text_of(last_reply(chat)).split("\n"))
    assert weather == {
        "method": "POST",
        "path": "/api/eu/weather",
        "authorization": "Bearer tok-123",
        "x_team": "blue",
        "query": {},
        "body": {"city": "Oslo"},
    }
    assert (search["method"], search["query"], search["body"]) == ("GET", {"q": "fjords"}, None)
    assert {i["type"] for i in invocations(chat)} == {"http"}


def test_run_with_stream_true_answers_with_the_chat_stream(platform: Platform) -> None:
    body = {"agent": "local/assistant", "input": {"text": "streamed"}, "stream": True}
    ndjson = {"Accept": "application/x-ndjson"}
    with platform.http.stream(
        "POST", platform.url("/agents/run"), json=body, headers=ndjson
    ) as response:
        assert response.status_code == 200
        events = [json.loads(line) for line in response.iter_lines() if line.strip()]
    events = [e for e in events if e.get("type") != "heartbeat"]
    assert events[-1]["event"] == "chats" and events[-1]["data"]["status"] == "idle"
    replies = [e["data"] for e in events if e["event"] == "chat_messages"]
    assert text_of(replies[-1]) == "Hello! You said: streamed"


def test_the_one_command_demo() -> None:
    proc = subprocess.run(
        [sys.executable, str(AGENTS / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "agent: Hello! You said: Hello!" in proc.stdout
    assert "agent: Earlier in this chat: user: Hello! |" in proc.stdout
    assert (
        "agent: [lookup({'word': 'ion'})] The dictionary says ion: an atom or molecule "
        "with a net charge"
    ) in proc.stdout


def test_calls_without_distinct_ids_still_get_their_own_results(platform: Platform) -> None:
    config = scripted(
        {
            "tool_calls": [
                {"name": "memory_set", "arguments": {"key": "a", "value": "1"}, "id": "dup"},
                {"name": "memory_get", "arguments": {"key": "zzz"}, "id": "dup"},
            ]
        },
        {"text": "{{tool_results}}"},
        internal_tools={"memory": True, "plan": False},
    )
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    first, second = invocations(chat)
    assert first["tool_invocation_id"] == "dup"
    assert second["tool_invocation_id"] not in ("", "dup")
    assert (first["status"], second["status"]) == ("completed", "failed")
    assert text_of(last_reply(chat)) == f"Stored a.\n{second['result']}"
    assert "nothing stored under 'zzz'" in second["result"]


def test_capability_tools_run_the_local_example_apps(platform: Platform) -> None:
    config = scripted(
        {
            "tool_calls": [
                call("code_execution", code="print(6 * 7)"),
                call("image_generation", prompt="a lighthouse"),
                call("web_search", query="tides"),
            ]
        },
        {"text": "{{tool_results}}"},
        internal_tools={
            "plan": False,
            "memory": False,
            "web_search": True,
            "code_execution": True,
            "image_generation": {"enabled": True},
        },
    )
    reply = platform.run({"agent_config": config, "input": {"text": "do it all"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    code, image, search = invocations(chat)
    assert [i["status"] for i in (code, image, search)] == ["completed"] * 3, chat
    code_task = platform.call("GET", f"/tasks/{code['execution_id']}")
    assert code_task["output"]["stdout"] == "42\n" and code_task["output"]["exit_code"] == 0
    image_task = platform.call("GET", f"/tasks/{image['execution_id']}")
    png = platform.http.get(image_task["output"]["image"]["uri"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    search_task = platform.call("GET", f"/tasks/{search['execution_id']}")
    results = search_task["output"]["results"]
    assert len(results) == 5 and results[0]["title"] == "tides 0"
    assert "local/code-execution completed" in text_of(last_reply(chat))


def test_code_execution_time_limit(platform: Platform) -> None:
    task = platform.call(
        "POST",
        "/apps/run",
        {
            "app": "local/code-execution",
            "input": {"code": "import time; time.sleep(30)", "timeout": 0.5},
        },
    )
    deadline = time.monotonic() + 20
    while task["status"] not in (10, 11, 12):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        task = platform.call("GET", f"/tasks/{task['id']}")
    assert task["output"]["timed_out"] is True and task["output"]["exit_code"] != 0


def test_chats_run_side_by_side(platform: Platform) -> None:
    chat_ids = []
    for name in ("ann", "bob", "cy"):
        config = scripted({"text": f"{name} one two three four", "delay": 0.05})
        reply = platform.run({"agent_config": config, "input": {"text": name}})
        chat_ids.append(reply["assistant_message"]["chat_id"])
    assert all(platform.chat(c)["status"] == "busy" for c in chat_ids)
    for name, chat_id in zip(("ann", "bob", "cy"), chat_ids, strict=True):
        assert text_of(last_reply(platform.finish(chat_id))) == f"{name} one two three four"


def test_records_decode_as_the_core_wire_types(platform: Platform) -> None:
    config = scripted(
        {"text": "checking", "reasoning": "hmm", "tool_calls": [call("lookup", x="1")]},
        {"text": "ok"},
        tools=[client_tool("lookup")],
    )
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat_id = reply["assistant_message"]["chat_id"]
    waiting = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    (inv,) = invocations(waiting)
    platform.call("POST", f"/tools/{inv['id']}", {"result": "r"})
    raw = platform.finish(chat_id)
    chat = msgspec.convert(raw, Chat)
    first = chat.chat_messages[1]
    assert first.reasoning == "hmm" and first.text == "checking"
    (tool_part,) = [c for c in first.content if c.type == "tool"]
    assert tool_part.tool_calls[0].function.arguments == {"x": "1"}
    (invocation,) = first.tool_invocations
    assert (invocation.status, invocation.result, invocation.type) == ("completed", "r", "client")
    assert chat.chat_messages[-1].is_final and chat.chat_messages[-1].text == "ok"
    assert chat.active_run is not None and chat.active_run.state == "completed"
    assert chat.agent_data is not None and chat.agent_data.always_allowed_tools == []

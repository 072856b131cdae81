"""The ``openai-chat`` core app behind an agent, against a loopback fake of the OpenAI chat
completions API: streamed text, streamed tool calls, the whole conversation sent back, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import pytest
from agentloop_testkit import FakeOpenAI, chunk, usage_chunk
from platform_testkit import PlatformFactory

API_KEY = "sk-fake-openai-key"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory, fake: FakeOpenAI) -> Iterator[Any]:
    env = {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_MODEL": "fake-model",
        "OPENAI_API_KEY": API_KEY,
    }
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS], env, [e2e.APPS / "openai-chat"])
    yield server
    server.close()


AGENT = {
    "core_app": {"ref": "local/openai-chat", "input": {"temperature": 0.3, "max_tokens": 200}},
    "system_prompt": "You are terse.",
    "internal_tools": {"plan": False, "memory": False},
    "tools": [e2e.client_tool("lookup")],
}


def test_a_real_model_app_behind_an_agent(platform: Any, fake: FakeOpenAI) -> None:
    fake.requests.clear()
    fake.replies = [
        [
            chunk({"role": "assistant", "content": "Checking"}),
            chunk({"content": "..."}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_abc",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"x":'},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "ion"}'}}]}),
            chunk({}, finish="tool_calls"),
            usage_chunk(30, 12),
        ],
        [
            chunk({"role": "assistant", "content": "An ion is "}),
            chunk({"content": "a charged "}),
            chunk({"content": "particle."}),
            chunk({}, finish="stop"),
            usage_chunk(50, 6),
        ],
    ]
    reply = platform.run({"agent_config": AGENT, "input": {"text": "what is an ion?"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    first = e2e.last_reply(chat)
    assert e2e.text_of(first) == "Checking..."
    (inv,) = e2e.invocations(chat)
    assert inv["tool_invocation_id"] == "call_abc"
    assert inv["function"] == {"name": "lookup", "arguments": {"x": "ion"}}
    platform.call("POST", f"/tools/{inv['id']}", {"result": "a charged particle"})
    events = platform.events(chat_id)
    texts = [
        e2e.text_of(e["data"])
        for e in events
        if e["event"] == "chat_messages" and e["data"]["role"] == "assistant"
    ]
    assert "An ion is a charged particle." in texts
    chat = platform.finish(chat_id)
    assert e2e.text_of(e2e.last_reply(chat)) == "An ion is a charged particle."

    (headers1, body1), (_headers2, body2) = fake.requests
    assert headers1["authorization"] == f"Bearer {API_KEY}"
    assert body1["model"] == "fake-model" and body1["stream"] is True
    assert body1["temperature"] == 0.3 and body1["max_tokens"] == 200
    assert body1["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "what is an ion?"},
    ]
    (offered,) = body1["tools"]
    assert offered["function"]["name"] == "lookup"
    assert offered["function"]["parameters"]["required"] == ["x"]
    assert body2["messages"][1:] == [
        {"role": "user", "content": "what is an ion?"},
        {
            "role": "assistant",
            "content": "Checking...",
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"x": "ion"}'},
                }
            ],
        },
        {"role": "tool", "content": "a charged particle", "tool_call_id": "call_abc"},
    ]
    task = platform.call("GET", f"/tasks/{e2e.last_reply(chat)['task_id']}")
    assert task["output"]["usage"]["completion_tokens"] == 6
    assert task["output"]["usage"]["stop_reason"] == "stop"


def test_a_server_error_fails_the_turn_clearly(platform: Any, fake: FakeOpenAI) -> None:
    fake.replies = [(401, {"error": {"message": "Incorrect API key provided"}})]
    reply = platform.run({"agent_config": AGENT, "input": {"text": "hi"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    final = e2e.last_reply(chat)
    assert final["status"] == "failed"
    error = json.dumps(final["content"])
    assert "HTTP 401" in error and "Incorrect API key provided" in error
    assert API_KEY not in json.dumps(chat)


def test_openai_assistant_example_template(platform: Any, fake: FakeOpenAI) -> None:
    fake.requests.clear()
    fake.replies = [[chunk({"content": "Hello from a real model."}), chunk({}, finish="stop")]]
    reply = platform.run({"agent": "local/openai-assistant", "input": {"text": "hello"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    assert e2e.text_of(e2e.last_reply(chat)) == "Hello from a real model."
    ((_, body),) = fake.requests
    assert body["temperature"] == 0.2
    assert [t["function"]["name"] for t in body["tools"]] == [
        "memory_set",
        "memory_get",
        "memory_getall",
    ]

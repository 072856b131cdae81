"""Top-level exports of inferencesh-agents and the chat wire types in inferencesh.core.chat."""

from __future__ import annotations

import importlib

import inferencesh
import inferencesh.agents
import msgspec
import pytest
from inferencesh.core.chat import (
    AgentConfig,
    AgentMessageInput,
    AgentRunRequest,
    Chat,
    ChatMessage,
    ChatMessageStatus,
    ChatStatus,
    ToolInvocation,
    ToolInvocationStatus,
)


def test_every_agents_name_of_the_top_level_package_resolves() -> None:
    names = [n for n, (mod, _) in inferencesh._EXPORTS.items() if mod == "inferencesh.agents"]
    assert {"Agent", "AsyncAgent", "tool", "internal_tools", "optional"} <= set(names)
    for name in names:
        assert getattr(inferencesh, name) is getattr(inferencesh.agents, name)
        assert name in inferencesh.agents.__all__
    for name in ("Agents", "AsyncAgents", "AgentResponse", "ToolCallInfo", "MessageUpdate"):
        assert hasattr(inferencesh.agents, name)


def test_seed_import_lines() -> None:
    namespace: dict[str, object] = {}
    exec(
        "from inferencesh import tool, string, number, app_tool\n"
        "from inferencesh import (string, number, integer, boolean, enum_of, array, obj, optional)\n"
        "from inferencesh import agent_tool, webhook_tool, internal_tools\n",
        namespace,
    )
    assert namespace["tool"] is inferencesh.agents.tool


def test_agent_errors_are_core_errors() -> None:
    core_errors = importlib.import_module("inferencesh.core.errors")
    assert issubclass(inferencesh.agents.AgentError, core_errors.InferenceError)
    assert issubclass(inferencesh.agents.AgentTurnFailedError, RuntimeError)


def test_chat_message_decoding_and_dict_access() -> None:
    raw = (
        b'{"id":"m1","chat_id":"c1","order":2,"status":"ready","role":"assistant","new_field":1,'
        b'"content":[{"type":"reasoning","text":"think"},{"type":"text","text":"Hel"},'
        b'{"type":"text","text":"lo"}],"tool_invocations":[{"id":"t1","type":"client",'
        b'"status":"awaiting_input","function":{"name":"f","arguments":"{\\"a\\": 1}"}}]}'
    )
    msg = msgspec.json.decode(raw, type=ChatMessage)
    assert msg.text == "Hello"
    assert msg.reasoning == "think"
    assert msg.is_final
    assert msg["role"] == msg.get("role") == "assistant"
    assert "task_id" not in msg
    assert msg.get("task_id", "none") == "none"
    with pytest.raises(KeyError):
        msg["new_field"]
    (invocation,) = msg.tool_invocations or []
    assert invocation.function.arguments == {"a": 1}
    assert invocation.status == ToolInvocationStatus.AWAITING_INPUT
    assert msg.status == ChatMessageStatus.READY


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", {}), ("null", {}), ("{}", {}), ({"x": 1}, {"x": 1}), ("{bad", "{bad")],
)
def test_tool_arguments_string_encoded_map(arguments: object, expected: object) -> None:
    decoded = msgspec.convert({"id": "t", "function": {"arguments": arguments}}, ToolInvocation)
    assert decoded.function.arguments == expected


def test_chat_and_request_round_trip() -> None:
    chat = msgspec.convert(
        {
            "id": "c1",
            "status": "awaiting_input",
            "agent_data": {
                "always_allowed_tools": ["x"],
                "plan_steps": [{"index": 0, "title": "t"}],
            },
            "active_run": {"state": "input_required", "interrupt_reason": "client_tool"},
            "pending_interrupts": [{"reason": "tool_approval", "status": "pending"}],
        },
        Chat,
    )
    assert chat.status == ChatStatus.AWAITING_INPUT
    assert chat.agent_data is not None and chat.agent_data.always_allowed_tools == ["x"]
    request = AgentRunRequest(agent="a/b", input=AgentMessageInput(text="hi"))
    encoded = msgspec.json.encode(request)
    assert msgspec.json.decode(encoded) == {"agent": "a/b", "input": {"text": "hi"}}
    assert msgspec.json.decode(encoded, type=AgentRunRequest).input.role == "user"


def test_agent_config_accepts_every_builder_output() -> None:
    from inferencesh.agents import (
        agent_tool,
        app_tool,
        http_tool,
        internal_tools,
        string,
        tool,
        webhook_tool,
    )

    tools = [
        tool("a").param("x", string()).build(),
        app_tool("b", "infsh/flux").setup({"m": 1}).build(),
        agent_tool("c", "org/agent@v1").build(),
        webhook_tool("d", "https://x.test").secret("S").build(),
        http_tool("e", "https://x.test").auth(bearer="T").build(),
    ]
    config = msgspec.convert(
        {
            "core_app": {"ref": "infsh/claude@latest"},
            "tools": tools,
            "internal_tools": internal_tools()
            .all()
            .image_generation({"enabled": True, "app_ref": "infsh/flux@latest"})
            .build(),
        },
        AgentConfig,
    )
    assert [t.type for t in config.tools or []] == ["client", "app", "agent", "hook", "http"]
    assert config.internal_tools is not None and config.internal_tools.plan is True


def test_meaningful_defaults_survive_encoding() -> None:
    """`type: "text"`, `order: 0`, `status: "pending"`, `enabled: true` reach the wire."""
    import msgspec
    from inferencesh.core.chat import (
        ChatMessage,
        ChatMessageContent,
        ImageGenerationConfig,
        PlanStep,
        ToolCall,
    )

    message = msgspec.json.decode(
        msgspec.json.encode(ChatMessage(id="m1", content=[ChatMessageContent(text="hi")]))
    )
    assert message["order"] == 0
    assert message["content"][0]["type"] == "text"
    assert msgspec.to_builtins(ToolCall(id="c1"))["type"] == "function"
    assert msgspec.to_builtins(PlanStep())["status"] == "pending"
    assert msgspec.to_builtins(ImageGenerationConfig())["enabled"] is True

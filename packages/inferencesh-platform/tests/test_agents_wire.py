"""The local agent loop speaks the core chat wire types: every chat, message, tool invocation,
status and stream payload it sends decodes into ``inferencesh.core`` structs with no field the
structs do not know.

How unknown fields are found: each raw JSON payload is walked side by side with
``msgspec.inspect.type_info`` of the struct it should be, and every object key that is not a
field of the struct at that place is reported with its path (``$.pending_interrupts[0].meta``).
Comparing ``to_dict()`` keys after a round trip would confuse "unknown" with "omitted because it
is the default"; ``forbid_unknown_fields`` copies of the types would have to be kept in step by
hand. The walk follows the real types, so a field added to a core struct is known at once. Each
payload is also decoded with ``msgspec.convert`` so a known field of the wrong type fails too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import msgspec
import msgspec.inspect as mi
import pytest
from inferencesh.core.chat import (
    AgentRun,
    AgentRunResponse,
    Chat,
    ChatData,
    ChatMessage,
    ChatMessageContent,
    Interrupt,
    ToolCall,
    ToolInvocation,
)
from inferencesh.core.types import ResourceStatus
from platform_testkit import PlatformFactory

Platform = e2e.Platform
call = e2e.call
client_tool = e2e.client_tool
invocations = e2e.invocations
scripted = e2e.scripted


class _ToolCallFunctionDelta(msgspec.Struct, forbid_unknown_fields=True):
    name: str = ""
    arguments: str = ""


class _ToolCallDelta(msgspec.Struct, forbid_unknown_fields=True):
    index: int
    id: str | None = None
    type: str | None = None
    function: _ToolCallFunctionDelta | None = None


class _LLMDelta(msgspec.Struct, forbid_unknown_fields=True):
    """The platform's ``LLMDelta`` (platform-protocol §2.2), as the loop's deltas carry it."""

    response: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None
    usage: dict[str, Any] | None = None


class _DeltaEvent(msgspec.Struct, forbid_unknown_fields=True):
    """A chat stream's ``delta`` event data (``DeltaEvent``)."""

    delta: _LLMDelta
    seq: int
    resource_id: str


# What each stream event name carries.
_EVENT_TYPES: dict[str, type[Any]] = {
    "chat_messages": ChatMessage,
    "chats": Chat,
    "delta": _DeltaEvent,
}


def unknown_fields(value: Any, info: mi.Type, path: str, seen: set[type[Any]]) -> list[str]:
    """Paths of the object keys in ``value`` that the type ``info`` has no field for."""
    if isinstance(info, mi.StructType):
        if not isinstance(value, dict):
            return []  # a wrong kind of value is convert()'s to report
        seen.add(info.cls)
        fields = {f.encode_name: f.type for f in info.fields}
        found: list[str] = []
        for key, item in value.items():
            if key not in fields:
                found.append(f"{path}.{key}")
            else:
                found += unknown_fields(item, fields[key], f"{path}.{key}", seen)
        return found
    if isinstance(info, mi.UnionType):
        for member in info.types:
            if isinstance(value, dict) and isinstance(member, (mi.StructType, mi.DictType)):
                return unknown_fields(value, member, path, seen)
            if isinstance(value, list) and isinstance(member, mi.ListType):
                return unknown_fields(value, member, path, seen)
        return []
    if isinstance(info, mi.ListType) and isinstance(value, list):
        return [
            p
            for i, item in enumerate(value)
            for p in unknown_fields(item, info.item_type, f"{path}[{i}]", seen)
        ]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        return [
            p
            for key, item in value.items()
            for p in unknown_fields(item, info.value_type, f"{path}.{key}", seen)
        ]
    return []  # Any and scalars: nothing to check inside


class Wire:
    """Checks payloads against the core types and remembers which structs it met."""

    def __init__(self) -> None:
        self.seen: set[type[Any]] = set()
        self.checked = 0

    def check(self, raw: Any, kind: type[Any], where: str) -> Any:
        assert isinstance(raw, dict), f"{where}: expected a JSON object, got {raw!r:.200}"
        extra = unknown_fields(raw, mi.type_info(kind), "$", self.seen)
        assert not extra, f"{where} sends fields {kind.__name__} does not know: {extra}"
        decoded = msgspec.convert(raw, kind)
        self.checked += 1
        return decoded

    def events(self, events: list[dict[str, Any]], where: str) -> list[Any]:
        """Check stream events: ``{"event", "data"}`` with the data the event name promises."""
        assert events, f"{where}: the stream sent nothing"
        decoded = []
        for index, event in enumerate(events):
            assert set(event) == {"event", "data"}, f"{where}[{index}]: {sorted(event)}"
            kind = _EVENT_TYPES[event["event"]]
            decoded.append(self.check(event["data"], kind, f"{where}[{index}] {event['event']}"))
        return decoded

    def chat(self, platform: Any, chat_id: str, where: str) -> Chat:
        chat: Chat = self.check(platform.chat(chat_id), Chat, f"GET /chats ({where})")
        status = platform.call("GET", f"/chats/{chat_id}/status")
        got: ResourceStatus = self.check(status, ResourceStatus, f"GET /chats/status ({where})")
        assert (got.id, got.status) == (chat.id, chat.status)
        return chat

    def expect(self, *kinds: type[Any]) -> None:
        """The structs that must have been met (so a check never passes on an empty payload)."""
        missing = [k.__name__ for k in kinds if k not in self.seen]
        assert not missing, f"never checked: {missing}"


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = Platform.shared(local_platform, [e2e.AGENTS])
    yield server
    server.close()


@pytest.fixture
def wire() -> Wire:
    return Wire()


def _start(platform: Any, wire: Wire, body: dict[str, Any]) -> str:
    reply = wire.check(platform.run(body), AgentRunResponse, "POST /agents/run")
    chat_id: str = reply.assistant_message.chat_id
    return chat_id


def _approval_tool() -> dict[str, Any]:
    return {
        "name": "write",
        "type": "app",
        "description": "Write something",
        "require_approval": True,
        "app": {"ref": "local/hello", "input": {"prompt": "approved run"}},
    }


def _awaiting(platform: Any, wire: Wire, chat_id: str) -> tuple[Chat, ToolInvocation]:
    # The stream up to the wait is checked too: it ends with the chat awaiting input.
    events = platform.events(
        chat_id, until=lambda e: e["event"] == "chats" and e["data"]["status"] == "awaiting_input"
    )
    wire.events(events, "stream until awaiting_input")
    chat = wire.chat(platform, chat_id, "awaiting input")
    (invocation,) = [i for m in chat.chat_messages or [] for i in m.tool_invocations or []]
    return chat, invocation


def test_plain_reply(platform: Any, wire: Wire) -> None:
    chat_id = _start(platform, wire, {"agent": "local/assistant", "input": {"text": "hi"}})
    wire.events(platform.events(chat_id), "stream")
    chat = wire.chat(platform, chat_id, "idle")
    assert chat.status == "idle" and chat.chat_messages is not None
    assert chat.chat_messages[-1].text == "Hello! You said: hi"
    wire.expect(AgentRunResponse, Chat, ChatMessage, ChatMessageContent, AgentRun, ChatData)


def test_stream_true_on_run(platform: Any, wire: Wire) -> None:
    body = {"agent": "local/assistant", "input": {"text": "streamed"}, "stream": True}
    ndjson = {"Accept": "application/x-ndjson"}
    with platform.http.stream(
        "POST", platform.url("/agents/run"), json=body, headers=ndjson
    ) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line.strip()]
    events = [e for e in lines if e.get("type") != "heartbeat"]
    decoded = wire.events(events, "POST /agents/run stream")
    assert isinstance(decoded[-1], Chat) and decoded[-1].status == "idle"
    # SSE frames carry the same payloads.
    chat_id = decoded[-1].id
    body_text = platform.sse_snapshot(chat_id)
    frames = [f for f in body_text.split("\n\n") if f.startswith("event: ")]
    assert frames
    for frame in frames:
        name_line, data_line = frame.split("\n", 1)
        name = name_line.removeprefix("event: ")
        wire.check(json.loads(data_line.removeprefix("data: ")), _EVENT_TYPES[name], "SSE")
    wire.expect(Chat, ChatMessage)


def test_tool_call_with_approval(platform: Any, wire: Wire) -> None:
    config = scripted(
        {"tool_calls": [call("write")]},
        {"text": "Result: {{tool_results}}"},
        tools=[_approval_tool()],
    )
    chat_id = _start(platform, wire, {"agent_config": config, "input": {"text": "write"}})
    chat, invocation = _awaiting(platform, wire, chat_id)
    assert invocation.status == "awaiting_approval"
    assert chat.pending_interrupts is not None
    (interrupt,) = chat.pending_interrupts
    assert (interrupt.reason, interrupt.resource_id) == ("tool_approval", invocation.id)
    approved = platform.call("POST", f"/tools/{invocation.id}/invoke")
    assert wire.check(approved, ToolInvocation, "POST /tools/invoke").status == "in_progress"
    wire.events(platform.events(chat_id), "stream after approval")
    chat = wire.chat(platform, chat_id, "after approval")
    (done,) = invocations(platform.chat(chat_id))
    assert done["status"] == "completed" and done["execution_id"]
    wire.expect(Interrupt, ToolInvocation, ToolCall, AgentRun)


def test_always_allow(platform: Any, wire: Wire) -> None:
    config = scripted(
        {"tool_calls": [call("write")]},
        {"text": "Result: {{tool_results}}"},
        tools=[_approval_tool()],
    )
    chat_id = _start(platform, wire, {"agent_config": config, "input": {"text": "write"}})
    _, invocation = _awaiting(platform, wire, chat_id)
    allowed = platform.call(
        "POST", f"/chats/{chat_id}/tools/{invocation.id}/always-allow", {"tool_name": "write"}
    )
    wire.check(allowed, ToolInvocation, "POST /chats/tools/always-allow")
    wire.events(platform.events(chat_id), "stream after always-allow")
    chat = wire.chat(platform, chat_id, "after always-allow")
    assert chat.agent_data is not None and chat.agent_data.always_allowed_tools == ["write"]


def test_rejected_tool(platform: Any, wire: Wire) -> None:
    config = scripted(
        {"tool_calls": [call("write")]},
        {"text": "Result: {{tool_results}}"},
        tools=[_approval_tool()],
    )
    chat_id = _start(platform, wire, {"agent_config": config, "input": {"text": "write"}})
    _, invocation = _awaiting(platform, wire, chat_id)
    rejected = platform.call("POST", f"/tools/{invocation.id}/reject", {"reason": "no"})
    got = wire.check(rejected, ToolInvocation, "POST /tools/reject")
    assert (got.status, got.result) == ("cancelled", "Rejected by the user: no")
    wire.events(platform.events(chat_id), "stream after rejection")
    chat = wire.chat(platform, chat_id, "after rejection")
    assert chat.chat_messages is not None
    assert chat.chat_messages[-1].text == "Result: Rejected by the user: no"
    assert chat.active_run is not None and chat.active_run.state == "completed"
    wire.expect(ToolInvocation, AgentRun)


def test_client_tool(platform: Any, wire: Wire) -> None:
    config = scripted(
        {"text": "checking", "reasoning": "hmm", "tool_calls": [call("lookup", x="42")]},
        {"text": "The tool said: {{tool_results}}"},
        tools=[client_tool("lookup")],
    )
    chat_id = _start(platform, wire, {"agent_config": config, "input": {"text": "look"}})
    chat, invocation = _awaiting(platform, wire, chat_id)
    assert (invocation.type, invocation.status) == ("client", "awaiting_input")
    assert chat.pending_interrupts is not None
    assert [i.reason for i in chat.pending_interrupts] == ["client_tool"]
    answer = platform.call("POST", f"/tools/{invocation.id}", {"result": "forty-two"})
    message = wire.check(answer, ChatMessage, "POST /tools/{id}")
    assert message.tool_invocations is not None
    assert message.tool_invocations[0].result == "forty-two"
    wire.events(platform.events(chat_id), "stream after the result")
    chat = wire.chat(platform, chat_id, "after the result")
    assert chat.chat_messages is not None
    assert chat.chat_messages[-1].text == "The tool said: forty-two"
    wire.expect(Interrupt, ToolInvocation, ToolCall, ChatMessageContent)


def test_stopped_chat(platform: Any, wire: Wire) -> None:
    words = " ".join(f"w{i}" for i in range(60))
    chat_id = _start(
        platform,
        wire,
        {"agent_config": scripted({"text": words, "delay": 0.1}), "input": {"text": "talk"}},
    )
    platform.wait_for(chat_id, lambda c: len(e2e.text_of(e2e.last_reply(c))) > 0)
    stopped = platform.call("POST", f"/chats/{chat_id}/stop")
    assert wire.check(stopped, ResourceStatus, "POST /chats/stop").status == "idle"
    wire.events(platform.events(chat_id), "stream after stop")
    chat = wire.chat(platform, chat_id, "stopped")
    assert chat.chat_messages is not None
    last = chat.chat_messages[-1]
    assert last.status == "cancelled" and last.content[-1].error == "stopped by the user"
    assert chat.active_run is not None
    assert (chat.active_run.state, chat.active_run.error) == ("canceled", "stopped by the user")
    wire.expect(ResourceStatus, AgentRun, ChatMessageContent)


def test_the_walk_finds_unknown_fields() -> None:
    """The checker itself: an unknown key anywhere in the tree is reported with its path."""
    raw = {
        "id": "chat_1",
        "surprise": 1,
        "chat_messages": [{"id": "m", "content": [{"type": "text", "text": "x", "odd": True}]}],
        "agent_data": {"plan_steps": [{"index": 0, "title": "t", "extra": 1}]},
        "pending_interrupts": [{"id": "i", "weird": 2}],
        "context": {"any": {"nested": "keys are free here"}},
    }
    found = unknown_fields(raw, mi.type_info(Chat), "$", set())
    assert sorted(found) == [
        "$.agent_data.plan_steps[0].extra",
        "$.chat_messages[0].content[0].odd",
        "$.pending_interrupts[0].weird",
        "$.surprise",
    ]


def test_payload_leaves_unset_fields_out_and_keeps_meaningful_defaults() -> None:
    from inferencesh.platform.agents.wire import payload

    message = ChatMessage(
        id="m",
        content=[ChatMessageContent(text="hi")],
        tool_invocations=[ToolInvocation(id="t", data={"kept": None})],
    )
    assert payload(message) == {
        "id": "m",
        "order": 0,  # a default that means something stays
        "content": [{"type": "text", "text": "hi"}],  # no "image": null, ...
        "tool_invocations": [{"id": "t", "data": {"kept": None}}],  # free-form data untouched
    }
    # Structs that omit their defaults still do; the bytes decode back to the same struct.
    chat = Chat(id="c", agent_data=ChatData(always_allowed_tools=[]), children=[None])
    assert payload(chat) == {
        "id": "c",
        "children": [None],
        "agent_data": {"always_allowed_tools": []},
    }
    assert msgspec.convert(payload(message), ChatMessage) == message

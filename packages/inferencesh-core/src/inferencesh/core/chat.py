"""Wire types of agent chats: chats, messages, tool invocations, and the answer to a run.

The agent configs and the request bodies of the agent routes (``AgentConfig``, ``AgentTool``,
``AgentRunRequest``, ...) live in ``inferencesh.core.requests`` with the rules both ends check;
they are importable from here too.

msgspec Structs shared by the agent client (``inferencesh-agents``) and the local platform's
agent loop. Unknown fields are ignored on decode; absent optional fields are omitted on encode.
Statuses are plain strings on the wire (the ``*Status`` enums below are ``str`` enums to compare
against). Every struct also reads like a dict: ``msg["content"]``, ``msg.get("status")``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from inferencesh.core._struct import WireEnum, WireStruct
from inferencesh.core.requests import (
    AgentConfig,
    AgentMessageInput,
    AgentRunRequest,
    AgentTool,
    AgentToolConfig,
    AlwaysAllowRequest,
    AppToolConfig,
    ClientToolConfig,
    CoreAppConfig,
    FileRef,
    HookToolConfig,
    HTTPToolConfig,
    ImageGenerationConfig,
    InternalToolsConfig,
    SkillConfig,
    ToolAuthConfig,
    ToolRejectRequest,
    ToolResultRequest,
    ToolType,
)

__all__ = [
    "AgentConfig",
    "AgentToolDTO",
    "ChatDTO",
    "ChatMessageContentType",
    "ChatMessageDTO",
    "LLMContextMessage",
    "Tool",
    "ToolFunction",
    "ToolInvocationDTO",
    "ToolCallType",
    "ToolParamType",
    "ToolParameterProperty",
    "ToolParameters",
    "AgentMessageInput",
    "AgentRun",
    "AgentRunRequest",
    "AgentRunResponse",
    "AgentRunState",
    "AgentTool",
    "AgentToolConfig",
    "AlwaysAllowRequest",
    "AppToolConfig",
    "Chat",
    "ChatData",
    "ChatMessage",
    "ChatMessageContent",
    "ChatMessageRole",
    "ChatMessageStatus",
    "ChatStatus",
    "ClientToolConfig",
    "CoreAppConfig",
    "FileRef",
    "HTTPToolConfig",
    "HookToolConfig",
    "ImageGenerationConfig",
    "InternalToolsConfig",
    "Interrupt",
    "PlanStep",
    "SkillConfig",
    "ToolAuthConfig",
    "ToolCall",
    "ToolCallFunction",
    "ToolInvocation",
    "ToolInvocationStatus",
    "ToolRejectRequest",
    "ToolResultRequest",
    "ToolType",
]


class ChatStatus(WireEnum):
    """A chat's status: ``busy`` while a turn runs, ``awaiting_input`` while a tool waits."""

    BUSY = "busy"
    IDLE = "idle"
    AWAITING_INPUT = "awaiting_input"
    WAITING = "waiting"
    COMPLETED = "completed"


class ChatMessageStatus(WireEnum):
    """A message's status; ``pending``/``queued`` until it is final."""

    PENDING = "pending"
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ChatMessageRole(WireEnum):
    """Who wrote a message; ``injection``, ``compaction`` and ``event`` messages are the
    platform's own and never go to the model as they are."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    INJECTION = "injection"
    COMPACTION = "compaction"
    EVENT = "event"


class ChatMessageContentType(WireEnum):
    """The kind of one part of a message (``ChatMessageContent.type``)."""

    TEXT = "text"
    REASONING = "reasoning"
    IMAGE = "image"
    FILE = "file"
    TOOL = "tool"
    EVENT = "event"


class ToolInvocationStatus(WireEnum):
    """Where a tool call stands; ``awaiting_input`` waits for a client result, ``awaiting_approval``
    for a person's decision."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    AWAITING_INPUT = "awaiting_input"
    AWAITING_APPROVAL = "awaiting_approval"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AgentRunState(WireEnum):
    """The state of one user -> agent turn."""

    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input_required"
    AUTH_REQUIRED = "auth_required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


# ---- messages and tool calls -------------------------------------------------------------------


# Structs whose non-null defaults mean something on the wire (`type: "text"`, `order: 0`,
# `enabled: true`) set `omit_defaults=False`: WireStruct's default omits every
# field equal to its default, which is right for absent optionals but would drop these.


class ToolCallFunction(WireStruct, kw_only=True):
    """The function an LLM called: its name and arguments (a JSON object, sometimes sent as a
    JSON string; decoding turns a string into a dict when it parses)."""

    name: str = ""
    arguments: dict[str, Any] | str = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.arguments, str):
            text = self.arguments.strip()
            if not text or text == "null":
                self.arguments = {}
                return
            try:
                parsed = msgspec.json.decode(text)
            except msgspec.DecodeError:
                return  # keep the raw string: the caller sees exactly what the model produced
            if isinstance(parsed, dict):
                self.arguments = parsed


class ToolCall(WireStruct, kw_only=True, omit_defaults=False):
    """A tool call as the LLM emitted it (inside message content)."""

    id: str = ""
    type: str = "function"
    function: ToolCallFunction = msgspec.field(default_factory=ToolCallFunction)


class ChatMessageContent(WireStruct, kw_only=True, omit_defaults=False):
    """One part of a message: text, reasoning, an image, a file, or tool calls."""

    type: str = "text"
    text: str | None = None
    image: str | None = None
    file: str | None = None
    error: str | None = None
    tool_calls: list[ToolCall] | None = None
    event: Any = None


class ToolInvocation(WireStruct, kw_only=True):
    """One execution of a tool call, with its status and result."""

    id: str
    chat_message_id: str | None = None
    tool_invocation_id: str | None = None
    type: str | None = None
    display_name: str | None = None
    execution_id: str | None = None
    function: ToolCallFunction = msgspec.field(default_factory=ToolCallFunction)
    status: str | None = None
    result: str | None = None
    data: Any = None
    widget: Any = None
    action: Any = None
    created_at: str | None = None
    updated_at: str | None = None
    short_id: str | None = None
    deleted_at: str | None = None
    user_id: str | None = None
    user: Any = None
    team_id: str | None = None
    team: Any = None
    visibility: str | None = None


class ChatMessage(WireStruct, kw_only=True, omit_defaults=False):
    """A message of a chat, as a whole snapshot (the stream re-sends it as it grows)."""

    id: str
    chat_id: str | None = None
    agent_run_id: str | None = None
    order: int = 0
    status: str | None = None
    task_id: str | None = None
    role: str | None = None
    content: list[ChatMessageContent] = msgspec.field(default_factory=list)
    tools: list[Any] | None = None
    tool_call_id: str | None = None
    tool_invocations: list[ToolInvocation] | None = None
    compaction_meta: Any = None
    created_at: str | None = None
    updated_at: str | None = None
    short_id: str | None = None
    deleted_at: str | None = None
    user_id: str | None = None
    user: Any = None
    team_id: str | None = None
    team: Any = None
    visibility: str | None = None
    chat: Any = None

    @property
    def text(self) -> str:
        """The message's text parts joined together."""
        return "".join(c.text for c in self.content if c.type == "text" and c.text)

    @property
    def reasoning(self) -> str:
        """The message's reasoning parts joined together."""
        return "".join(c.text for c in self.content if c.type == "reasoning" and c.text)

    @property
    def is_final(self) -> bool:
        """Whether the message is done (ready, failed or cancelled)."""
        return self.status in ("ready", "failed", "cancelled")


# ---- chats ---------------------------------------------------------------------------------------


class PlanStep(WireStruct, kw_only=True, omit_defaults=False):
    """A step of the agent's plan (internal plan tools)."""

    index: int = 0
    title: str = ""
    description: str | None = None
    notes: str | None = None
    status: str = "pending"


class ChatData(WireStruct, kw_only=True):
    """Agent state kept on the chat: plan, memory, tools the user always allows."""

    plan_steps: list[PlanStep] | None = None
    memory: dict[str, Any] | None = None
    always_allowed_tools: list[str] | None = None
    allow_all_tools: bool | None = None
    disable_hooks: bool | None = None


class AgentRun(WireStruct, kw_only=True):
    """One user -> agent turn."""

    id: str | None = None
    agent_id: str | None = None
    chat_id: str | None = None
    user_message_id: str | None = None
    state: str | None = None
    error: str | None = None
    output: Any = None
    interrupt_reason: str | None = None
    interrupt_tool_id: str | None = None
    tool_invocation_id: str | None = None


class Interrupt(WireStruct, kw_only=True):
    """Something a run waits on: an approval, a client tool, a widget, ...

    ``meta`` says what is waiting; for a tool invocation ``{tool_invocation_id, tool_name,
    arguments}`` (what a client shows before approving).
    """

    id: str | None = None
    run_id: str | None = None
    chat_id: str | None = None
    reason: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    status: str | None = None
    resolution: str | None = None
    expires_at: str | None = None
    meta: Any = None


class Chat(WireStruct, kw_only=True):
    """A chat (conversation) with an agent."""

    id: str
    status: str | None = None
    output: Any = None
    context: dict[str, Any] | None = None
    agent_id: str | None = None
    agent_version_id: str | None = None
    parent_id: str | None = None
    children: list[Any] | None = None
    name: str | None = None
    description: str | None = None
    chat_messages: list[ChatMessage] | None = None
    agent_data: ChatData | None = None
    active_run: AgentRun | None = None
    pending_interrupts: list[Interrupt] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    short_id: str | None = None
    deleted_at: str | None = None
    user_id: str | None = None
    user: Any = None
    team_id: str | None = None
    team: Any = None
    visibility: str | None = None
    parent: Any = None
    channel_context: Any = None
    agent: Any = None
    agent_version: Any = None
    harness_session_id: str | None = None
    work_dir: str | None = None
    forked_from_message_id: str | None = None


# ---- the model's side: context messages and tools in function form ----------------------------


class ToolCallType(WireEnum):
    """The kind of a tool or tool call; function calls are the only kind."""

    TOOL_TYPE_FUNCTION = "function"


class ToolParamType(WireEnum):
    """The JSON Schema type names a tool parameter may have."""

    OBJECT = "object"
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    NULL = "null"


class ToolParameterProperty(WireStruct, kw_only=True):
    """One property of a tool's parameters as a typed JSON Schema fragment (the schema keywords
    the platform reads; plain dicts in ``ToolParameters.properties`` work as well)."""

    type: ToolParamType | None = None
    anyOf: list[ToolParameterProperty] | None = None  # the JSON Schema keyword
    enum: list[Any] | None = None
    title: str = ""
    description: str = ""
    properties: dict[str, ToolParameterProperty] | None = None
    items: ToolParameterProperty | None = None
    required: list[str] | None = None


class ToolParameters(WireStruct, kw_only=True, omit_defaults=False):
    """A function tool's parameters: a JSON Schema object."""

    type: str = "object"
    title: str | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    required: list[str] | None = None


class ToolFunction(WireStruct, kw_only=True):
    """A tool as the model sees it: name, description and parameters."""

    name: str
    description: str | None = None
    parameters: ToolParameters | None = None
    required: list[str] | None = None


class Tool(WireStruct, kw_only=True, omit_defaults=False):
    """A tool offered to the model (OpenAI function form): ``{"type": "function", ...}``."""

    type: str = "function"
    function: ToolFunction


class LLMContextMessage(WireStruct, kw_only=True):
    """One earlier message of the conversation as the agent loop sends it to the model."""

    role: str
    text: str = ""
    reasoning: str | None = None
    reasoning_state: Any = None
    images: list[str] | None = None
    files: list[str] | None = None
    tools: list[Tool] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


ChatDTO = Chat
"""0.36's name of :class:`Chat`."""
ChatMessageDTO = ChatMessage
"""0.36's name of :class:`ChatMessage`."""
ToolInvocationDTO = ToolInvocation
"""0.36's name of :class:`ToolInvocation`."""
AgentToolDTO = AgentTool
"""0.36's name of a stored agent's tool (:class:`AgentTool`)."""


# ---- requests and responses ----------------------------------------------------------------------


class AgentRunResponse(WireStruct, kw_only=True):
    """The answer to ``POST /agents/run``: the stored user message and the new assistant one."""

    user_message: ChatMessage
    assistant_message: ChatMessage

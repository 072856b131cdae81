"""Wire types of agent chats: chats, messages, tool invocations, agent configs, run requests.

msgspec Structs shared by the agent client (``inferencesh-agents``) and the local platform's
agent loop. Unknown fields are ignored on decode; absent optional fields are omitted on encode.
Statuses are plain strings on the wire (the ``*Status`` enums below are ``str`` enums to compare
against). Every struct also reads like a dict: ``msg["content"]``, ``msg.get("status")``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from inferencesh.core.types import WireEnum, WireStruct

__all__ = [
    "AgentConfig",
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
    COMPLETED = "completed"


class ChatMessageStatus(WireEnum):
    """A message's status; ``pending``/``queued`` until it is final."""

    PENDING = "pending"
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ChatMessageRole(WireEnum):
    """Who wrote a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolInvocationStatus(WireEnum):
    """Where a tool call stands; ``awaiting_input`` waits for a client result, ``awaiting_approval``
    for a person's decision."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    AWAITING_INPUT = "awaiting_input"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ToolType(WireEnum):
    """How the platform runs a tool."""

    APP = "app"
    AGENT = "agent"
    HOOK = "hook"
    HTTP = "http"
    CALL = "call"
    MCP = "mcp"
    CLIENT = "client"
    INTERNAL = "internal"


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


class FileRef(WireStruct, kw_only=True):
    """A file attached to a message: an uploaded file's id and URI."""

    id: str | None = None
    uri: str
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


class ChatMessageContent(WireStruct, kw_only=True, omit_defaults=False):
    """One part of a message: text, reasoning, an image, a file, or tool calls."""

    type: str = "text"
    text: str | None = None
    image: str | None = None
    file: str | None = None
    error: str | None = None
    tool_calls: list[ToolCall] | None = None


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
    created_at: str | None = None
    updated_at: str | None = None


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
    created_at: str | None = None
    updated_at: str | None = None

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


# ---- agent configuration -------------------------------------------------------------------------


class CoreAppConfig(WireStruct, kw_only=True):
    """The LLM app an agent thinks with; ``input`` holds model settings (temperature, ...)."""

    ref: str | None = None
    id: str | None = None
    version_id: str | None = None
    setup: dict[str, Any] | None = None
    input: dict[str, Any] | None = None


class SkillConfig(WireStruct, kw_only=True):
    """A skill: reusable context given inline (``content``) or by ``url``."""

    name: str
    description: str = ""
    skill_id: str | None = None
    version_id: str | None = None
    url: str | None = None
    content: str | None = None
    preload: bool | None = None


class ImageGenerationConfig(WireStruct, kw_only=True, omit_defaults=False):
    """The image generation switch with the app to use."""

    enabled: bool = True
    app_ref: str | None = None


class InternalToolsConfig(WireStruct, kw_only=True):
    """Built-in tool groups switched on (``True``) or off (``False``); absent means default."""

    plan: bool | None = None
    memory: bool | None = None
    widget: bool | None = None
    finish: bool | None = None
    skills: bool | None = None
    host_context: bool | None = None
    web_search: bool | None = None
    code_execution: bool | None = None
    image_generation: bool | ImageGenerationConfig | None = None


class ClientToolConfig(WireStruct, kw_only=True):
    """A tool run by the client."""

    input_schema: dict[str, Any] | None = None


class AppToolConfig(WireStruct, kw_only=True):
    """A tool that runs an app."""

    ref: str | None = None
    id: str | None = None
    version_id: str | None = None
    function: str | None = None
    session_enabled: bool | None = None
    setup: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    input_schema: dict[str, Any] | None = None


class AgentToolConfig(WireStruct, kw_only=True):
    """A tool that delegates to a sub-agent."""

    ref: str | None = None
    input_schema: dict[str, Any] | None = None


class HookToolConfig(WireStruct, kw_only=True):
    """A webhook tool."""

    url: str
    secret: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolAuthConfig(WireStruct, kw_only=True, omit_defaults=False):
    """How an HTTP tool authenticates (values name secrets/providers, never keys)."""

    type: str = "none"
    provider: str | None = None
    credential_id: str | None = None
    integration_id: str | None = None
    secret: str | None = None
    header: str | None = None


class HTTPToolConfig(WireStruct, kw_only=True):
    """An HTTP tool."""

    url: str
    method: str | None = None
    auth: ToolAuthConfig | None = None
    headers: dict[str, str] | None = None
    input_schema: dict[str, Any] | None = None


class AgentTool(WireStruct, kw_only=True):
    """A tool as the tool builder emits it."""

    name: str
    display_name: str | None = None
    description: str = ""
    type: str
    require_approval: bool | None = None
    client: ClientToolConfig | None = None
    app: AppToolConfig | None = None
    agent: AgentToolConfig | None = None
    hook: HookToolConfig | None = None
    http: HTTPToolConfig | None = None
    call: HTTPToolConfig | None = None
    """A ``call`` tool (the newer name of an HTTP tool), configured like ``http``."""


class AgentConfig(WireStruct, kw_only=True):
    """An ad-hoc agent: the LLM app, the prompt, tools, skills and built-in tools."""

    name: str | None = None
    description: str | None = None
    system_prompt: str | None = None
    example_prompts: list[str] | None = None
    core_app: CoreAppConfig | None = None
    tools: list[AgentTool] | None = None
    skills: list[SkillConfig] | None = None
    internal_tools: InternalToolsConfig | None = None
    output_schema: Any = None
    context: list[dict[str, Any]] | None = None
    """Per-chat values the agent takes (``ContextField``: name, description, required ...)."""
    hooks: list[dict[str, Any]] | None = None
    """Lifecycle hooks (``LifecycleHookConfig``: event, type, handler, async, timeout ...)."""


# ---- requests and responses ----------------------------------------------------------------------


class AgentMessageInput(WireStruct, kw_only=True):
    """The user's message in ``POST /agents/run``."""

    text: str
    role: str = "user"
    attachments: list[FileRef] | None = None


class AgentRunRequest(WireStruct, kw_only=True):
    """``POST /agents/run``: a template ``agent`` ref or an ad-hoc ``agent_config``."""

    chat_id: str | None = None
    agent: str | None = None
    agent_config: AgentConfig | None = None
    agent_name: str | None = None
    input: AgentMessageInput
    context: dict[str, str] | None = None
    stream: bool | None = None


class AgentRunResponse(WireStruct, kw_only=True):
    """The answer to ``POST /agents/run``: the stored user message and the new assistant one."""

    user_message: ChatMessage
    assistant_message: ChatMessage


class ToolResultRequest(WireStruct, kw_only=True):
    """``POST /tools/{id}``: a client tool's result (JSON results travel as a string)."""

    result: str


class ToolRejectRequest(WireStruct, kw_only=True):
    """``POST /tools/{id}/reject``."""

    reason: str | None = None


class AlwaysAllowRequest(WireStruct, kw_only=True):
    """``POST /chats/{chat}/tools/{id}/always-allow``."""

    tool_name: str

"""The request bodies of agents, with the rules both ends check: an ad-hoc agent's config
(``AgentConfig``: its LLM app, tools, skills and built-in tools), a message to run
(``AgentRunRequest``) and the replies to tool calls (``ToolResultRequest``, ...).

They are exported from :mod:`inferencesh.core.requests` too, which loads this module on first
use of one of them (the core client never needs them); ``convert_request`` and
``decode_request`` check them the same way:

    >>> from inferencesh.core.requests import AgentConfig, RequestError, convert_request
    >>> tool = {"name": "a b", "type": "client"}
    >>> try:
    ...     convert_request({"tools": [tool]}, AgentConfig)
    ... except RequestError as exc:
    ...     print(exc.location(), "|", exc.reason)
    tools[0].name | must be 1-64 letters, digits, '_' or '-', got 'a b'
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from inferencesh.core._struct import WireEnum, WireStruct
from inferencesh.core.requests import (
    AGENT_REF_PATTERN,
    TOOL_NAME_PATTERN,
    FunctionName,
    HttpUrl,
    RequestError,
)

__all__ = [
    "AgentConfig",
    "AgentMessageInput",
    "AgentRef",
    "AgentRunRequest",
    "AgentTool",
    "AgentToolConfig",
    "AlwaysAllowRequest",
    "AppToolConfig",
    "ClientToolConfig",
    "CoreAppConfig",
    "FileRef",
    "HTTPToolConfig",
    "HookToolConfig",
    "ImageGenerationConfig",
    "InternalToolsConfig",
    "MCPToolConfig",
    "SkillConfig",
    "ToolAuthConfig",
    "ToolName",
    "ToolRejectRequest",
    "ToolResultRequest",
    "ToolType",
]

AgentRef = Annotated[
    str,
    msgspec.Meta(
        pattern=AGENT_REF_PATTERN,
        max_length=512,
        description="a ref such as 'namespace/name' or 'namespace/name@version'",
    ),
]
ToolName = Annotated[
    str,
    msgspec.Meta(pattern=TOOL_NAME_PATTERN, description="1-64 letters, digits, '_' or '-'"),
]


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
    HARNESS = "harness"


class FileRef(WireStruct, kw_only=True):
    """A file attached to a message: an uploaded file's id and URI."""

    id: str | None = None
    uri: Annotated[str, msgspec.Meta(min_length=1)]
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


class CoreAppConfig(WireStruct, kw_only=True):
    """The LLM app an agent thinks with; ``input`` holds model settings (temperature, ...)."""

    ref: AgentRef | None = None
    id: str | None = None
    version_id: str | None = None
    setup: dict[str, Any] | None = None
    input: dict[str, Any] | None = None


class SkillConfig(WireStruct, kw_only=True):
    """A skill: reusable context given inline (``content``) or by ``url``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    description: str = ""
    skill_id: str | None = None
    version_id: str | None = None
    url: HttpUrl | None = None
    content: str | None = None
    preload: bool | None = None


class ImageGenerationConfig(WireStruct, kw_only=True, omit_defaults=False):
    """The image generation switch with the app to use."""

    enabled: bool = True
    app_ref: AgentRef | None = None


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
    # 0.36's newer groups; the local platform has none of them and leaves them off.
    meta: bool | None = None
    artifact: bool | None = None
    agent: bool | None = None
    remote: bool | None = None
    knowledge: bool | None = None
    wait: bool | None = None


class ClientToolConfig(WireStruct, kw_only=True):
    """A tool run by the client."""

    input_schema: dict[str, Any] | None = None


class AppToolConfig(WireStruct, kw_only=True):
    """A tool that runs an app."""

    ref: AgentRef | None = None
    id: str | None = None
    version_id: str | None = None
    function: FunctionName | None = None
    session_enabled: bool | None = None
    setup: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    input_schema: dict[str, Any] | None = None


class AgentToolConfig(WireStruct, kw_only=True):
    """A tool that delegates to a sub-agent."""

    ref: AgentRef | None = None
    input_schema: dict[str, Any] | None = None


class HookToolConfig(WireStruct, kw_only=True):
    """A webhook tool."""

    url: HttpUrl
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

    url: HttpUrl
    method: str | None = None
    auth: ToolAuthConfig | None = None
    headers: dict[str, str] | None = None
    input_schema: dict[str, Any] | None = None


class MCPToolConfig(WireStruct, kw_only=True):
    """A tool of an MCP server: the ``server`` (a slug, a URL or a locally registered name; the
    JS SDK sends it as ``integration_id``) and the ``tool_name`` on it."""

    server: str | None = None
    integration_id: str | None = None
    tool_name: Annotated[str, msgspec.Meta(min_length=1)]
    input_schema: dict[str, Any] | None = None


class AgentTool(WireStruct, kw_only=True):
    """A tool as the tool builder emits it: its ``name``, ``type`` and the section of that type
    (``app`` for an app tool, ...). App and agent tools need their ``ref`` (an app tool may name
    the app by ``id`` instead); hook, http and call tools their ``url``."""

    name: ToolName
    display_name: str | None = None
    description: str = ""
    type: ToolType
    require_approval: bool | None = None
    client: ClientToolConfig | None = None
    app: AppToolConfig | None = None
    agent: AgentToolConfig | None = None
    hook: HookToolConfig | None = None
    http: HTTPToolConfig | None = None
    call: HTTPToolConfig | None = None
    """A ``call`` tool (the newer name of an HTTP tool), configured like ``http``."""
    approval_timeout: int | None = None
    """Seconds a call may wait for approval (0.36's field; the local platform waits on)."""
    internal: dict[str, Any] | None = None
    """An internal tool's own settings (0.36's field)."""
    mcp: MCPToolConfig | None = None

    def __post_init__(self) -> None:
        kind = self.type
        if kind == ToolType.MCP and (
            self.mcp is None or not (self.mcp.server or self.mcp.integration_id)
        ):
            raise RequestError(("mcp", "server"), "is required: the MCP server the tool calls")
        if kind == ToolType.APP and (self.app is None or not (self.app.ref or self.app.id)):
            raise RequestError(("app", "ref"), "is required: the app the tool runs")
        if kind == ToolType.AGENT and (self.agent is None or not self.agent.ref):
            raise RequestError(("agent", "ref"), "is required: the agent the tool asks")
        if kind in (ToolType.HOOK, ToolType.HTTP, ToolType.CALL) and getattr(self, kind) is None:
            raise RequestError((str(kind), "url"), "is required: where the tool sends its calls")


class AgentConfig(WireStruct, kw_only=True):
    """An ad-hoc agent: the LLM app, the prompt, tools, skills and built-in tools.

    Tool names are unique within an agent (the model calls tools by name).
    """

    name: str | None = None
    description: str | None = None
    system_prompt: str | None = None
    example_prompts: list[str] | None = None
    core_app: (
        Annotated[
            CoreAppConfig,
            msgspec.Meta(
                description="an object naming the LLM app in core_app.ref, such as "
                "{'ref': 'infsh/claude-sonnet-4@latest'}"
            ),
        ]
        | None
    ) = None
    tools: Annotated[list[AgentTool], msgspec.Meta(max_length=512)] | None = None
    skills: Annotated[list[SkillConfig], msgspec.Meta(max_length=512)] | None = None
    internal_tools: InternalToolsConfig | None = None
    output_schema: Any = None
    permissions: dict[str, Any] | None = None
    """What the agent may do without asking (``{"allow_all_tools": true}``)."""
    context: list[dict[str, Any]] | None = None
    """Per-chat values the agent takes (``ContextField``: name, description, required ...)."""
    hooks: list[dict[str, Any]] | None = None
    """Lifecycle hooks (``LifecycleHookConfig``: event, type, handler, async, timeout ...)."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, tool in enumerate(self.tools or ()):
            if tool.name in seen:
                raise RequestError(
                    ("tools", index, "name"),
                    f"repeats {tool.name!r}: two tools are named {tool.name!r} (duplicate tool "
                    "names leave the model unable to tell them apart)",
                )
            seen.add(tool.name)


class AgentMessageInput(WireStruct, kw_only=True):
    """The user's message in ``POST /agents/run``: its text and the files sent with it
    (``attachments`` as file refs or URIs; ``images`` and ``files`` as URIs). A message with no
    text needs a file."""

    text: str | None = None
    role: str = "user"
    attachments: list[FileRef | str] | None = None
    images: list[str] | None = None
    image: str | None = None
    files: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.text and not (self.attachments or self.images or self.image or self.files):
            raise RequestError(("text",), "is empty and no file is attached")


class AgentRunRequest(WireStruct, kw_only=True):
    """``POST /agents/run``: a template ``agent`` ref or an ad-hoc ``agent_config``."""

    chat_id: str | None = None
    agent: AgentRef | None = None
    agent_config: AgentConfig | None = None
    agent_name: str | None = None
    input: AgentMessageInput
    context: dict[str, str] | None = None
    stream: bool | None = None


class ToolResultRequest(WireStruct, kw_only=True):
    """``POST /tools/{id}``: a client tool's result (JSON results travel as a string), with
    files it made (at most 20, as 0.36 sends them)."""

    result: str
    attachments: Annotated[list[FileRef], msgspec.Meta(max_length=20)] | None = None


class ToolRejectRequest(WireStruct, kw_only=True):
    """``POST /tools/{id}/reject``."""

    reason: str | None = None


class AlwaysAllowRequest(WireStruct, kw_only=True):
    """``POST /chats/{chat}/tools/{id}/always-allow``; without ``tool_name``, the tool of the
    invocation is the one allowed."""

    tool_name: ToolName | None = None

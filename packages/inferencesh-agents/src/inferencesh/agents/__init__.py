"""inferencesh-agents: the agent chat client and the fluent tool builder.

Agents are created from a core client: ``inference(api_key=...).agent("ns/agent@latest")``.

Example:
    >>> from inferencesh import inference, string, tool
    >>> greet = tool("greet").describe("Greet someone").param("name", string("Who")).build()
    >>> greet["type"]
    'client'
    >>> agent = inference().agent("local/assistant")  # a template agent of the local platform
    >>> print(agent.send_message("Hi!").text)
    Hello! You said: Hi!
"""

from inferencesh.agents._config import AgentConfigError
from inferencesh.agents._version import __version__
from inferencesh.agents.agent import Agent, Agents, AsyncAgent, AsyncAgents
from inferencesh.agents.approvals import PendingApproval, pending_approvals
from inferencesh.agents.client_tool import ClientTool, ClientToolHandler
from inferencesh.agents.errors import AgentError, AgentTurnFailedError
from inferencesh.agents.hooks import (
    BuiltinHook,
    ContextInjection,
    ErrorEventData,
    HookDecision,
    HookEvent,
    HookHandlerType,
    InterruptResolution,
    LifecycleHookBuilder,
    LifecycleHookConfig,
    LifecycleHookPayload,
    LifecycleHookResponse,
    ToolCallEventData,
    ToolResultEventData,
    learning_hooks,
    lifecycle_hook,
)
from inferencesh.agents.mcp_tools import MCPToolBuilder, mcp_tool
from inferencesh.agents.params import (
    ToolDefinitionError,
    array,
    boolean,
    enum_of,
    integer,
    number,
    obj,
    optional,
    string,
)
from inferencesh.agents.responses import AgentDelta, AgentResponse, MessageUpdate, ToolCallInfo
from inferencesh.agents.tools import (
    AgentToolBuilder,
    AppToolBuilder,
    BuiltTool,
    ClientToolBuilder,
    HttpToolBuilder,
    InternalToolsBuilder,
    WebhookToolBuilder,
    agent_tool,
    app_tool,
    call_tool,
    http_tool,
    internal_tools,
    tool,
    webhook_tool,
)

# 0.36's chat enums and wire types, importable from here as from the top level (`inferencesh`).
from inferencesh.core.chat import (
    AgentConfig,
    AgentTool,
    AgentToolDTO,
    ChatData,
    ChatDTO,
    ChatMessageContent,
    ChatMessageContentType,
    ChatMessageDTO,
    ChatMessageRole,
    ChatStatus,
    InternalToolsConfig,
    LLMContextMessage,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
    ToolInvocationDTO,
    ToolInvocationStatus,
    ToolParameters,
    ToolResultRequest,
    ToolType,
)

__all__ = [
    # -- MCP tools and lifecycle hooks --
    "BuiltinHook",
    "InterruptResolution",
    "MCPToolBuilder",
    "mcp_tool",
    "ContextInjection",
    "ErrorEventData",
    "HookDecision",
    "HookEvent",
    "HookHandlerType",
    "LifecycleHookBuilder",
    "LifecycleHookConfig",
    "LifecycleHookPayload",
    "LifecycleHookResponse",
    "ToolCallEventData",
    "ToolResultEventData",
    "learning_hooks",
    "lifecycle_hook",
    "Agent",
    "AgentConfig",
    "AgentConfigError",
    "AgentDelta",
    "AgentError",
    "AgentResponse",
    "AgentTool",
    "AgentToolBuilder",
    "AgentToolDTO",
    "AgentTurnFailedError",
    "Agents",
    "AppToolBuilder",
    "AsyncAgent",
    "AsyncAgents",
    "BuiltTool",
    "ChatDTO",
    "ChatData",
    "ChatMessageContent",
    "ChatMessageContentType",
    "ChatMessageDTO",
    "ChatMessageRole",
    "ChatStatus",
    "ClientTool",
    "ClientToolBuilder",
    "ClientToolHandler",
    "HttpToolBuilder",
    "InternalToolsBuilder",
    "InternalToolsConfig",
    "LLMContextMessage",
    "MessageUpdate",
    "PendingApproval",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolCallInfo",
    "ToolDefinitionError",
    "ToolFunction",
    "ToolInvocationDTO",
    "ToolInvocationStatus",
    "ToolParameters",
    "ToolResultRequest",
    "ToolType",
    "WebhookToolBuilder",
    "__version__",
    "agent_tool",
    "app_tool",
    "array",
    "boolean",
    "enum_of",
    "call_tool",
    "http_tool",
    "integer",
    "internal_tools",
    "number",
    "obj",
    "optional",
    "pending_approvals",
    "string",
    "tool",
    "webhook_tool",
]

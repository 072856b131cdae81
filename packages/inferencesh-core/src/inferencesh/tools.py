"""The 0.36 path ``inferencesh.tools``; the tool builder lives in ``inferencesh.agents``."""

from inferencesh.agents import AgentToolBuilder as AgentToolBuilder
from inferencesh.agents import AppToolBuilder as AppToolBuilder
from inferencesh.agents import ClientTool as ClientTool
from inferencesh.agents import ClientToolBuilder as ClientToolBuilder
from inferencesh.agents import HttpToolBuilder as HTTPToolBuilder
from inferencesh.agents import InternalToolsBuilder as InternalToolsBuilder
from inferencesh.agents import LifecycleHookBuilder as LifecycleHookBuilder
from inferencesh.agents import MCPToolBuilder as MCPToolBuilder
from inferencesh.agents import WebhookToolBuilder as WebhookToolBuilder
from inferencesh.agents import agent_tool as agent_tool
from inferencesh.agents import app_tool as app_tool
from inferencesh.agents import array as array
from inferencesh.agents import boolean as boolean
from inferencesh.agents import call_tool as call_tool
from inferencesh.agents import enum_of as enum_of
from inferencesh.agents import http_tool as http_tool
from inferencesh.agents import integer as integer
from inferencesh.agents import internal_tools as internal_tools
from inferencesh.agents import learning_hooks as learning_hooks
from inferencesh.agents import lifecycle_hook as lifecycle_hook
from inferencesh.agents import mcp_tool as mcp_tool
from inferencesh.agents import number as number
from inferencesh.agents import obj as obj
from inferencesh.agents import optional as optional
from inferencesh.agents import string as string
from inferencesh.agents import tool as tool
from inferencesh.agents import webhook_tool as webhook_tool

__all__ = [
    "AgentToolBuilder",
    "AppToolBuilder",
    "ClientTool",
    "ClientToolBuilder",
    "HTTPToolBuilder",
    "InternalToolsBuilder",
    "LifecycleHookBuilder",
    "MCPToolBuilder",
    "WebhookToolBuilder",
    "agent_tool",
    "app_tool",
    "array",
    "boolean",
    "call_tool",
    "enum_of",
    "http_tool",
    "integer",
    "internal_tools",
    "learning_hooks",
    "lifecycle_hook",
    "mcp_tool",
    "number",
    "obj",
    "optional",
    "string",
    "tool",
    "webhook_tool",
]

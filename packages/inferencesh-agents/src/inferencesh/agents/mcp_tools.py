"""MCP tools: a tool of an MCP (Model Context Protocol) server, offered to the agent by name.

``server`` names the MCP server: on the cloud, a connected server's slug; on the local platform,
a URL of a streamable HTTP server or a name registered with ``inferencesh dev --mcp NAME=...``
(or in an ``mcp.yaml`` of an agents directory). ``tool_name`` is the tool on that server. The
model is shown the server's own input schema for the tool unless params are declared here.

Example:
    >>> from inferencesh import mcp_tool
    >>> search = mcp_tool("search_docs", server="docs", tool_name="search").describe("Search")
    >>> built = search.build()
    >>> built["type"], built["mcp"]
    ('mcp', {'server': 'docs', 'tool_name': 'search'})
"""

from __future__ import annotations

from typing import Any

from inferencesh.agents.params import ToolDefinitionError
from inferencesh.agents.tools import BuiltTool, _ToolBuilder

__all__ = ["MCPToolBuilder", "mcp_tool"]


class MCPToolBuilder(_ToolBuilder):
    """A tool that calls ``tool_name`` on the MCP server ``server`` (see the module)."""

    _type = "mcp"

    def __init__(self, name: str, *, server: str | None = None, tool_name: str | None = None):
        super().__init__(name)
        if not isinstance(server, str) or not server.strip():
            raise ToolDefinitionError(
                f"mcp_tool {name!r} needs server= (the MCP server: a registered name such as "
                f"'docs', or a URL such as 'http://127.0.0.1:8000/mcp'), got {server!r}"
            )
        if "://" in server and not server.startswith(("http://", "https://")):
            raise ToolDefinitionError(
                f"mcp_tool {name!r}: a server URL must start with http:// or https://, "
                f"got {server!r}"
            )
        if not isinstance(tool_name, str) or not tool_name:
            raise ToolDefinitionError(
                f"mcp_tool {name!r} needs tool_name= (the tool to call on the MCP server), "
                f"got {tool_name!r}"
            )
        self._server = server
        self._tool_name = tool_name

    def _body(self) -> dict[str, Any]:
        mcp: dict[str, Any] = {"server": self._server, "tool_name": self._tool_name}
        if self._params:
            # Declared params replace the server's own schema for this tool.
            mcp["input_schema"] = self._input_schema()
        return {"mcp": mcp}

    def build(self) -> BuiltTool:
        """The tool JSON for an agent's ``tools`` list (``require_approval`` always a bool)."""
        built = super().build()
        built["require_approval"] = self._require_approval
        return built


def mcp_tool(
    name: str, *, server: str | None = None, tool_name: str | None = None
) -> MCPToolBuilder:
    """A tool named ``name`` that calls ``tool_name`` on the MCP server ``server``."""
    return MCPToolBuilder(name, server=server, tool_name=tool_name)

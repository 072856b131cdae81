"""MCP tools on the local platform: the agent loop as a client of MCP servers.

An ``mcp`` tool (``{"type": "mcp", "mcp": {"server", "tool_name"}}``, or the JS SDK's
``{"integration_id", "tool_name"}``) calls ``tool_name`` on an MCP server through the official
``mcp`` package, over streamable HTTP or stdio. The server is either a URL (``http://...``) or a
name registered with the platform:

* ``inferencesh dev --mcp docs=http://127.0.0.1:9000/mcp`` (streamable HTTP), or
  ``--mcp files="python files_server.py"`` (a command started as a stdio server);
* an ``mcp.yaml`` in an agents directory::

      servers:
        docs: http://127.0.0.1:9000/mcp
        files:
          command: python
          args: [files_server.py]   # relative to the yaml's folder (the server's cwd)
          env: {ROOT: /tmp}

The tool's input schema offered to the model is the server's own (``tools/list``) unless the
agent declared params. Each call opens a session, calls the tool and closes it, within
``INFERENCESH_MCP_TIMEOUT`` seconds (default 60); text blocks become the result (cut at
``INFERENCESH_MCP_MAX_RESULT`` characters, default 100 000), structured content its data. A
server that is down, unknown or answers an error ends the call ``failed`` with the server's
name in the result the model reads; the turn goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shlex
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .internal_tools import ToolFailure

if TYPE_CHECKING:
    from mcp import ClientSession

    from .tool_calls import ToolSpec

__all__ = [
    "MCPRegistry",
    "MCPServer",
    "MCPSetupError",
    "call_mcp_tool",
    "list_mcp_tools",
    "parse_server_option",
    "with_mcp_schemas",
]

_log = logging.getLogger("inferencesh.platform.agents")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RESULT = 100_000
_OPEN_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


class MCPSetupError(ValueError):
    """A bad ``--mcp`` option or ``mcp.yaml``; the message says which and why."""


@dataclass(frozen=True)
class MCPServer:
    """One MCP server: a streamable HTTP ``url``, or a stdio ``command`` (with its ``cwd`` and
    extra ``env``)."""

    name: str
    url: str | None = None
    command: tuple[str, ...] = ()
    cwd: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """How the server is reached, for messages."""
        return self.url or shlex.join(self.command)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def parse_server_option(option: str, cwd: Path | None = None) -> MCPServer:
    """``NAME=URL`` or ``NAME=command args...`` (the value of ``inferencesh dev --mcp``)."""
    name, sep, value = option.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise MCPSetupError(
            f"--mcp {option!r}: expected NAME=URL (streamable HTTP) or NAME=COMMAND (stdio)"
        )
    if _is_url(value):
        return MCPServer(name, url=value)
    try:
        command = tuple(shlex.split(value))
    except ValueError as exc:
        raise MCPSetupError(f"--mcp {option!r}: the command does not parse: {exc}") from None
    return MCPServer(name, command=command, cwd=str(cwd) if cwd else None)


def _server_from_yaml(name: str, entry: Any, folder: Path, where: str) -> MCPServer:
    if isinstance(entry, str):
        server = parse_server_option(f"{name}={entry}", folder)
        return server
    if not isinstance(entry, dict):
        raise MCPSetupError(f"{where}: server {name!r} must be a URL, a command or a mapping")
    if "url" in entry:
        url = entry["url"]
        if not isinstance(url, str) or not _is_url(url):
            raise MCPSetupError(f"{where}: server {name!r} url must be http(s)://..., got {url!r}")
        return MCPServer(name, url=url)
    command = entry.get("command")
    args = entry.get("args") or []
    env = entry.get("env") or {}
    if not isinstance(command, str) or not command:
        raise MCPSetupError(f"{where}: server {name!r} needs `url` or `command`")
    if not isinstance(args, list) or not isinstance(env, dict):
        raise MCPSetupError(f"{where}: server {name!r}: `args` is a list, `env` a mapping")
    cwd = folder / str(entry.get("cwd") or ".")
    return MCPServer(
        name,
        command=(command, *(str(a) for a in args)),
        cwd=str(cwd.resolve()),
        env=tuple((str(k), str(v)) for k, v in env.items()),
    )


class MCPRegistry:
    """The MCP servers known by name: ``--mcp`` options and the agents dirs' ``mcp.yaml``."""

    def __init__(
        self, options: list[str] | tuple[str, ...] = (), dirs: list[Path] | tuple[Path, ...] = ()
    ) -> None:
        self.servers: dict[str, MCPServer] = {}
        for folder in dirs:
            path = Path(folder) / "mcp.yaml"
            if path.is_file():
                self._load_yaml(path)
        for option in options:  # the command line wins over files
            server = parse_server_option(option)
            self.servers[server.name] = server

    def _load_yaml(self, path: Path) -> None:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MCPSetupError(f"{path}: cannot be read as YAML: {exc}") from None
        servers = document.get("servers") if isinstance(document, dict) else None
        if not isinstance(servers, dict):
            raise MCPSetupError(f"{path}: expected a `servers:` mapping of name -> server")
        for name, entry in servers.items():
            self.servers[str(name)] = _server_from_yaml(str(name), entry, path.parent, str(path))

    def resolve(self, server: str) -> MCPServer:
        """The server a tool names: a URL as it is, else a registered name."""
        if _is_url(server):
            return MCPServer(server, url=server)
        found = self.servers.get(server)
        if found is None:
            known = ", ".join(sorted(self.servers)) or "none"
            raise ToolFailure(
                f"MCP server {server!r} is not registered on the local platform (registered: "
                f"{known}); start it with `inferencesh dev --mcp {server}=URL` or add it to an "
                "mcp.yaml in an agents dir"
            )
        return found


def _limits() -> tuple[float, int]:
    timeout = float(os.environ.get("INFERENCESH_MCP_TIMEOUT") or DEFAULT_TIMEOUT)
    max_result = int(os.environ.get("INFERENCESH_MCP_MAX_RESULT") or DEFAULT_MAX_RESULT)
    return timeout, max_result


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (the mcp transports raise them)."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and inner:
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


@asynccontextmanager
async def _session(server: MCPServer) -> AsyncIterator[ClientSession]:
    try:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client import streamable_http
        from mcp.client.stdio import stdio_client
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ToolFailure(
            f"MCP tools need the `mcp` package ({exc}); install it with: pip install mcp"
        ) from exc
    if server.url is not None:
        # `streamable_http_client` since mcp 1.2x; the older name before.
        connect = (
            getattr(streamable_http, "streamable_http_client", None)
            or streamable_http.streamablehttp_client
        )
        async with connect(server.url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            yield session
        return
    params = StdioServerParameters(
        command=server.command[0],
        args=list(server.command[1:]),
        env={**os.environ, **dict(server.env)},
        cwd=server.cwd,
    )
    async with (
        stdio_client(params, errlog=sys.stderr) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def list_mcp_tools(server: MCPServer, timeout: float | None = None) -> dict[str, Any]:
    """The tools the server lists, by name (each an ``mcp.types.Tool``)."""
    limit = timeout if timeout is not None else _limits()[0]

    async def fetch() -> dict[str, Any]:
        async with _session(server) as session:
            tools: dict[str, Any] = {}
            cursor: str | None = None
            while True:
                page = await session.list_tools(cursor) if cursor else await session.list_tools()
                tools.update({tool.name: tool for tool in page.tools})
                cursor = page.nextCursor
                if not cursor:
                    return tools

    tools: dict[str, Any] = await _bounded(server, "tools/list", fetch(), limit)
    return tools


async def _bounded(server: MCPServer, what: str, work: Any, limit: float) -> Any:
    try:
        return await asyncio.wait_for(work, limit)
    except ToolFailure:
        raise
    except asyncio.TimeoutError:
        raise ToolFailure(
            f"MCP server {server.name!r} ({server.describe()}) did not answer {what} "
            f"within {limit:g} s"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any transport failure is the server's, told to the model
        leaf = _leaf(exc)
        raise ToolFailure(
            f"MCP server {server.name!r} ({server.describe()}) failed on {what}: "
            f"{type(leaf).__name__}: {leaf}"
        ) from None


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mimeType}, {len(block.data)} base64 characters]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        return str(text) if text is not None else f"[resource {resource.uri}]"
    if kind == "resource_link":
        return f"[resource link {block.uri}]"
    return f"[{kind or 'unknown'} content]"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[truncated: {limit} of {len(text)} characters]"


async def call_mcp_tool(
    registry: MCPRegistry, spec: ToolSpec, args: dict[str, Any]
) -> tuple[str, Any]:
    """Call the tool ``spec`` names on its server; returns the result text and data.

    Raises :class:`ToolFailure` (naming the server) for every way the call can go wrong."""
    section = spec.config
    server = registry.resolve(str(section.get("server") or section.get("integration_id")))
    tool_name = str(section["tool_name"])
    timeout, max_result = _limits()

    async def call() -> Any:
        async with _session(server) as session:
            return await session.call_tool(tool_name, args)

    result = await _bounded(server, f"tools/call {tool_name!r}", call(), timeout)
    text = "\n".join(_block_text(block) for block in result.content)
    structured = result.structuredContent
    if not text and structured is not None:
        text = json.dumps(structured)
    text = _cut(text, max_result)
    if result.isError:
        raise ToolFailure(
            f"MCP server {server.name!r} tool {tool_name!r} returned an error: {text or '(empty)'}"
        )
    if structured is not None and len(json.dumps(structured)) > max_result:
        structured = None  # too large to keep; the (cut) text stands for it
    return text, structured


async def with_mcp_schemas(
    specs: dict[str, ToolSpec], registry: MCPRegistry
) -> dict[str, ToolSpec]:
    """``specs`` with each MCP tool declared without params offered the server's schema for
    it (and its description when the agent gave none). A server that cannot be listed leaves
    the open schema and logs why; the call itself then fails with the reason."""
    wanted = [s for s in specs.values() if s.type == "mcp" and s.config.get("input_schema") is None]
    if not wanted:
        return specs
    by_server: dict[str, list[ToolSpec]] = {}
    for spec in wanted:
        name = str(spec.config.get("server") or spec.config.get("integration_id"))
        by_server.setdefault(name, []).append(spec)

    async def listed(name: str) -> dict[str, Any]:
        try:
            return await list_mcp_tools(registry.resolve(name))
        except ToolFailure as exc:
            _log.warning("MCP tools of %r are offered an open schema: %s", name, exc)
            return {}

    names = list(by_server)
    found = await asyncio.gather(*(listed(name) for name in names))
    result = dict(specs)
    for name, tools in zip(names, found, strict=True):
        for spec in by_server[name]:
            tool = tools.get(str(spec.config["tool_name"]))
            if tool is None:
                if tools:
                    _log.warning(
                        "MCP server %r lists no tool %r (it has: %s)",
                        name,
                        spec.config["tool_name"],
                        ", ".join(sorted(tools)),
                    )
                continue
            schema = tool.inputSchema if isinstance(tool.inputSchema, dict) else _OPEN_OBJECT
            result[spec.name] = dataclasses.replace(
                spec,
                parameters=schema,
                description=spec.description or (tool.description or ""),
            )
    return result

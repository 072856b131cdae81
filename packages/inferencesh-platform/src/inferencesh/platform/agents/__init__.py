"""Agents and chats on the local platform: the agent loop behind ``/agents/run`` and ``/chats``.

The platform calls :func:`create_routes` with its context and mounts the returned routes behind
its API-key auth, calling ``startup()``/``shutdown()`` in its lifespan. Template agents come from
files in the context's ``agents_dirs`` (see :mod:`.templates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from starlette.routing import Route

from .loop import AgentRuntime
from .routes import build_routes

__all__ = ["AgentRoutes", "AgentRuntime", "create_routes"]


class _Context(Protocol):
    db_path: Path
    base_url: str
    api_key: str
    agents_dirs: list[Path]


@dataclass
class AgentRoutes:
    """What the platform mounts: the routes and the runtime's lifespan hooks."""

    runtime: AgentRuntime
    routes: list[Route] = field(default_factory=list)

    async def startup(self) -> None:
        """Open the chat store and resume chats that wait on a person."""
        await self.runtime.startup()

    async def shutdown(self) -> None:
        """Stop running turns (their records stay for the next start) and close."""
        await self.runtime.shutdown()


def create_routes(ctx: Any) -> AgentRoutes:
    """The agent routes over the platform context ``ctx`` (contract C5)."""
    context: _Context = ctx
    runtime = AgentRuntime(
        db_path=Path(context.db_path),
        base_url=str(context.base_url),
        api_key=str(context.api_key),
        agents_dirs=[Path(p) for p in getattr(context, "agents_dirs", None) or []],
        app_schema=getattr(ctx, "app_schema", None),
        mcp_servers=tuple(getattr(getattr(ctx, "config", None), "mcp_servers", ()) or ()),
    )
    max_body = int(getattr(getattr(ctx, "config", None), "max_request_bytes", 0) or 8 * 1024 * 1024)
    return AgentRoutes(runtime=runtime, routes=build_routes(runtime, max_body))

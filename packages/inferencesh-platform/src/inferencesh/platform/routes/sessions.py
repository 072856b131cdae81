"""Session routes: list and read sessions, keep one alive, end one (its worker stops)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferencesh.platform import wire
from inferencesh.platform.responses import ok
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["SessionRoutes"]


class SessionRoutes:
    """The session handlers over one platform; each handler's docstring is its OpenAPI summary."""

    def __init__(self, platform: Platform) -> None:
        self.sessions = platform.sessions

    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are matched."""
        return [
            Route("/sessions", self.list_sessions, methods=["GET"]),
            Route("/sessions/{session_id}", self.get_session, methods=["GET"]),
            Route("/sessions/{session_id}", self.end_session, methods=["DELETE"]),
            Route("/sessions/{session_id}/keepalive", self.keepalive, methods=["POST"]),
        ]

    async def list_sessions(self, request: Request) -> Response:
        """All sessions (AppSessionDTO), newest first."""
        return ok(request, [wire.session(s) for s in self.sessions.list()])

    async def get_session(self, request: Request) -> Response:
        """One session."""
        return ok(request, wire.session(self.sessions.get(request.path_params["session_id"])))

    async def keepalive(self, request: Request) -> Response:
        """Push an active session's idle deadline forward."""
        return ok(request, wire.session(self.sessions.keepalive(request.path_params["session_id"])))

    async def end_session(self, request: Request) -> Response:
        """End a session and stop its worker (204)."""
        await self.sessions.end(request.path_params["session_id"])
        return ok(request, None, 204)

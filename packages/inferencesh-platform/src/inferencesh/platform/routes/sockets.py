"""Socket routes: the records and credentials of stream tasks' sockets, and the relay's two
WebSocket ends (``/sockets/{id}/connect`` for the caller, ``/sockets/{id}/worker`` for the app;
each checks its own token, not the API key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferencesh.platform.errors import PlatformError
from inferencesh.platform.responses import ok, read_json
from inferencesh.platform.routes.paging import page_body, read_page
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["SocketRoutes"]

_FILTERABLE = ("task_id", "status", "outcome")


class SocketRoutes:
    """The socket handlers over one platform; each handler's docstring is its OpenAPI summary."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.hub = platform.sockets

    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are matched."""
        return [
            Route("/sockets/list", self.list_sockets, methods=["POST"]),
            Route("/sockets/{socket_id}", self.get_socket, methods=["GET"]),
            Route("/sockets/{socket_id}", self.delete_socket, methods=["DELETE"]),
            Route("/sockets/{socket_id}/access", self.renew_access, methods=["POST"]),
            WebSocketRoute("/sockets/{socket_id}/connect", self.client_end),
            WebSocketRoute("/sockets/{socket_id}/worker", self.worker_end),
        ]

    async def get_socket(self, request: Request) -> Response:
        """A stream task's socket (SocketDTO): status, pairing and frames each way."""
        return ok(request, self.hub.get(request.path_params["socket_id"]).info())

    async def list_sockets(self, request: Request) -> Response:
        """Sockets, newest first (`filters` on task_id, status or outcome with `eq`)."""
        body = await read_json(request, self.platform.config.max_request_bytes) or {}
        if not isinstance(body, dict):
            raise PlatformError.bad_request("the body must be a JSON object")
        limit, offset = read_page(body, request)
        matches = _filters(body.get("filters"))
        items = [
            s.info()
            for s in self.hub.all()
            if all(getattr(s, key) == value for key, value in matches)
        ]
        return ok(request, page_body(items[offset : offset + limit + 1], limit, offset, len(items)))

    async def renew_access(self, request: Request) -> Response:
        """A fresh caller credential (SocketAccess) for a socket, to dial or redial it."""
        sock = self.hub.get(request.path_params["socket_id"])
        return ok(request, self.hub.access(sock))

    async def delete_socket(self, request: Request) -> Response:
        """Close both ends of a socket and forget it."""
        await self.hub.delete(request.path_params["socket_id"])
        return ok(request, None, 204)

    async def client_end(self, websocket: WebSocket) -> None:
        """The caller's end (`?access_token=` from the run response or `/access`)."""
        await self.hub.serve(websocket, websocket.path_params["socket_id"], "client")

    async def worker_end(self, websocket: WebSocket) -> None:
        """The app's end (the token the worker got with its run)."""
        await self.hub.serve(websocket, websocket.path_params["socket_id"], "worker")


def _filters(raw: Any) -> list[tuple[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PlatformError.bad_request("`filters` must be a list")
    found: list[tuple[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise PlatformError.bad_request("each filter is an object {field, operator, value}")
        field, operator = item.get("field"), item.get("operator", "eq")
        if field not in _FILTERABLE:
            raise PlatformError.bad_request(
                f"sockets filter on {', '.join(_FILTERABLE)}; got {field!r}"
            )
        if operator != "eq":
            raise PlatformError.bad_request(f"sockets filter with `eq` only; got {operator!r}")
        found.append((str(field), item.get("value")))
    return found

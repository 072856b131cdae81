"""App routes: the apps this server runs, whether their requirements are met, and health
(each app's worker pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferencesh.platform.requirements import check_requirements
from inferencesh.platform.responses import ok, read_json
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["AppRoutes"]


class AppRoutes:
    """The app handlers over one platform; each handler's docstring is its OpenAPI summary.

    Running an app creates a task, so ``POST /apps/run`` is a task route.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are matched."""
        return [
            Route("/apps", self.list_apps, methods=["GET"]),
            Route("/integrations/check", self.check_integrations, methods=["POST"]),
            Route("/health", self.health, methods=["GET"]),
        ]

    async def list_apps(self, request: Request) -> Response:
        """The apps this server runs."""
        body = [
            {
                "id": a.ref,
                "namespace": "local",
                "name": a.name,
                "path": str(a.directory),
                "secrets": list(a.secrets),
            }
            for a in self.platform.apps.values()
        ]
        return ok(request, body)

    async def check_integrations(self, request: Request) -> Response:
        """Which requirements ({secrets?, credentials?}) are missing: {satisfied, errors}."""
        body = await read_json(request, self.platform.config.max_request_bytes)
        return ok(request, check_requirements(body))

    async def health(self, request: Request) -> Response:
        """Liveness and queue sizes."""
        pools = {
            name: {"workers": pool.size, "queued": pool.queued}
            for name, pool in self.platform.tasks.pools.items()
        }
        return ok(request, {"status": "ok", "apps": pools})

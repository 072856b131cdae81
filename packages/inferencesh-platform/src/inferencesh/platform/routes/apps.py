"""App routes: the apps this server runs (the list, and one app with its schemas), whether
their requirements are met, and health (each app's worker pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from inferencesh.platform.config import AppEntry
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.requirements import check_requirements
from inferencesh.platform.responses import ok, read_json
from inferencesh.platform.workers import WorkerError
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
            Route("/apps/{app_id}", self.get_app, methods=["GET"]),
            Route("/apps/{namespace}/{name}", self.get_app, methods=["GET"]),
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

    async def get_app(self, request: Request) -> Response:
        """One app with its current version's schemas (``GET /apps/{id}`` or
        ``/apps/{ns}/{name}``, any ref ``POST /apps/run`` accepts, aliases included)."""
        params = request.path_params
        ref = params["app_id"] if "app_id" in params else f"{params['namespace']}/{params['name']}"
        app = self.platform.resolve_app(ref).app
        try:
            document = await self.platform.tasks.pools[app.name].schema()
        except (WorkerError, httpx.HTTPError, ValueError) as exc:
            raise PlatformError(
                500, "app_schema_failed", f"app {app.ref}: its schemas cannot be read: {exc}"
            ) from None
        return ok(request, _app_dto(app, document))

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


def _app_dto(app: AppEntry, document: dict[str, Any]) -> dict[str, Any]:
    """The app DTO: ``id``, ``namespace``, ``name`` and ``version`` holding the worker's schema
    document (``GET /schema``), each function entry carrying its own ``name``."""
    functions = document.get("functions")
    entries = {
        name: {"name": name, **entry}
        for name, entry in (functions.items() if isinstance(functions, dict) else ())
        if isinstance(entry, dict)
    }
    return {
        "id": app.ref,
        "namespace": "local",
        "name": app.name,
        "version": {
            "input_schema": document.get("input_schema"),
            "output_schema": document.get("output_schema"),
            "setup_schema": document.get("setup_schema"),
            "functions": entries,
            "default_function": document.get("default_function"),
        },
    }

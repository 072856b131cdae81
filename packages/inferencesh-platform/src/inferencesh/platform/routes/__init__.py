"""The platform's HTTP routes by resource: tasks (with ``/apps/run``), files (with the signed
storage URLs), sessions, apps and the sockets of stream functions (with the live relay). The agent and chat routes are in
:mod:`inferencesh.platform.agents.routes`; ``/openapi.json`` is added by the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferencesh.platform.routes.apps import AppRoutes
from inferencesh.platform.routes.files import FileRoutes
from inferencesh.platform.routes.sessions import SessionRoutes
from inferencesh.platform.routes.sockets import SocketRoutes
from inferencesh.platform.routes.tasks import TaskRoutes
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["platform_routes"]


def platform_routes(platform: Platform) -> list[BaseRoute]:
    """Every route of the task, file, session and app resources over ``platform``."""
    resources = (TaskRoutes, FileRoutes, SessionRoutes, AppRoutes, SocketRoutes)
    return [route for resource in resources for route in resource(platform).routes()]

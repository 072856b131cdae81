"""The local platform's ASGI app: its state (:class:`Platform`), the routes of
:mod:`inferencesh.platform.routes` and the agent plug-in, behind one front layer (the API key,
the ``/v1/`` prefix, the error guard: :mod:`inferencesh.platform.front`)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from inferencesh.platform.auth import Signer, load_or_create_key
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.datadir import make_private, private_file
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.files import FileStore
from inferencesh.platform.front import Endpoint, Front, Handler
from inferencesh.platform.refs import (
    AliasError,
    Aliases,
    AppResolver,
    RefError,
    Resolved,
    UnknownAppError,
)
from inferencesh.platform.reserve import SpaceReserve
from inferencesh.platform.responses import encode, problem, problem_from
from inferencesh.platform.routes import platform_routes
from inferencesh.platform.sessions import SessionManager
from inferencesh.platform.sockets import SocketHub, SocketLimits
from inferencesh.platform.store import Store
from inferencesh.platform.tasks import TaskManager
from inferencesh.platform.workers import remove_leftovers
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

__all__ = ["Platform", "PlatformContext", "create_app"]

log = logging.getLogger("inferencesh.platform")


@dataclasses.dataclass
class PlatformContext:
    """What route plug-ins (the agent loop) get from the platform (contract C5)."""

    data_dir: Path
    db_path: Path
    base_url: str
    api_key: str
    agents_dirs: list[Path]
    apps: dict[str, AppEntry]
    config: PlatformConfig
    refs: AppResolver
    """The platform's one ref resolver (aliases included)."""
    app_schema: Callable[[str, str | None], Awaitable[dict[str, Any]]] | None = None
    """``await app_schema(ref, function)``: the input schema of the app function a ref selects
    (``function`` overrides the ref's own), read from the app's worker and cached; raises with
    the reason when it cannot be had."""


class Platform:
    """The platform's state: records, files, sessions and tasks for one configuration."""

    def __init__(self, config: PlatformConfig, *, agents_dirs: list[Path] | None = None) -> None:
        make_private(config.data_dir)
        self.config = config
        self.api_key = load_or_create_key(config.data_dir, config.api_key)
        self.base_url = f"http://{_url_host(config.host)}:{config.port}"
        self.store = Store(config.db_path)
        for path in (
            config.db_path,
            *(config.db_path.with_name(config.db_path.name + x) for x in ("-wal", "-shm")),
        ):
            private_file(path)
        self.files = FileStore(
            config.data_dir / "files",
            self.store,
            Signer(self.api_key),
            max_upload_bytes=config.max_upload_bytes,
            url_ttl=config.upload_url_ttl,
        )
        self.files.base_url = self.base_url
        self.sessions = SessionManager(config, self.store)
        self.tasks = TaskManager(config, self.store, self.files, self.sessions)
        self.sockets = SocketHub(self.base_url, _socket_limits(config), self.tasks.wait)
        self.tasks.space = SpaceReserve(config.data_dir / "reserve")
        self.tasks.space.ensure()
        self.apps = {app.name: app for app in config.apps}
        self.refs = AppResolver(
            config.apps, Aliases(files=config.alias_files, dirs=list(agents_dirs or []))
        )
        # Without alias files or folders (whose files may change), a ref always names the
        # same app: each is resolved once.
        self._fixed_refs = not config.alias_files and not agents_dirs
        self._resolved: dict[str, Resolved] = {}

    async def app_input_schema(self, ref: str, function: str | None = None) -> dict[str, Any]:
        """The input schema of the function ``ref`` selects (``function`` wins over the ref's
        own; else the app's default), as the app's worker serves it at ``GET /schema``.

        Raises :class:`PlatformError` when the ref names no app or function, and the worker's
        error when the app cannot be loaded.
        """
        resolved = self.resolve_app(ref)
        document = await self.tasks.pools[resolved.app.name].schema()
        name = function or resolved.function
        if name is None:
            schema = document.get("input_schema")
        else:
            functions = document.get("functions") or {}
            entry = functions.get(name) if isinstance(functions, dict) else None
            if not isinstance(entry, dict):
                known = ", ".join(sorted(functions)) if isinstance(functions, dict) else ""
                raise PlatformError.bad_request(
                    f"app {resolved.app.ref} has no function {name!r} (it has: {known or 'none'})"
                )
            schema = entry.get("input_schema")
        if not isinstance(schema, dict):
            raise PlatformError(
                500, "invalid_schema", f"the worker of {resolved.app.ref} served no input schema"
            )
        return schema

    def resolve_app(self, ref: str) -> Resolved:
        """The local app a ref names (aliases applied), as a 400, 404 or 500 when it cannot."""
        known = self._resolved.get(ref)
        if known is not None:
            return known
        try:
            resolved = self.refs.resolve(ref)
        except RefError as exc:
            raise PlatformError.bad_request(str(exc)) from None
        except UnknownAppError as exc:
            raise PlatformError.not_found(str(exc)) from None
        except AliasError as exc:
            # The server's configuration is broken, not the request.
            raise PlatformError(500, "invalid_configuration", str(exc)) from None
        if self._fixed_refs and len(self._resolved) < _RESOLVED_KEPT:
            self._resolved[ref] = resolved
        return resolved


_RESOLVED_KEPT = 1024


def _socket_limits(config: PlatformConfig) -> SocketLimits:
    return SocketLimits(
        pair_timeout=config.socket_pair_timeout,
        max_frame_bytes=config.socket_max_frame_bytes,
        max_buffered_frames=config.socket_max_buffered_frames,
    )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _openapi(routes: list[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        doc = (route.endpoint.__doc__ or "").strip().splitlines()
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": doc[0] if doc else route.path,
                "operationId": f"{method.lower()}_{route.name}",
                "responses": {
                    "200": {"description": "success (v1 envelope unless `X-API-Version: 2`)"}
                },
            }
            params = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in route.param_convertors
            ]
            if params:
                operation["parameters"] = params
            if route.path.startswith("/storage/"):
                operation["security"] = []
            paths.setdefault(route.path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "inference.sh local platform", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }


_DIRECT = ("/apps/run", "/run")
"""Paths whose ``POST`` the front serves without the router (see :mod:`.front`)."""


class _PlatformApp(Starlette):
    """Starlette whose middleware is the platform's :class:`~.front.Front` alone, around the
    exception middleware and the router (Starlette's own outer error middleware is left out:
    the front's guard answers every error it would, and keeps the connection)."""

    def __init__(self, *, api_key: str, direct: dict[str, Endpoint], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._api_key = api_key
        self._direct = direct

    def build_middleware_stack(self) -> ASGIApp:
        handlers: dict[type[Exception], Handler] = {
            key: value
            for key, value in self.exception_handlers.items()
            if isinstance(key, type) and key is not Exception
        }
        inner = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        return Front(inner, api_key=self._api_key, direct=self._direct, handlers=handlers)


def _load_agents(ctx: PlatformContext) -> Any:
    try:
        module = importlib.import_module("inferencesh.platform.agents")
    except (ImportError, SyntaxError) as exc:
        if not (isinstance(exc, ModuleNotFoundError) and exc.name == "inferencesh.platform.agents"):
            # Tasks, files and sessions must not depend on the agent loop being importable.
            log.warning("agent routes disabled: cannot import inferencesh.platform.agents: %s", exc)
        return None
    try:
        return module.create_routes(ctx)
    except Exception:  # logged with its traceback; tasks keep working without agents
        log.exception("agent routes disabled: inferencesh.platform.agents.create_routes failed")
        return None


def create_app(config: PlatformConfig, *, agents_dirs: list[Path] | None = None) -> Starlette:
    """The platform's ASGI app for ``config`` (``config.port`` must be the port it is served on)."""
    agents_dirs = list(agents_dirs or [])
    platform = Platform(config, agents_dirs=agents_dirs)
    ctx = PlatformContext(
        data_dir=config.data_dir,
        db_path=config.db_path,
        base_url=platform.base_url,
        api_key=platform.api_key,
        agents_dirs=agents_dirs,
        apps={app.ref: app for app in config.apps},
        config=config,
        refs=platform.refs,
        app_schema=platform.app_input_schema,
    )
    routes = platform_routes(platform)
    plugin = _load_agents(ctx)
    if plugin is not None:
        routes += list(plugin if isinstance(plugin, list) else plugin.routes)
    spec = _openapi(routes)

    async def openapi(request: Request) -> Response:
        """This document: the routes this server answers."""
        return Response(encode(spec), media_type="application/json")

    routes.append(Route("/openapi.json", openapi, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        failed = platform.tasks.recover()
        ended = platform.sessions.recover()
        # A killed server's half-written uploads and its workers' files (the workers died
        # with it) would otherwise stay in the data directory for good.
        platform.files.recover()
        remove_leftovers(config)
        if failed or ended:
            log.warning(
                "restart: marked %d unfinished task(s) failed and %d session(s) ended",
                failed,
                ended,
            )
        platform.sessions.start()
        if config.warm:
            platform.tasks.warm()
        if plugin is not None and hasattr(plugin, "startup"):
            await plugin.startup()
        try:
            yield
        finally:
            if plugin is not None and hasattr(plugin, "shutdown"):
                await plugin.shutdown()
            await platform.sockets.close()
            await platform.tasks.close()
            await platform.sessions.close()
            platform.store.close()

    async def on_platform_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PlatformError)
        return problem_from(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        detail = (
            f"no route {request.method} {request.url.path}"
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return problem(request, exc.status_code, code, detail)

    direct = {
        route.path: route.endpoint
        for route in routes
        if isinstance(route, Route) and route.path in _DIRECT and "POST" in (route.methods or ())
    }
    app = _PlatformApp(
        api_key=platform.api_key,
        direct=direct,
        routes=routes,
        exception_handlers={PlatformError: on_platform_error, HTTPException: on_http_error},
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.heartbeat_interval = config.heartbeat_interval
    app.state.max_json_depth = config.max_json_depth
    return app

"""The local platform's ASGI app: routes for tasks, files and sessions, behind the API key."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import importlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from inferencesh.core.protocol import parse_rfc3339
from inferencesh.core.types import RequirementError, ResourceStatus
from inferencesh.platform import wire
from inferencesh.platform.auth import AuthMiddleware, Signer, load_or_create_key
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.files import TASK_FILE_ROLES, FileStore
from inferencesh.platform.refs import (
    AliasError,
    Aliases,
    AppResolver,
    RefError,
    Resolved,
    UnknownAppError,
)
from inferencesh.platform.requirements import check_requirements
from inferencesh.platform.responses import (
    encode,
    encode_sorted,
    ok,
    problem,
    problem_from,
    read_json,
    stream_response,
)
from inferencesh.platform.sessions import SessionManager
from inferencesh.platform.store import Store
from inferencesh.platform.tasks import RunSpec, TaskManager
from inferencesh.platform.workers import remove_leftovers
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Platform", "PlatformContext", "create_app"]

log = logging.getLogger("inferencesh.platform")
Handler = Callable[[Request], Awaitable[Response]]


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
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.api_key = load_or_create_key(config.data_dir, config.api_key)
        self.base_url = f"http://{_url_host(config.host)}:{config.port}"
        self.store = Store(config.db_path)
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
        self.apps = {app.name: app for app in config.apps}
        self.refs = AppResolver(
            config.apps, Aliases(files=config.alias_files, dirs=list(agents_dirs or []))
        )

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
        try:
            return self.refs.resolve(ref)
        except RefError as exc:
            raise PlatformError.bad_request(str(exc)) from None
        except UnknownAppError as exc:
            raise PlatformError.not_found(str(exc)) from None
        except AliasError as exc:
            # The server's configuration is broken, not the request.
            raise PlatformError(500, "invalid_configuration", str(exc)) from None


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _missing_secrets(app: AppEntry) -> list[RequirementError]:
    return [
        RequirementError(
            type="secret",
            key=key,
            message=f"{app.ref} needs the secret {key}: set the environment variable {key} before `inferencesh dev`",
            action={"type": "add_secret", "secrets": [key]},
        )
        for key in app.secrets
        if not os.environ.get(key)
    ]


def _run_at(value: Any) -> datetime | None:
    """``run_at`` as an aware UTC time (None when not given)."""
    if value is None or value == "":
        return None
    bad = f"`run_at` must be an ISO 8601 timestamp such as 2026-02-24T15:30:00Z, got {value!r}"
    if not isinstance(value, str):
        raise PlatformError.bad_request(bad)
    try:
        when = parse_rfc3339(value)
    except ValueError:
        raise PlatformError.bad_request(bad) from None
    if when.tzinfo is None:
        raise PlatformError.bad_request(
            f"`run_at` needs a time zone (Z or an offset such as +02:00), got {value!r}"
        )
    return when.astimezone(timezone.utc)


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise PlatformError.bad_request(f"`{name}` must be a boolean, got {value!r}")


_IDEMPOTENCY_TTL = 24 * 3600.0


async def _run_spec(platform: Platform, request: Request) -> tuple[RunSpec, bool, bool, str]:
    body = await read_json(request, platform.config.max_request_bytes)
    if not isinstance(body, dict):
        raise PlatformError.bad_request("request body must be a JSON object (an app run request)")
    digest = hashlib.sha256(encode_sorted(body)).hexdigest()
    ref = body.get("app") or body.get("app_id")
    if not isinstance(ref, str) or not ref.strip():
        raise PlatformError.bad_request("`app` is required: an app ref such as `local/<name>`")
    resolved = platform.resolve_app(ref)
    app = resolved.app
    function = body.get("function") or resolved.function or "run"
    if not isinstance(function, str):
        raise PlatformError.bad_request(f"`function` must be a string, got {function!r}")
    inputs = body.get("input", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise PlatformError.bad_request(
            f"`input` must be a JSON object, got {type(inputs).__name__}"
        )
    setup = body.get("setup")
    if setup is not None and not isinstance(setup, dict):
        raise PlatformError.bad_request(
            f"`setup` must be a JSON object, got {type(setup).__name__}"
        )
    session = body.get("session")
    if session is not None and (not isinstance(session, str) or not session):
        raise PlatformError.bad_request('`session` must be "new" or a session id')
    timeout = body.get("session_timeout")
    if timeout is not None:
        if session != "new":
            raise PlatformError.bad_request('`session_timeout` is only valid with `session: "new"`')
        timeout = SessionManager.validate_timeout(timeout)
    webhook = body.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
    ):
        raise PlatformError.bad_request("`webhook` must be an http(s) URL")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise PlatformError.bad_request("`metadata` must be a JSON object")
    wait = _flag(body.get("wait", request.query_params.get("wait")), "wait")
    stream = _flag(body.get("stream", request.query_params.get("stream")), "stream")
    if wait and stream:
        raise PlatformError.bad_request("`wait` and `stream` cannot both be true")
    missing = _missing_secrets(app)
    if missing:
        raise PlatformError(
            412,
            "requirements_not_met",
            "secrets missing",
            body={"satisfied": False, "errors": missing},
        )
    run_at = _run_at(body.get("run_at"))
    spec = RunSpec(app, inputs, function, setup, session, timeout, webhook, metadata, run_at)
    return spec, wait, stream, digest


def _routes(platform: Platform) -> list[BaseRoute]:
    tasks = platform.tasks
    config = platform.config

    async def run_app(request: Request) -> Response:
        """Create a task (ApiAppRunRequest); `wait` holds until it ends, `stream` streams it."""
        spec, wait, stream, digest = await _run_spec(platform, request)
        key = request.headers.get("idempotency-key", "").strip()[:200]
        seen = platform.store.idempotent_task(key, _IDEMPOTENCY_TTL) if key else None
        if seen is not None:
            # A retry of a request that already created a task: answer with that task.
            if seen[1] != digest:
                raise PlatformError(
                    409, "conflict", "this Idempotency-Key was used for a different request"
                )
            doc = tasks.get(seen[0])
        else:
            doc = tasks.create(spec)
            if key:
                platform.store.remember_idempotent(key, doc["id"], digest)
        if stream:
            events = wire.task_events(tasks.events(doc["id"]))
            return stream_response(request, events, sse_by_default=True)
        if wait:
            doc = await tasks.wait(doc["id"])
        return ok(request, wire.task(doc))

    async def get_task(request: Request) -> Response:
        """The task (TaskDTO)."""
        return ok(request, wire.task(tasks.get(request.path_params["task_id"])))

    async def task_status(request: Request) -> Response:
        """The task's status only ({id, status, updated_at}), for cheap polling."""
        doc = tasks.get(request.path_params["task_id"])
        return ok(
            request,
            ResourceStatus(id=doc["id"], status=doc["status"], updated_at=doc["updated_at"]),
        )

    async def task_stream(request: Request) -> Response:
        """Live updates: NDJSON `{data, fields}` lines (SSE on request) until a terminal status."""
        task_id = request.path_params["task_id"]
        tasks.get(task_id)  # 404 before streaming starts
        return stream_response(request, wire.task_events(tasks.events(task_id)))

    async def task_logs(request: Request) -> Response:
        """The task's logs and status events."""
        doc = tasks.get(request.path_params["task_id"])
        body = {
            "task_id": doc["id"],
            "status": doc["status"],
            "events": doc.get("events", []),
            "logs": doc.get("logs", []),
        }
        return ok(request, body)

    async def cancel_task(request: Request) -> Response:
        """Cancel: graceful, then the worker is killed after `timeout` ms (`force` kills at once)."""
        body = await read_json(request, config.max_request_bytes)
        force, timeout = False, None
        if isinstance(body, dict):
            force = _flag(body.get("force"), "force")
            if body.get("timeout") is not None:
                ms = body["timeout"]
                if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0:
                    raise PlatformError.bad_request(
                        "`timeout` must be a non-negative number of milliseconds"
                    )
                timeout = float(ms) / 1000.0
        doc = await tasks.cancel(request.path_params["task_id"], force=force, timeout=timeout)
        return ok(request, wire.task(doc))

    async def delete_task(request: Request) -> Response:
        """Delete a finished task's record (`?files=true`: and its input and output files)."""
        files = _flag(request.query_params.get("files"), "files")
        tasks.delete(request.path_params["task_id"], files=files)
        return ok(request, None, 204)

    def _file_role(request: Request) -> str | None:
        # A given but empty `role` is refused, not read as "both": on DELETE that would widen
        # a one-side request (`?role=$ROLE` with the variable unset) to every file.
        role = request.query_params.get("role")
        if role is not None and role not in TASK_FILE_ROLES:
            raise PlatformError.bad_request(
                f"`role` must be one of {', '.join(TASK_FILE_ROLES)}, got {role!r}"
            )
        return role

    async def task_files(request: Request) -> Response:
        """The stored files a task consumed and produced (`?role=input|output`: one side)."""
        role = _file_role(request)
        doc = tasks.get(request.path_params["task_id"])
        return ok(request, platform.files.task_files(doc, role))

    async def delete_task_files(request: Request) -> Response:
        """Delete a finished task's files, keeping the task: `{deleted, skipped}`."""
        role = _file_role(request)
        doc = tasks.finished(request.path_params["task_id"])
        return ok(request, platform.files.delete_task_files(doc, role))

    async def list_tasks(request: Request) -> Response:
        """Tasks, newest first (`limit`, `offset` in the JSON body or the query)."""
        body = await read_json(request, config.max_request_bytes) or {}
        limit, offset = _page(body, request)
        items = [wire.task(d) for d in tasks.list(limit + 1, offset)]
        return ok(request, _page_body(items, limit, offset, platform.store.count_tasks()))

    async def create_files(request: Request) -> Response:
        """Create file records ({files: [PartialFile], category?}); each gets an `upload_url`."""
        body = await read_json(request, config.max_request_bytes)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("files"), list)
            or not body["files"]
        ):
            raise PlatformError.bad_request(
                'body must be {"files": [{filename, content_type, size}, ...]}'
            )
        category = body.get("category") or "uploads"
        out = []
        for index, spec in enumerate(body["files"]):
            if not isinstance(spec, dict):
                raise PlatformError.bad_request(f"files[{index}] must be an object")
            out.append(wire.file(platform.files.create(spec, str(category))))
        return ok(request, out)

    async def get_file(request: Request) -> Response:
        """A file record (FileDTO) with its `uri`."""
        return ok(request, wire.file(platform.files.get(request.path_params["file_id"])))

    async def delete_file(request: Request) -> Response:
        """Delete a file and its bytes."""
        platform.files.delete(request.path_params["file_id"])
        return ok(request, None, 204)

    async def list_files(request: Request) -> Response:
        """Files, newest first."""
        body = await read_json(request, config.max_request_bytes) or {}
        limit, offset = _page(body, request)
        items = [
            wire.file(platform.files.public(r))
            for r in platform.store.list_files(limit + 1, offset)
        ]
        return ok(request, _page_body(items, limit, offset, platform.store.count_files()))

    async def upload(request: Request) -> Response:
        """Presigned-style upload target: PUT the raw bytes (no API key; the URL is signed)."""
        q = request.query_params
        record = await platform.files.receive(
            request.path_params["file_id"],
            q.get("expires", ""),
            q.get("sig", ""),
            request.stream(),
            request.headers.get("content-type"),
        )
        return ok(request, wire.file(record))

    async def download(request: Request) -> Response:
        """A stored file's content at its signed `uri`."""
        file_id = request.path_params["file_id"]
        record = platform.files.check_download(file_id, request.query_params.get("sig", ""))
        return FileResponse(
            platform.files.path_of(file_id),
            media_type=record.get("content_type"),
            filename=record.get("filename"),
            content_disposition_type="inline",
        )

    async def list_sessions(request: Request) -> Response:
        """All sessions (AppSessionDTO), newest first."""
        return ok(request, [wire.session(s) for s in platform.sessions.list()])

    async def get_session(request: Request) -> Response:
        """One session."""
        return ok(request, wire.session(platform.sessions.get(request.path_params["session_id"])))

    async def keepalive(request: Request) -> Response:
        """Push an active session's idle deadline forward."""
        return ok(
            request, wire.session(platform.sessions.keepalive(request.path_params["session_id"]))
        )

    async def end_session(request: Request) -> Response:
        """End a session and stop its worker (204)."""
        await platform.sessions.end(request.path_params["session_id"])
        return ok(request, None, 204)

    async def list_apps(request: Request) -> Response:
        """The apps this server runs."""
        body = [
            {
                "id": a.ref,
                "namespace": "local",
                "name": a.name,
                "path": str(a.directory),
                "secrets": list(a.secrets),
            }
            for a in platform.apps.values()
        ]
        return ok(request, body)

    async def check_integrations(request: Request) -> Response:
        """Which requirements ({secrets?, credentials?}) are missing: {satisfied, errors}."""
        body = await read_json(request, config.max_request_bytes)
        return ok(request, check_requirements(body))

    async def health(request: Request) -> Response:
        """Liveness and queue sizes."""
        pools = {
            name: {"workers": pool.size, "queued": pool.queued}
            for name, pool in platform.tasks.pools.items()
        }
        return ok(request, {"status": "ok", "apps": pools})

    return [
        Route("/apps/run", run_app, methods=["POST"]),
        Route("/run", run_app, methods=["POST"]),
        Route("/apps", list_apps, methods=["GET"]),
        Route("/tasks/list", list_tasks, methods=["POST"]),
        Route("/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/tasks/{task_id}", delete_task, methods=["DELETE"]),
        Route("/tasks/{task_id}/status", task_status, methods=["GET"]),
        Route("/tasks/{task_id}/stream", task_stream, methods=["GET"]),
        Route("/tasks/{task_id}/logs", task_logs, methods=["GET"]),
        Route("/tasks/{task_id}/cancel", cancel_task, methods=["POST"]),
        Route("/tasks/{task_id}/files", task_files, methods=["GET"]),
        Route("/tasks/{task_id}/files", delete_task_files, methods=["DELETE"]),
        Route("/files", create_files, methods=["POST"]),
        Route("/files/list", list_files, methods=["POST"]),
        Route("/files/{file_id}", get_file, methods=["GET"]),
        Route("/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/storage/upload/{file_id}", upload, methods=["PUT"]),
        Route("/storage/files/{file_id}/{name}", download, methods=["GET"]),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/sessions/{session_id}", end_session, methods=["DELETE"]),
        Route("/sessions/{session_id}/keepalive", keepalive, methods=["POST"]),
        Route("/integrations/check", check_integrations, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]


def _page(body: Any, request: Request) -> tuple[int, int]:
    source: dict[str, Any] = body if isinstance(body, dict) else {}

    def given(name: str, default: int) -> int:
        # Explicit `None` checks: a given 0 is a value to check, not a missing one.
        value = source.get(name)
        if value is None:
            value = request.query_params.get(name)
        if value is None:
            return default
        # Only whole numbers: `true` or `2.5` are mistakes, not 1 and 2.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        raise PlatformError.bad_request(f"`{name}` must be an integer, got {value!r}")

    limit = given("limit", 50)
    cursor = source.get("cursor")
    if cursor is None:
        cursor = request.query_params.get("cursor")
    offset = _cursor_offset(cursor) if cursor else given("offset", 0)
    if not 1 <= limit <= 500 or offset < 0:
        raise PlatformError.bad_request(
            f"`limit` must be 1..500 and `offset` at least 0, got limit {limit}, offset {offset}"
        )
    return limit, offset


_CURSOR_PREFIX = "offset:"


def _make_cursor(offset: int) -> str:
    # Opaque to clients, as the platform's cursors are; locally a position in the newest-first list.
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def _cursor_offset(cursor: Any) -> int:
    bad = PlatformError.bad_request(
        f"`cursor` must be a `next_cursor` or `prev_cursor` from an earlier page, got {cursor!r}"
    )
    if not isinstance(cursor, str):
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    digits = text.removeprefix(_CURSOR_PREFIX)
    if text == digits or not digits.isdigit():
        raise bad
    return int(digits)


def _page_body(items: list[Any], limit: int, offset: int, total: int) -> dict[str, Any]:
    """A ``CursorListResponse``: ``items`` holds up to ``limit + 1`` records (the extra one
    only tells whether a next page exists)."""
    has_next = len(items) > limit
    return {
        "items": items[:limit],
        "next_cursor": _make_cursor(offset + limit) if has_next else None,
        "prev_cursor": _make_cursor(max(0, offset - limit)) if offset > 0 else None,
        "has_next": has_next,
        "has_previous": offset > 0,
        "items_per_page": limit,
        "total_items": total,
    }


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


class _StripV1:
    """Every route also answers under ``/v1/`` like the cloud API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/v1/"):
            scope = {**scope, "path": scope["path"][3:], "raw_path": scope.get("raw_path", b"")[3:]}
        await self.app(scope, receive, send)


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
    routes = _routes(platform)
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

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal_error", f"internal error: {type(exc).__name__}")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_StripV1), Middleware(AuthMiddleware, api_key=platform.api_key)],
        exception_handlers={
            PlatformError: on_platform_error,
            HTTPException: on_http_error,
            Exception: on_error,
        },
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.heartbeat_interval = config.heartbeat_interval
    return app

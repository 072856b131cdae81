"""Task routes: run an app (``POST /apps/run``, ``/run``), read, follow, cancel, list and delete
tasks and their files."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

import msgspec
from inferencesh.core.requests import CancelTaskRequest, RunRequest
from inferencesh.core.types import RequirementError, ResourceStatus, SetupAction
from inferencesh.platform import wire
from inferencesh.platform.config import AppEntry
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.files import TASK_FILE_ROLES
from inferencesh.platform.paths import check_input_paths
from inferencesh.platform.responses import (
    encode_sorted,
    ok,
    read_json,
    read_request,
    stream_response,
)
from inferencesh.platform.routes.paging import page_body, read_page
from inferencesh.platform.stream_kind import is_stream_function
from inferencesh.platform.tasks import RunSpec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["TaskRoutes"]

_IDEMPOTENCY_TTL = 24 * 3600.0


class TaskRoutes:
    """The task handlers over one platform; each handler's docstring is its OpenAPI summary."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.tasks = platform.tasks
        self.config = platform.config

    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are matched."""
        return [
            Route("/apps/run", self.run_app, methods=["POST"]),
            Route("/run", self.run_app, methods=["POST"]),
            Route("/tasks/list", self.list_tasks, methods=["POST"]),
            Route("/tasks/{task_id}", self.get_task, methods=["GET"]),
            Route("/tasks/{task_id}", self.delete_task, methods=["DELETE"]),
            Route("/tasks/{task_id}/status", self.task_status, methods=["GET"]),
            Route("/tasks/{task_id}/stream", self.task_stream, methods=["GET"]),
            Route("/tasks/{task_id}/logs", self.task_logs, methods=["GET"]),
            Route("/tasks/{task_id}/cancel", self.cancel_task, methods=["POST"]),
            Route("/tasks/{task_id}/files", self.task_files, methods=["GET"]),
            Route("/tasks/{task_id}/files", self.delete_task_files, methods=["DELETE"]),
        ]

    async def run_app(self, request: Request) -> Response:
        """Create a task (ApiAppRunRequest); `wait` holds until it ends, `stream` streams it."""
        platform, tasks = self.platform, self.tasks
        spec, wait, stream, body = await _run_spec(platform, request)
        key = request.headers.get("idempotency-key", "").strip()[:200]
        digest = hashlib.sha256(encode_sorted(body)).hexdigest() if key else ""
        seen = platform.store.idempotent_task(key, _IDEMPOTENCY_TTL) if key else None
        if seen is not None:
            # A retry of a request that already created a task: answer with that task.
            if seen[1] != digest:
                raise PlatformError(
                    409, "conflict", "this Idempotency-Key was used for a different request"
                )
            doc = tasks.get(seen[0])
        else:
            sock = None
            if is_stream_function(spec.app.directory, spec.function):
                sock = platform.sockets.create()
                spec.socket = platform.sockets.worker_access(sock)
            made_by = (key, digest) if key else None
            if wait and sock is None:
                # Run here: this request waits for the end anyway (no task of its own).
                ended = await tasks.run(spec, idempotency=made_by)
                return ok(request, wire.task(ended))
            if stream and sock is None:
                # The reply is the task's stream; its first batch is taken here, so a task
                # that cannot be saved is an error reply, not a stream.
                events = tasks.run_streamed(spec, idempotency=made_by)
                first = await events.__anext__()
                return stream_response(request, events, first=first, sse_by_default=True)
            doc = await tasks.create(spec, wait=wait, idempotency=made_by)
            if sock is not None:
                platform.sockets.attach(sock, doc["id"])
        if stream:
            return stream_response(request, tasks.events(doc["id"]), sse_by_default=True)
        if wait:
            doc = await tasks.wait(doc["id"])
        reply = wire.task(doc)
        live = platform.sockets.for_task(reply.id)
        if live is not None and live.status != "closed":
            # A stream function: the caller's end of its socket (a fresh credential each time).
            reply = msgspec.structs.replace(reply, socket=platform.sockets.access(live))
        return ok(request, reply)

    async def get_task(self, request: Request) -> Response:
        """The task (TaskDTO)."""
        return ok(request, wire.task(self.tasks.get(request.path_params["task_id"])))

    async def task_status(self, request: Request) -> Response:
        """The task's status only ({id, status, updated_at}), for cheap polling."""
        doc = self.tasks.get(request.path_params["task_id"])
        return ok(
            request,
            ResourceStatus(id=doc["id"], status=doc["status"], updated_at=doc["updated_at"]),
        )

    async def task_stream(self, request: Request) -> Response:
        """Live updates: NDJSON `{data, fields}` lines (SSE on request) until a terminal status."""
        task_id = request.path_params["task_id"]
        self.tasks.get(task_id)  # 404 before streaming starts
        return stream_response(request, self.tasks.events(task_id))

    async def task_logs(self, request: Request) -> Response:
        """The task's logs and status events."""
        doc = self.tasks.get(request.path_params["task_id"])
        body = {
            "task_id": doc["id"],
            "status": doc["status"],
            "events": doc.get("events", []),
            "logs": doc.get("logs", []),
        }
        return ok(request, body)

    async def cancel_task(self, request: Request) -> Response:
        """Cancel: graceful, then the worker is killed after `timeout` ms (`force` kills at once)."""
        body = await read_request(
            request, CancelTaskRequest, self.config.max_request_bytes, empty=CancelTaskRequest()
        )
        timeout = None if body.timeout is None else body.timeout / 1000.0
        doc = await self.tasks.cancel(
            request.path_params["task_id"], force=bool(body.force), timeout=timeout
        )
        return ok(request, wire.task(doc))

    async def delete_task(self, request: Request) -> Response:
        """Delete a finished task's record (`?files=true`: and its input and output files)."""
        files = _flag(request.query_params.get("files"), "files")
        self.tasks.delete(request.path_params["task_id"], files=files)
        return ok(request, None, 204)

    async def task_files(self, request: Request) -> Response:
        """The stored files a task consumed and produced (`?role=input|output`: one side)."""
        role = _file_role(request)
        doc = self.tasks.get(request.path_params["task_id"])
        return ok(request, self.platform.files.task_files(doc, role))

    async def delete_task_files(self, request: Request) -> Response:
        """Delete a finished task's files, keeping the task: `{deleted, skipped}`."""
        role = _file_role(request)
        doc = self.tasks.finished(request.path_params["task_id"])
        return ok(request, self.platform.files.delete_task_files(doc, role))

    async def list_tasks(self, request: Request) -> Response:
        """Tasks, newest first (`limit`, `offset` in the JSON body or the query)."""
        body = await read_json(request, self.config.max_request_bytes) or {}
        limit, offset = read_page(body, request)
        items = [wire.task(d) for d in self.tasks.list(limit + 1, offset)]
        return ok(request, page_body(items, limit, offset, self.platform.store.count_tasks()))


def _file_role(request: Request) -> str | None:
    # A given but empty `role` is refused, not read as "both": on DELETE that would widen
    # a one-side request (`?role=$ROLE` with the variable unset) to every file.
    role = request.query_params.get("role")
    if role is not None and role not in TASK_FILE_ROLES:
        raise PlatformError.bad_request(
            f"`role` must be one of {', '.join(TASK_FILE_ROLES)}, got {role!r}"
        )
    return role


def _missing_secrets(app: AppEntry) -> list[RequirementError]:
    return [
        RequirementError(
            type="secret",
            key=key,
            message=f"{app.ref} needs the secret {key}: set the environment variable {key} before `inferencesh dev`",
            action=SetupAction(type="add_secret", secrets=[key]),
        )
        for key in app.secrets
        if not os.environ.get(key)
    ]


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise PlatformError.bad_request(f"`{name}` must be a boolean, got {value!r}")


async def _run_spec(platform: Platform, request: Request) -> tuple[RunSpec, bool, bool, RunRequest]:
    """The run a ``POST /apps/run`` asks for: its body decoded into the client's own
    ``RunRequest`` (the rules on the struct are the checks), the app resolved, the
    ``wait``/``stream`` flags (the body's, else the query's), and the body."""
    body = await read_request(request, RunRequest, platform.config.max_request_bytes)
    resolved = platform.resolve_app(body.ref)
    app = resolved.app
    # The query is parsed only when there is one (most runs send their flags in the body).
    query = request.query_params if request.scope.get("query_string") else None
    wait = body.wait
    if wait is None:
        wait = _flag(None if query is None else query.get("wait"), "wait")
    stream = body.stream
    if stream is None:
        stream = _flag(None if query is None else query.get("stream"), "stream")
    if wait and stream:
        raise PlatformError.bad_request("`wait` cannot be true together with stream")
    check_input_paths(body.input, platform.config.allow_paths, "input")
    check_input_paths(body.setup, platform.config.allow_paths, "setup")
    missing = _missing_secrets(app)
    if missing:
        raise PlatformError(
            412,
            "requirements_not_met",
            "secrets missing",
            body={"satisfied": False, "errors": missing},
        )
    spec = RunSpec(
        app=app,
        input=body.input or {},
        function=body.function or resolved.function or "run",
        setup=body.setup,
        session=body.session,
        session_timeout=body.session_timeout,
        webhook=body.webhook,
        metadata=body.metadata,
        run_at=body.run_at_time,
    )
    return spec, wait, stream, body

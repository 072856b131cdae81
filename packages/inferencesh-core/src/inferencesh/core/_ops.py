"""Every client operation, written once as a generator of I/O effects.

An operation yields effects (``Call`` an API endpoint, ``Put`` bytes to a presigned URL, run
something ``Blocking`` such as a disk check) and receives each effect's result back; it
returns the operation's result. The vocabulary and the drivers that perform it with a sync or
an async client are in ``inferencesh.core.protocol``, so request building, validation and
response handling exist exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from inferencesh.core._follow import TaskFollower
from inferencesh.core._transport import convert, new_idempotency_key
from inferencesh.core.errors import MalformedResponseError
from inferencesh.core.files import (
    UploadFileOptions,
    find_uploads,
    is_existing_file,
    source_of,
    substitute,
)
from inferencesh.core.protocol import Blocking, Call, Op, OpenStream, Put
from inferencesh.core.protocol import id_path as _id_path
from inferencesh.core.requests import RequestError, RunRequest, convert_request
from inferencesh.core.tasks import follow
from inferencesh.core.types import (
    CancelTaskRequest,
    DeletedTaskFiles,
    FileCreateRequest,
    SessionInfo,
    Task,
    TaskFile,
    TaskFileRole,
    TaskFileRoleArg,
    UploadedFile,
)

if TYPE_CHECKING:  # annotations only: the progress module loads when a bar is made
    from inferencesh.core.progress import ProgressCallback, ProgressFactory


_RUN_PARAMS = frozenset(RunRequest.__struct_fields__) - {"stream", "wait"}


def run_request(params: Any) -> RunRequest:
    """``run`` params as the ``RunRequest`` they describe, checked before any request.

    Raises ``TypeError`` for params that are not a mapping and ``RequestError`` (a
    ``ValueError``) naming the param, for a param the request does not have (a typo would
    otherwise be dropped without a word) and for one that breaks a rule of ``RunRequest``.
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            f"run() takes a dict of params such as {{'app': ..., 'input': ...}}, "
            f"got {type(params).__name__}"
        )
    try:
        for key in params:
            if key in ("stream", "wait"):
                raise RequestError(
                    (key,),
                    f"is not a request field here: use client.run(params, {key}=True) instead",
                )
            if key not in _RUN_PARAMS:
                known = ", ".join(sorted(_RUN_PARAMS))
                raise RequestError((key,), f"is not a run parameter (they are: {known})")
        return convert_request(dict(params), RunRequest)
    except RequestError as exc:
        raise exc.located(exc.subscripts("params")) from None


def upload_file(
    data: Any,
    options: UploadFileOptions | None = None,
    progress: ProgressCallback | None = None,
) -> Op[UploadedFile]:
    """Upload bytes, a path, a data: URI or a file object; returns the file record."""
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be a callable taking (done, total), got {type(progress).__name__}"
        )
    source = source_of(data, options)
    if source.kind != "bytes" or source.content_type is None:
        source = yield Blocking(source.probe)
    if progress is not None:
        source = msgspec.structs.replace(source, progress=progress)
    opts = options or UploadFileOptions()
    announced = {
        "filename": source.filename,
        "content_type": source.content_type,
        "path": opts.path,
        "size": source.size,
        "public": opts.public,
    }
    try:
        body = convert_request({"files": [announced], "category": opts.category}, FileCreateRequest)
    except RequestError as exc:
        if exc.path[:1] == ("files",):
            raise exc.located(f"the file's {exc.path[-1]}") from None
        raise exc.located(f"UploadFileOptions.{exc.location()}") from None
    data_out = yield Call("POST", "/files", json=body, expect="a file record")
    records = data_out if isinstance(data_out, list) else [data_out]
    if not records or records[0] is None:
        raise MalformedResponseError(
            200, "POST /files answered without a file record", body=data_out
        )
    record: UploadedFile = convert(records[0], UploadedFile, "POST /files")
    if not record.upload_url:
        raise MalformedResponseError(
            200, "POST /files answered without an upload_url for the file", body=data_out
        )
    yield Put(record.upload_url, source)
    return record


def _upload_name(item: Any) -> str:
    """How an auto-uploaded value is named to a progress factory."""
    source = source_of(item)
    if source.filename:
        return source.filename
    return "data" if source.kind == "bytes" else "file"


def upload_with_progress(item: Any, factory: ProgressFactory | None) -> Op[UploadedFile]:
    """Upload one value with the callback ``factory`` makes for it (closed at the end)."""
    progress = factory(_upload_name(item)) if factory is not None else None
    try:
        record = yield from upload_file(item, None, progress)
    finally:
        close = getattr(progress, "close", None)
        if callable(close):
            close()
    return record


def prepare_input(
    value: Any, upload_paths: bool, progress: ProgressFactory | None = None
) -> Op[Any]:
    """Upload the files in a task input and return the input with their URIs."""
    try:
        found, candidates = find_uploads(value, upload_paths)
    except RecursionError:
        raise RequestError((), "nests too deeply to be sent as JSON") from None
    if candidates:
        unique = list(dict.fromkeys(candidates))
        existing = yield Blocking(lambda: [p for p in unique if is_existing_file(p)])
        for path in existing:
            found.setdefault(("str", path), path)
    if not found:
        return substitute(value, {}) if isinstance(value, (dict, list, tuple)) else value
    uris: dict[Any, str] = {}
    for key, item in found.items():
        record = yield from upload_with_progress(item, progress)
        uris[key] = record.uri
    return substitute(value, uris)


def run_body(
    params: Any, upload_paths: bool, upload_progress: ProgressFactory | None = None
) -> Op[RunRequest]:
    """Validate params and upload input files; returns the body of ``POST /apps/run``."""
    body = run_request(params)
    body.input = yield from prepare_input(body.input, upload_paths, upload_progress)
    if body.setup is not None:
        body.setup = yield from prepare_input(body.setup, upload_paths, upload_progress)
    return body


def create_task(
    params: Any, upload_paths: bool, upload_progress: ProgressFactory | None = None
) -> Op[Task]:
    """Validate params, upload input files and ``POST /apps/run``; returns the new task."""
    body = yield from run_body(params, upload_paths, upload_progress)
    data = yield Call(
        "POST", "/apps/run", json=body, idempotency_key=new_idempotency_key(), expect="a task"
    )
    task: Task = convert(data, Task, "POST /apps/run")
    if not task.id:
        raise MalformedResponseError(200, "POST /apps/run answered without a task id", body=data)
    return task


# `stream` goes in the query, not the body: the body stays the one a plain run sends, so the
# Idempotency-Key of a creation whose outcome is unknown can be sent again with the same
# params (and a server that does not stream the reply answers with the task, followed as usual).
_STREAMED = {"stream": "true"}


def run(
    params: Any,
    upload_paths: bool,
    follower: TaskFollower,
    max_retries: int,
    upload_progress: ProgressFactory | None = None,
) -> Op[Task]:
    """Create a task and follow it to its end with ``follower`` (made without a task id); returns
    the completed task or raises.

    One request: ``POST /apps/run?stream=true`` answers with the task's stream, which names
    the task in its first update; past that, a dropped stream is followed as any other.
    """
    body = yield from run_body(params, upload_paths, upload_progress)
    create = OpenStream(
        "/apps/run",
        task_lines=True,
        method="POST",
        json=body,
        params=_STREAMED,
        idempotency_key=new_idempotency_key(),
    )
    follower.create(create, max_retries)
    return (yield from follow(follower))


def create_and_follow(
    params: Any, upload_paths: bool, follower: Callable[[Task], TaskFollower]
) -> Op[Task]:
    """Create a task, then follow it (with ``follower(task)``) to its end: the created task
    starts the follower (a deadline counted from the reply, for one)."""
    task = yield from create_task(params, upload_paths)
    return (yield from follow(follower(task)))


def get_task(task_id: str) -> Op[Task]:
    """``GET /tasks/{id}``."""
    path = _id_path("/tasks", task_id, "task_id")
    data = yield Call("GET", path, expect="a task")
    result: Task = convert(data, Task, f"GET {path}")
    return result


def cancel(task_id: str, force: bool | None = None) -> Op[None]:
    """``POST /tasks/{id}/cancel``."""
    path = _id_path("/tasks", task_id, "task_id", "/cancel")
    body = CancelTaskRequest(force=force) if force is not None else None
    yield Call("POST", path, json=body)
    return None


def _role_params(role: TaskFileRoleArg | None) -> dict[str, str] | None:
    if role is None:
        return None
    if not isinstance(role, str) or role not in _ROLES:
        raise ValueError(f"role must be 'input', 'output' or None, got {role!r}")
    return {"role": TaskFileRole(role).value}


_ROLES = frozenset(member.value for member in TaskFileRole)


def delete_task(task_id: str, files: bool) -> Op[None]:
    """``DELETE /tasks/{id}`` (``?files=true``: and the files it read and wrote)."""
    path = _id_path("/tasks", task_id, "task_id")
    yield Call("DELETE", path, params={"files": "true"} if files else None)
    return None


def task_files(task_id: str, role: TaskFileRoleArg | None) -> Op[list[TaskFile]]:
    """``GET /tasks/{id}/files`` (``?role=input|output``)."""
    params = _role_params(role)
    path = _id_path("/tasks", task_id, "task_id", "/files")
    data = yield Call("GET", path, params=params)
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    result: list[TaskFile] = convert(data or [], list[TaskFile], f"GET {path}")
    return result


def delete_task_files(task_id: str, role: TaskFileRoleArg | None) -> Op[DeletedTaskFiles]:
    """``DELETE /tasks/{id}/files`` (``?role=input|output``)."""
    params = _role_params(role)
    path = _id_path("/tasks", task_id, "task_id", "/files")
    data = yield Call("DELETE", path, params=params)
    result: DeletedTaskFiles = convert(data or {}, DeletedTaskFiles, f"DELETE {path}")
    return result


def get_session(session_id: str) -> Op[SessionInfo]:
    """``GET /sessions/{id}``."""
    path = _id_path("/sessions", session_id, "session_id")
    data = yield Call("GET", path, expect="a session")
    result: SessionInfo = convert(data, SessionInfo, f"GET {path}")
    return result


def list_sessions() -> Op[list[SessionInfo]]:
    """``GET /sessions``."""
    data = yield Call("GET", "/sessions")
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    result: list[SessionInfo] = convert(data or [], list[SessionInfo], "GET /sessions")
    return result


def keepalive(session_id: str) -> Op[SessionInfo]:
    """``POST /sessions/{id}/keepalive``: reset the idle timer."""
    path = _id_path("/sessions", session_id, "session_id", "/keepalive")
    data = yield Call("POST", path)
    result: SessionInfo = convert(data or {"id": session_id}, SessionInfo, f"POST {path}")
    return result


def end_session(session_id: str) -> Op[None]:
    """``DELETE /sessions/{id}``: end the session and release its worker."""
    path = _id_path("/sessions", session_id, "session_id")
    yield Call("DELETE", path)
    return None


def session_params(
    app: str,
    function: str | None,
    input: Any,
    session: str,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The run params of a session call."""
    params: dict[str, Any] = {"app": app, "input": {} if input is None else input}
    params.update(extra)
    if function is not None:
        params["function"] = function
    params["session"] = session
    return params


def start_session(run: Op[Task]) -> Op[Task]:
    """Run the first call of a new session (``run``, the op of a ``session="new"`` run);
    returns its completed task (with ``session_id``)."""
    task = yield from run
    if not task.session_id or task.session_id == "new":
        raise MalformedResponseError(
            200, f"task {task.id} started with session='new' returned no session_id", body=None
        )
    return task

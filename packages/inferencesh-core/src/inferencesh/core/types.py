"""Wire types: every object that crosses the inference.sh HTTP API, as msgspec ``Struct``\\ s.

The client decodes responses into these and the local platform encodes its replies with them,
so both sides agree byte for byte. Conventions:

* Structs are keyword-only; unknown fields in a payload are ignored (the platform adds fields
  over time); fields left at their default are omitted when encoding.
* Result objects also answer dict-style access so code written against plain dicts keeps
  working: ``task["output"]``, ``task.get("logs")``, ``"session_id" in task``.
* ``encode(obj)`` and ``decode(data, type)`` are the one codec for both client and server.

The request bodies (``RunRequest``, ``FileCreateRequest``, ...) live in ``inferencesh.core.requests``
with the rules both ends check; they are importable from here too.
"""

from __future__ import annotations

import enum
from typing import Any, Literal, TypeVar

import msgspec

from inferencesh.core._struct import WireEnum, WireStruct
from inferencesh.core.requests import (
    CancelTaskRequest,
    FileCreateRequest,
    PartialFile,
    RunRequest,
)

__all__ = [
    "TERMINAL_STATUSES",
    "CancelTaskRequest",
    "DeletedTaskFiles",
    "FileCreateRequest",
    "PartialFile",
    "RequirementError",
    "SetupAction",
    "ResourceStatus",
    "RunRequest",
    "SessionInfo",
    "SkippedTaskFile",
    "SocketAccess",
    "SocketInfo",
    "StreamEvent",
    "Task",
    "TaskEvent",
    "TaskFile",
    "TaskFileRole",
    "TaskFileRoleArg",
    "TaskLog",
    "TaskLogType",
    "TaskStatus",
    "UploadedFile",
    "WireEnum",
    "WireStruct",
    "decode",
    "encode",
    "parse_status",
]

T = TypeVar("T")


class TaskStatus(enum.IntEnum):
    """A task's status, as the integer the platform sends.

    ``str(status)`` is the lower-case name (``"completed"``), so printing a task's status reads
    naturally; comparisons and JSON use the integer.

    A number this SDK does not know (a status added by a newer platform) still decodes: it
    becomes a ``TaskStatus`` that keeps the number, prints as ``"unknown_14"``, is not terminal
    and may change to any status, so a stream carries on to the next known status instead of
    failing. ``TaskStatus(14)`` gives the same value.
    """

    UNKNOWN = 0
    RECEIVED = 1
    QUEUED = 2
    DISPATCHED = 3
    PREPARING = 4
    SERVING = 5
    SETTING_UP = 6
    RUNNING = 7
    CANCELLING = 8
    UPLOADING = 9
    COMPLETED = 10
    FAILED = 11
    CANCELLED = 12
    REJECTED = 13
    """No worker would take the task (newer platforms); terminal, reported as a failure."""

    @classmethod
    def _missing_(cls, value: object) -> TaskStatus | None:
        # Called by `TaskStatus(n)` and by msgspec when decoding a number that is not a member.
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        status = _UNLISTED.get(value)
        if status is None:
            status = int.__new__(cls, value)
            status._name_ = f"UNKNOWN_{value}"
            status._value_ = value
            if len(_UNLISTED) < 64:  # a misbehaving server must not grow this without bound
                _UNLISTED[value] = status
        return status

    def __str__(self) -> str:
        return self.name.lower()

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else int.__format__(int(self), spec)

    @property
    def is_known(self) -> bool:
        """False for a status number this SDK does not know."""
        return self in _ORDER

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETED, FAILED, CANCELLED (and REJECTED): the task will not change."""
        return self in TERMINAL_STATUSES

    def can_transition_to(self, other: int) -> bool:
        """The platform's rule for a legal status change from ``self`` to ``other``.

        Terminal statuses are final; any other status may go to a terminal one or to
        CANCELLING; otherwise statuses only move forward, except that DISPATCHED may fall back
        to RECEIVED or QUEUED (a worker rejected the task and it was queued again). A status
        this SDK does not know has no known place in that order, so a change from or to one
        is allowed (unless from a terminal status).
        """
        target = parse_status(other)
        if self.is_terminal:
            return False
        if target.is_terminal or target is TaskStatus.CANCELLING:
            return True
        if self is TaskStatus.DISPATCHED and target in (TaskStatus.RECEIVED, TaskStatus.QUEUED):
            return True
        here, there = _ORDER.get(self), _ORDER.get(target)
        return here is None or there is None or there > here


_UNLISTED: dict[int, TaskStatus] = {}

# The platform's StatusOrder, kept as the platform defines it rather than derived from the values.
_ORDER: dict[TaskStatus, int] = {
    TaskStatus.UNKNOWN: 0,
    TaskStatus.RECEIVED: 10,
    TaskStatus.QUEUED: 20,
    TaskStatus.DISPATCHED: 30,
    TaskStatus.PREPARING: 40,
    TaskStatus.SERVING: 50,
    TaskStatus.SETTING_UP: 60,
    TaskStatus.RUNNING: 70,
    TaskStatus.CANCELLING: 80,
    TaskStatus.UPLOADING: 90,
    TaskStatus.COMPLETED: 100,
    TaskStatus.FAILED: 100,
    TaskStatus.CANCELLED: 100,
    TaskStatus.REJECTED: 100,
}

TERMINAL_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.REJECTED}
)

_BY_NAME: dict[str, TaskStatus] = {s.name.lower(): s for s in TaskStatus}


def parse_status(value: object) -> TaskStatus:
    """Turn a wire status (an int, or a name such as ``"completed"``) into a ``TaskStatus``.

    A number keeps its value even when this SDK does not know it (see ``TaskStatus``); an
    unknown name, or anything else, gives ``TaskStatus.UNKNOWN``.
    """
    if isinstance(value, TaskStatus):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return TaskStatus(value)
    if isinstance(value, str):
        return _BY_NAME.get(value.strip().lower(), TaskStatus.UNKNOWN)
    return TaskStatus.UNKNOWN


class TaskLogType(enum.IntEnum):
    """Where a task log line came from."""

    BUILD = 0
    RUN = 1
    SERVE = 2
    SETUP = 3
    TASK = 4


class TaskLog(WireStruct):
    """One log record of a task (``TaskLog``)."""

    id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    task_id: str | None = None
    log_type: int | None = None
    content: str = ""

    def __str__(self) -> str:
        return self.content


class TaskEvent(WireStruct):
    """A status change of a task with its time (``TaskEvent``)."""

    id: str | None = None
    created_at: str | None = None
    event_time: str | None = None
    task_id: str | None = None
    status: int | None = None


class SocketAccess(WireStruct):
    """The caller's credential for a stream task's socket (``SocketAccess``): dial
    ``url?access_token=<token>`` before ``expires_at``; ``POST /sockets/{id}/access`` renews it."""

    id: str = ""
    url: str = ""
    token: str = ""
    expires_at: str | None = None


class SocketInfo(WireStruct):
    """A stream task's socket as the relay accounts for it (the platform's ``SocketDTO``).

    ``status`` is ``pending`` (the two ends have not met), ``open`` or ``closed`` (``outcome``
    says why: ``client_closed``, ``worker_closed``, ``never_paired``, ``task_ended``, ...).
    ``client_*`` count what the caller sent, ``worker_*`` what the app sent.
    """

    id: str = ""
    task_id: str | None = None
    relay: str | None = None
    status: str | None = None
    paired_at: str | None = None
    ended_at: str | None = None
    outcome: str | None = None
    close_code: int | None = None
    close_reason: str | None = None
    client_frames: int = 0
    client_bytes: int = 0
    worker_frames: int = 0
    worker_bytes: int = 0
    created_at: str | None = None
    updated_at: str | None = None


class Task(WireStruct):
    """A task (the platform's ``TaskDTO``, the fields a client uses and a few more).

    ``status`` is a ``TaskStatus`` (decoded from the wire integer); ``input``, ``output`` and
    ``setup`` are the app's JSON. ``rating`` and ``usage_events`` are kept as the platform
    sends them (their shapes are not documented).
    """

    id: str = ""
    status: TaskStatus = TaskStatus.UNKNOWN
    short_id: str | None = None
    app: str | None = None
    app_id: str | None = None
    app_version_id: str | None = None
    app_variant: str | None = None
    function: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    logs: list[TaskLog] | None = None
    events: list[TaskEvent] | None = None
    usage_events: list[Any] | None = None
    rating: Any = None
    session_id: str | None = None
    session_timeout: int | None = None
    setup: Any = None
    infra: str | None = None
    workers: list[str] | None = None
    webhook: str | None = None
    run_at: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    chat_id: str | None = None
    agent_id: str | None = None
    engine_id: str | None = None
    worker_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    socket: SocketAccess | None = None
    """Set on the run response of a stream function: the caller's end of its socket."""

    @property
    def task_status(self) -> TaskStatus:
        """``status`` as a ``TaskStatus`` (also for a ``Task`` built with a plain int)."""
        return parse_status(self.status)

    @property
    def is_terminal(self) -> bool:
        """True once the task is completed, failed or cancelled."""
        return self.task_status.is_terminal

    @property
    def data(self) -> Task:
        """The task itself: ``get_task`` of the earlier ``inferencesh`` 0.36 returned a response
        whose ``data`` was the task, so ``client.tasks.get(id).data["status"]`` still works."""
        return self


class UploadedFile(WireStruct):
    """A file record (``FileDTO``); use ``file.uri`` (or ``file["uri"]``) in app inputs."""

    id: str = ""
    uri: str = ""
    upload_url: str | None = None
    path: str | None = None
    remote_path: str | None = None
    content_type: str | None = None
    size: int | None = None
    filename: str | None = None
    category: str | None = None
    rating: Any = None
    metadata: Any = None
    created_at: str | None = None
    updated_at: str | None = None


class TaskFileRole(WireEnum):
    """Which side of a task a file is on: what it read or wrote. Members equal their strings,
    so ``role="input"`` and ``role=TaskFileRole.INPUT`` are the same filter."""

    INPUT = "input"
    OUTPUT = "output"


TaskFileRoleArg = TaskFileRole | Literal["input", "output"]
"""A ``role`` argument: a member or its string."""


class TaskFile(WireStruct):
    """A stored file a task read (``role`` ``"input"``) or wrote (``"output"``): the items of
    ``client.tasks.files(task_id)`` (``TaskFileDTO``)."""

    id: str = ""
    role: str | None = None  # a str, not the Literal: a newer platform may add a role
    uri: str = ""
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    created_at: str | None = None


class SkippedTaskFile(WireStruct):
    """A task file that was not deleted, and why."""

    id: str = ""
    reason: str = ""


class DeletedTaskFiles(WireStruct):
    """What ``client.tasks.delete_files(task_id)`` did: the ids deleted and the files skipped."""

    deleted: list[str] = msgspec.field(default_factory=list)
    skipped: list[SkippedTaskFile] = msgspec.field(default_factory=list)


class SessionInfo(WireStruct):
    """A stateful app session (``AppSessionDTO``); ``status`` is active, ended or expired."""

    id: str = ""
    short_id: str | None = None
    status: str | None = None
    app_id: str | None = None
    app_version_id: str | None = None
    worker_id: str | None = None
    task_id: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    visibility: str | None = None
    call_count: int | None = None
    idle_timeout: int | None = None
    expires_at: str | None = None
    ended_at: str | None = None
    last_call_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ResourceStatus(WireStruct):
    """The cheap status of a task or chat (``ResourceStatusDTO``)."""

    id: str = ""
    status: Any = None
    updated_at: str | None = None


class SetupAction(WireStruct):
    """What the account owner can do to meet a requirement: ``type`` is ``add_secret``,
    ``connect`` or ``add_scopes``; ``provider``/``provider_name`` name the integration,
    ``scopes`` (with ``scope_descriptions``) the OAuth scopes to grant, ``secrets`` the secret
    names to add."""

    type: str
    provider: str | None = None
    provider_name: str | None = None
    scopes: list[str] | None = None
    scope_descriptions: dict[str, str] | None = None
    secrets: list[str] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SetupAction:
        """Read an action from its JSON object (unknown keys are ignored).

        Example:
            >>> from inferencesh import SetupAction
            >>> SetupAction.from_dict({"type": "add_scopes", "scopes": ["repo"]}).scopes
            ['repo']
        """
        return msgspec.convert(data, cls)


class RequirementError(WireStruct):
    """One unmet requirement of an app (a missing secret, credential or OAuth scope): ``type``
    (``secret``, ``credential``, ``scope``), ``key``, ``message`` and the :class:`SetupAction`
    that meets it.

    It describes a requirement (the items of ``RequirementsNotMetError.errors``); it is not
    an exception, as in the published SDK 0.36.
    """

    type: str
    key: str
    message: str = ""
    action: SetupAction | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequirementError:
        """Read a requirement from its JSON object (unknown keys are ignored).

        Example:
            >>> from inferencesh import RequirementError
            >>> error = RequirementError.from_dict(
            ...     {"type": "secret", "key": "OPENAI_API_KEY", "action": {"type": "add_secret"}}
            ... )
            >>> error.key, error.action.type
            ('OPENAI_API_KEY', 'add_secret')
        """
        return msgspec.convert(data, cls)


class StreamEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One event of a platform stream (NDJSON line or SSE event).

    ``event`` is the event name (``"chats"``, ``"chat_messages"``; ``None`` for plain
    updates), ``data`` the JSON payload as builtins, and ``fields`` the names of the fields a
    partial update carries (``None`` for a full object).
    """

    event: str | None = None
    data: Any = None
    fields: list[str] | None = None


_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode(obj: Any) -> bytes:
    """Encode a wire struct (or any builtins) to JSON bytes."""
    return _ENCODER.encode(obj)


def decode(data: bytes | str, type: type[T] = Any) -> T:  # type: ignore[assignment]
    """Decode JSON bytes into ``type`` (builtins when omitted).

    Raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` naming the bad field path.
    """
    decoder = _DECODERS.get(type)
    if decoder is None:
        decoder = _DECODERS[type] = msgspec.json.Decoder(type)
    result: T = decoder.decode(data)
    return result

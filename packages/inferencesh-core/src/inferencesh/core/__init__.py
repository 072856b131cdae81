"""inferencesh-core: the typed client for the inference.sh task, file and session API.

Names are loaded on first use (PEP 562), so ``import inferencesh.core`` is cheap and the
wire types (``inferencesh.core.types``) can be used without loading the HTTP stack.

Example:
    The client reads ``INFERENCE_API_KEY`` (and ``INFERENCE_BASE_URL``) when not given them.
    A task's ``status`` is a ``TaskStatus``: it prints as its name and equals its number.

    >>> from inferencesh.core import TaskStatus, inference
    >>> client = inference()
    >>> result = client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A cat"}})
    >>> print(result["status"], int(result.status), result.status == TaskStatus.COMPLETED)
    completed 10 True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from inferencesh.core._version import __version__

_MODULES: dict[str, list[str]] = {
    "inferencesh.core.client": ["AsyncInference", "Inference", "async_inference", "inference"],
    "inferencesh.core.http": ["AsyncHTTPClient", "HTTPClient"],
    "inferencesh.core.tasks": ["AsyncTaskStream", "TaskStream"],
    "inferencesh.core.sessions": ["AsyncSessionHandle", "SessionHandle"],
    "inferencesh.core.files": ["UploadFileOptions"],
    "inferencesh.core.resources": [
        "AgentsAPI",
        "AsyncAgentsAPI",
        "AsyncFilesAPI",
        "AsyncSessionsAPI",
        "AsyncTasksAPI",
        "FilesAPI",
        "SessionsAPI",
        "TasksAPI",
    ],
    "inferencesh.core.status": [
        "ChatMessageStatus",
        "is_message_ready",
        "is_terminal_status",
        "parse_status",
    ],
    "inferencesh.core.ref": ["Ref"],
    "inferencesh.core.ndjson": [
        "StreamableMessage",
        "iter_ndjson",
        "stream_get",
        "stream_post",
        "streamable",
        "streamable_raw",
    ],
    "inferencesh.core.progress": ["ProgressBar", "ProgressCallback"],
    "inferencesh.core.deltas": ["DeltaEvent", "TaskDelta"],
    "inferencesh.core.live": ["AsyncLiveSession", "LiveEnd", "LiveState", "LiveUpdate"],
    "inferencesh.core.live_schema": [
        "LiveField",
        "MediaType",
        "PCMFormat",
        "alternative_label",
        "alternative_tag",
        "binary_live_field",
        "parse_media_type",
        "pcm_format",
        "split_live_schema",
    ],
    "inferencesh.core.sockets": ["AsyncSocketsAPI", "SocketsAPI"],
    "inferencesh.core.types": [
        "TERMINAL_STATUSES",
        "CancelTaskRequest",
        "DeletedTaskFiles",
        "FileCreateRequest",
        "PartialFile",
        "RequirementError",
        "ResourceStatus",
        "SetupAction",
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
        "TaskLog",
        "TaskLogType",
        "TaskStatus",
        "UploadedFile",
        "decode",
        "encode",
    ],
    "inferencesh.core.errors": [
        "APIConnectionError",
        "APIError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "ConflictError",
        "InferenceError",
        "MalformedResponseError",
        "NotFoundError",
        "PermissionDeniedError",
        "RateLimitError",
        "RequirementsNotMetError",
        "RequirementsNotMetException",
        "ServerError",
        "SessionEndedError",
        "SessionError",
        "SessionExpiredError",
        "SessionNotFoundError",
        "TaskCancelledError",
        "TaskFailedError",
        "WorkerLostError",
    ],
}

_WHERE: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AgentsAPI",
    "AsyncAgentsAPI",
    "AsyncFilesAPI",
    "AsyncHTTPClient",
    "AsyncInference",
    "AsyncSessionHandle",
    "AsyncSessionsAPI",
    "AsyncTaskStream",
    "AsyncTasksAPI",
    "AuthenticationError",
    "BadRequestError",
    "CancelTaskRequest",
    "ChatMessageStatus",
    "ConflictError",
    "DeletedTaskFiles",
    "DeltaEvent",
    "FileCreateRequest",
    "FilesAPI",
    "HTTPClient",
    "Inference",
    "InferenceError",
    "MalformedResponseError",
    "NotFoundError",
    "PartialFile",
    "PermissionDeniedError",
    "ProgressBar",
    "ProgressCallback",
    "RateLimitError",
    "Ref",
    "RequirementError",
    "RequirementsNotMetError",
    "RequirementsNotMetException",
    "ResourceStatus",
    "RunRequest",
    "SetupAction",
    "ServerError",
    "SessionEndedError",
    "SessionError",
    "SessionExpiredError",
    "SessionHandle",
    "SessionInfo",
    "SessionNotFoundError",
    "SessionsAPI",
    "SkippedTaskFile",
    "StreamEvent",
    "StreamableMessage",
    "TERMINAL_STATUSES",
    "Task",
    "TaskDelta",
    "TaskCancelledError",
    "TaskEvent",
    "TaskFailedError",
    "TaskFile",
    "TaskFileRole",
    "TaskLog",
    "TaskLogType",
    "TaskStatus",
    "TaskStream",
    "TasksAPI",
    "UploadFileOptions",
    "UploadedFile",
    "WorkerLostError",
    "__version__",
    "async_inference",
    "decode",
    "encode",
    "inference",
    "is_message_ready",
    "is_terminal_status",
    "iter_ndjson",
    "parse_status",
    "stream_get",
    "stream_post",
    "streamable",
    "streamable_raw",
    "AsyncLiveSession",
    "LiveEnd",
    "LiveState",
    "LiveUpdate",
    "LiveField",
    "MediaType",
    "PCMFormat",
    "alternative_label",
    "alternative_tag",
    "binary_live_field",
    "parse_media_type",
    "pcm_format",
    "split_live_schema",
    "AsyncSocketsAPI",
    "SocketsAPI",
    "SocketAccess",
    "SocketInfo",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'inferencesh.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:  # pragma: no cover - static view for type checkers and IDEs
    from inferencesh.core.client import AsyncInference, Inference, async_inference, inference
    from inferencesh.core.deltas import DeltaEvent, TaskDelta
    from inferencesh.core.errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InferenceError,
        MalformedResponseError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RequirementsNotMetError,
        RequirementsNotMetException,
        ServerError,
        SessionEndedError,
        SessionError,
        SessionExpiredError,
        SessionNotFoundError,
        TaskCancelledError,
        TaskFailedError,
        WorkerLostError,
    )
    from inferencesh.core.files import UploadFileOptions
    from inferencesh.core.http import AsyncHTTPClient, HTTPClient
    from inferencesh.core.live import AsyncLiveSession, LiveEnd, LiveState, LiveUpdate
    from inferencesh.core.live_schema import (
        LiveField,
        MediaType,
        PCMFormat,
        alternative_label,
        alternative_tag,
        binary_live_field,
        parse_media_type,
        pcm_format,
        split_live_schema,
    )
    from inferencesh.core.ndjson import (
        StreamableMessage,
        iter_ndjson,
        stream_get,
        stream_post,
        streamable,
        streamable_raw,
    )
    from inferencesh.core.progress import ProgressBar, ProgressCallback
    from inferencesh.core.ref import Ref
    from inferencesh.core.resources import (
        AgentsAPI,
        AsyncAgentsAPI,
        AsyncFilesAPI,
        AsyncSessionsAPI,
        AsyncTasksAPI,
        FilesAPI,
        SessionsAPI,
        TasksAPI,
    )
    from inferencesh.core.sessions import AsyncSessionHandle, SessionHandle
    from inferencesh.core.sockets import AsyncSocketsAPI, SocketsAPI
    from inferencesh.core.status import (
        ChatMessageStatus,
        is_message_ready,
        is_terminal_status,
        parse_status,
    )
    from inferencesh.core.tasks import AsyncTaskStream, TaskStream
    from inferencesh.core.types import (
        TERMINAL_STATUSES,
        CancelTaskRequest,
        DeletedTaskFiles,
        FileCreateRequest,
        PartialFile,
        RequirementError,
        ResourceStatus,
        RunRequest,
        SessionInfo,
        SetupAction,
        SkippedTaskFile,
        SocketAccess,
        SocketInfo,
        StreamEvent,
        Task,
        TaskEvent,
        TaskFile,
        TaskFileRole,
        TaskLog,
        TaskLogType,
        TaskStatus,
        UploadedFile,
        decode,
        encode,
    )

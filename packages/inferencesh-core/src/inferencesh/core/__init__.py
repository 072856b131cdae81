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
    "inferencesh.core.progress": ["ProgressBar", "ProgressCallback"],
    "inferencesh.core.deltas": ["DeltaEvent", "TaskDelta"],
    "inferencesh.core.types": [
        "TERMINAL_STATUSES",
        "CancelTaskRequest",
        "DeletedTaskFiles",
        "FileCreateRequest",
        "PartialFile",
        "RequirementError",
        "ResourceStatus",
        "RunRequest",
        "SessionInfo",
        "SkippedTaskFile",
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
        "parse_status",
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
    "AsyncHTTPClient",
    "AsyncInference",
    "AsyncSessionHandle",
    "AsyncTaskStream",
    "AuthenticationError",
    "BadRequestError",
    "CancelTaskRequest",
    "ConflictError",
    "DeletedTaskFiles",
    "DeltaEvent",
    "FileCreateRequest",
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
    "RequirementError",
    "RequirementsNotMetError",
    "RequirementsNotMetException",
    "ResourceStatus",
    "RunRequest",
    "ServerError",
    "SessionEndedError",
    "SessionError",
    "SessionExpiredError",
    "SessionHandle",
    "SessionInfo",
    "SessionNotFoundError",
    "SkippedTaskFile",
    "StreamEvent",
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
    "UploadFileOptions",
    "UploadedFile",
    "WorkerLostError",
    "__version__",
    "async_inference",
    "decode",
    "encode",
    "inference",
    "parse_status",
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
    from inferencesh.core.progress import ProgressBar, ProgressCallback
    from inferencesh.core.sessions import AsyncSessionHandle, SessionHandle
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
        SkippedTaskFile,
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
        parse_status,
    )

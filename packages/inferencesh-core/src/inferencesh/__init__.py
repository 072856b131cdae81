"""The inference.sh Python SDK.

This package is shared by four distributions that install separately:

* ``inferencesh-core`` (this file): the client for tasks, files and sessions.
* ``inferencesh-agents``: the agent chat client and the tool builder.
* ``inferencesh-apps``: ``BaseApp`` and friends for app authors, the runtime and the worker.
* ``inferencesh-platform``: the local platform (``inferencesh dev``).

The names below are re-exported lazily, so ``import inferencesh`` stays cheap and a name whose
distribution is missing raises an ``ImportError`` that says what to install.

Example:
    >>> import os
    >>> from inferencesh import inference
    >>> client = inference(api_key=os.environ["INFERENCE_API_KEY"])  # or api_key="inf_..."
    >>> result = client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A cat"}})
    >>> print(result["status"])
    completed
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any


def _with_siblings(path: list[str]) -> list[str]:
    """Sibling distributions install `inferencesh/agents`, `inferencesh/apps`, `inferencesh/models`
    and `inferencesh/platform` without an `__init__.py` of their own; this finds them on any
    `sys.path` entry, in any order. It is `pkgutil.extend_path` for plain directories, written
    out because importing `pkgutil` costs a tenth of the client's own import time."""
    path = list(path)
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        if not os.path.isabs(entry):  # relative entries as the import system's finders see them
            entry = os.path.join(os.getcwd(), entry) if entry not in ("", ".") else os.getcwd()
        portion = os.path.join(entry, __name__)
        if portion not in path and os.path.isdir(portion):
            path.append(portion)
    return path


__path__ = _with_siblings(__path__)

# The packages of the sibling distributions: importing one that is not installed names the
# distribution to install instead of a bare "No module named ...".
_SIBLINGS = {
    "inferencesh.agents": "inferencesh-agents",
    "inferencesh.apps": "inferencesh-apps",
    "inferencesh.models": "inferencesh-apps",
    "inferencesh.openai": "inferencesh-apps",
    "inferencesh.upstream": "inferencesh-apps",
    "inferencesh.images": "inferencesh-apps",
    "inferencesh.platform": "inferencesh-platform",
}


class _MissingSibling:
    """Last on ``sys.meta_path``: asked only when no other finder found the module. (A plain
    finder: ``importlib.abc`` would load ``importlib.resources``, a quarter of the import.)"""

    inferencesh_missing_sibling = True  # found again after a reload of this module

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        distribution = _SIBLINGS.get(fullname)
        if distribution is not None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: it is provided by the `{distribution}` "
                f"distribution, which is not installed. Install it with: pip install {distribution}",
                name=fullname,
            )


if not any(getattr(f, "inferencesh_missing_sibling", False) for f in sys.meta_path):
    sys.meta_path.append(_MissingSibling())

_CORE = ("inferencesh.core", "inferencesh-core")
_AGENTS = ("inferencesh.agents", "inferencesh-agents")
_APPS = ("inferencesh.apps", "inferencesh-apps")

# name -> (module that defines it, distribution that ships the module)
_EXPORTS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        [
            "__version__",
            "inference",
            "async_inference",
            "Inference",
            "AsyncInference",
            "UploadFileOptions",
            "TaskStatus",
            "TERMINAL_STATUSES",
            "Task",
            "UploadedFile",
            "SessionInfo",
            "InferenceError",
            "APIError",
            "BadRequestError",
            "ConflictError",
            "MalformedResponseError",
            "AuthenticationError",
            "PermissionDeniedError",
            "NotFoundError",
            "RateLimitError",
            "ServerError",
            "APIConnectionError",
            "APITimeoutError",
            "RequirementsNotMetError",
            "RequirementsNotMetException",
            "TaskFailedError",
            "TaskCancelledError",
            "SessionError",
            "SessionNotFoundError",
            "SessionExpiredError",
            "SessionEndedError",
            "WorkerLostError",
            # -- 0.36 client names (slice client-compat) --
            # -- requirement descriptions, 0.36 names (slice apps-compat) --
            "RequirementError",
            "SetupAction",
            "TasksAPI",
            "AsyncTasksAPI",
            "FilesAPI",
            "AsyncFilesAPI",
            "SessionsAPI",
            "AsyncSessionsAPI",
            "SessionHandle",
            "AsyncSessionHandle",
            "AgentsAPI",
            "AsyncAgentsAPI",
            "Ref",
            "parse_status",
            "is_terminal_status",
            "is_message_ready",
            "ChatMessageStatus",
            "streamable",
            "streamable_raw",
            "StreamableMessage",
            "iter_ndjson",
            "stream_get",
            "stream_post",
            # -- deltas, client side (slice deltas) --
            "TaskDelta",
            # -- live caller side (slice live) --
            "AsyncLiveSession",
            "LiveEnd",
            "LiveState",
            "LiveField",
            "LiveUpdate",
            "MediaType",
            "PCMFormat",
            "split_live_schema",
            "binary_live_field",
            "alternative_label",
            "alternative_tag",
            "parse_media_type",
            "pcm_format",
            "SocketsAPI",
            "AsyncSocketsAPI",
        ],
        _CORE,
    ),
    **dict.fromkeys(
        [
            "Agent",
            "AsyncAgent",
            "tool",
            "app_tool",
            "agent_tool",
            "webhook_tool",
            "http_tool",
            "call_tool",
            "internal_tools",
            "string",
            "number",
            "integer",
            "boolean",
            "enum_of",
            "array",
            "obj",
            "optional",
            # -- 0.36 agent names, deltas, call tools (slice agents-stream) --
            "ToolCallInfo",
            "AgentDelta",
            "PendingApproval",
            "pending_approvals",
            "ClientTool",
            "ClientToolHandler",
            "AgentConfig",
            "AgentTool",
            "AgentToolDTO",
            "InternalToolsConfig",
            "ChatDTO",
            "ChatMessageDTO",
            "ChatData",
            "ChatMessageContent",
            "LLMContextMessage",
            "ToolCall",
            "ToolCallFunction",
            "ToolInvocationDTO",
            "ToolResultRequest",
            "Tool",
            "ToolFunction",
            "ToolParameters",
            "ChatStatus",
            "ChatMessageRole",
            "ChatMessageContentType",
            "ToolType",
            "ToolInvocationStatus",
            # -- MCP tools and lifecycle hooks (slice agents-hooks) --
            "mcp_tool",
            "lifecycle_hook",
            "learning_hooks",
            "LifecycleHookBuilder",
            "LifecycleHookConfig",
            "LifecycleHookPayload",
            "LifecycleHookResponse",
            "ContextInjection",
            "HookEvent",
            "HookHandlerType",
            "HookDecision",
            "ToolCallEventData",
            "ToolResultEventData",
            "ErrorEventData",
        ],
        _AGENTS,
    ),
    **dict.fromkeys(
        [
            "BaseApp",
            "BaseAppInput",
            "BaseAppOutput",
            "BaseAppSetup",
            "File",
            "Metadata",
            "OutputMeta",
            "TextMeta",
            "ImageMeta",
            "VideoMeta",
            "AudioMeta",
            "RawMeta",
            "LLMInput",
            "LLMOutput",
            "ContextMessage",
            "ContextMessageRole",
            "build_messages",
            # -- 0.36 app-authoring names (slice apps-compat) --
            "function",
            "ToolAnnotations",
            "CredentialRequirement",
            "Message",
            "stream_generate",
            "timing_context",
            "MetaItem",
            "MetaItemType",
            "VideoResolution",
            "probe_video",
            "StorageDir",
            "download",
            # -- deltas (slice deltas) --
            "StreamDelta",
            "DeltaAccumulator",
            # -- live app side (slice live) --
            "Socket",
            "Live",
            "Stream",
            "PCM16",
            "Update",
            "media",
            "CLEAR_KEY",
            "ERROR_KEY",
        ],
        _APPS,
    ),
}

__all__ = sorted(_EXPORTS)


def _missing(distribution: str, name: str, owner: str = "inferencesh") -> ImportError:
    return ImportError(
        f"`{owner}.{name}` is provided by the `{distribution}` distribution, which is not "
        f"installed. Install it with: pip install {distribution}"
    )


def _reexport(owner: str, name: str, module_name: str, attribute: str, distribution: str) -> Any:
    """``attribute`` of ``module_name``, looked up for the lazy name ``owner.name``: a sibling
    distribution that is not installed raises an ``ImportError`` saying what to install. The
    0.36 import paths (``inferencesh.types``, ...) resolve their names through it too."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing sibling package is the user's install problem; a missing dependency
        # inside an installed distribution must surface as itself.
        if exc.name is not None and module_name.startswith(exc.name):
            raise _missing(distribution, name, owner) from exc
        raise
    return getattr(module, attribute)


def __getattr__(name: str) -> Any:
    try:
        module_name, distribution = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'inferencesh' has no attribute {name!r}") from None
    value = _reexport(__name__, name, module_name, name, distribution)
    globals()[name] = value
    return value


class _Package(ModuleType):
    """The package's module type: the import system binds each loaded submodule on its package,
    and ``inferencesh.streamable`` is both a 0.36 module and the function re-exported here. As in
    0.36, the re-exported name keeps meaning the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - static re-exports for type checkers and IDEs
    from inferencesh.agents import (
        Agent,
        AgentConfig,
        AgentDelta,
        AgentTool,
        AgentToolDTO,
        AsyncAgent,
        ChatData,
        ChatDTO,
        ChatMessageContent,
        ChatMessageContentType,
        ChatMessageDTO,
        ChatMessageRole,
        ChatStatus,
        ClientTool,
        ClientToolHandler,
        InternalToolsConfig,
        LLMContextMessage,
        PendingApproval,
        Tool,
        ToolCall,
        ToolCallFunction,
        ToolCallInfo,
        ToolFunction,
        ToolInvocationDTO,
        ToolInvocationStatus,
        ToolParameters,
        ToolResultRequest,
        ToolType,
        agent_tool,
        app_tool,
        array,
        boolean,
        call_tool,
        enum_of,
        http_tool,
        integer,
        internal_tools,
        number,
        obj,
        optional,
        pending_approvals,
        string,
        tool,
        webhook_tool,
    )
    from inferencesh.agents.hooks import (
        ContextInjection,
        ErrorEventData,
        HookDecision,
        HookEvent,
        HookHandlerType,
        LifecycleHookBuilder,
        LifecycleHookConfig,
        LifecycleHookPayload,
        LifecycleHookResponse,
        ToolCallEventData,
        ToolResultEventData,
        learning_hooks,
        lifecycle_hook,
    )
    from inferencesh.agents.mcp_tools import mcp_tool
    from inferencesh.apps import (
        CLEAR_KEY,
        ERROR_KEY,
        PCM16,
        AudioMeta,
        BaseApp,
        BaseAppInput,
        BaseAppOutput,
        BaseAppSetup,
        ContextMessage,
        ContextMessageRole,
        CredentialRequirement,
        File,
        ImageMeta,
        Live,
        LLMInput,
        LLMOutput,
        Message,
        Metadata,
        MetaItem,
        MetaItemType,
        OutputMeta,
        RawMeta,
        Socket,
        StorageDir,
        Stream,
        TextMeta,
        ToolAnnotations,
        Update,
        VideoMeta,
        VideoResolution,
        build_messages,
        download,
        function,
        media,
        probe_video,
        stream_generate,
        timing_context,
    )
    from inferencesh.core import (
        TERMINAL_STATUSES,
        AgentsAPI,
        APIConnectionError,
        APIError,
        APITimeoutError,
        AsyncAgentsAPI,
        AsyncFilesAPI,
        AsyncInference,
        AsyncLiveSession,
        AsyncSessionHandle,
        AsyncSessionsAPI,
        AsyncSocketsAPI,
        AsyncTasksAPI,
        AuthenticationError,
        BadRequestError,
        ChatMessageStatus,
        ConflictError,
        FilesAPI,
        Inference,
        InferenceError,
        LiveEnd,
        LiveField,
        LiveState,
        LiveUpdate,
        MalformedResponseError,
        MediaType,
        NotFoundError,
        PCMFormat,
        PermissionDeniedError,
        RateLimitError,
        Ref,
        RequirementError,
        RequirementsNotMetError,
        RequirementsNotMetException,
        ServerError,
        SessionEndedError,
        SessionError,
        SessionExpiredError,
        SessionHandle,
        SessionInfo,
        SessionNotFoundError,
        SessionsAPI,
        SetupAction,
        SocketsAPI,
        StreamableMessage,
        Task,
        TaskCancelledError,
        TaskFailedError,
        TasksAPI,
        TaskStatus,
        UploadedFile,
        UploadFileOptions,
        WorkerLostError,
        __version__,
        alternative_label,
        alternative_tag,
        async_inference,
        binary_live_field,
        inference,
        is_message_ready,
        is_terminal_status,
        iter_ndjson,
        parse_media_type,
        parse_status,
        pcm_format,
        split_live_schema,
        stream_get,
        stream_post,
        streamable,
        streamable_raw,
    )
    from inferencesh.core.deltas import (
        TaskDelta,
    )
    from inferencesh.models.deltas import (
        DeltaAccumulator,
        StreamDelta,
    )

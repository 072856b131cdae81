"""inferencesh-apps: the authoring API, runtime, worker, local platform and CLI for apps.

App authors import from here (or from the top-level ``inferencesh``)::

    from inferencesh.apps import BaseApp, BaseAppInput, BaseAppOutput, File, Metadata

The LLM types (``LLMInput``, ``build_messages``, ...) and the storage helpers are importable from
here as well. Every name loads on first use, so importing the package (say for the CLI or the
worker) does not pay for pydantic until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from inferencesh.apps._version import __version__

# Name -> defining module, imported on first access (PEP 562). Besides the import time this saves,
# `inferencesh.models.llm` imports this package, so an eager import of it here would be circular.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        ["BaseApp", "BaseAppInput", "BaseAppOutput", "BaseAppSetup"], "inferencesh.apps.app"
    ),
    **dict.fromkeys(["File", "FileDownloadError", "resolve_files"], "inferencesh.apps.file"),
    "Metadata": "inferencesh.apps.metadata",
    **dict.fromkeys(
        ["CredentialRequirement", "ToolAnnotations", "function"], "inferencesh.apps.function_meta"
    ),
    **dict.fromkeys(
        [
            "AudioMeta",
            "FFprobeNotFoundError",
            "ImageMeta",
            "MetaItem",
            "MetaItemType",
            "OutputMeta",
            "RawMeta",
            "TextMeta",
            "VideoMeta",
            "VideoResolution",
            "probe_video",
        ],
        "inferencesh.apps.output_meta",
    ),
    **dict.fromkeys(
        [
            "ContextMessage",
            "ContextMessageRole",
            "LLMInput",
            "LLMOutput",
            "Message",
            "build_messages",
        ],
        "inferencesh.models.llm",
    ),
    **dict.fromkeys(["stream_generate", "timing_context"], "inferencesh.models.generation"),
    **dict.fromkeys(["StorageDir", "download", "adownload"], "inferencesh.apps.storage"),
    # token deltas (the delta channel)
    **dict.fromkeys(["DeltaAccumulator", "LLMDelta", "StreamDelta"], "inferencesh.models.deltas"),
    # Live stream functions (app side).
    **dict.fromkeys(
        ["CLEAR_KEY", "ERROR_KEY", "PCM16", "Live", "Stream", "Update", "media"],
        "inferencesh.apps.stream",
    ),
    "Socket": "inferencesh.apps.socket",
}

__all__ = [
    "CLEAR_KEY",
    "ERROR_KEY",
    "Live",
    "PCM16",
    "Socket",
    "Stream",
    "Update",
    "media",
    "AudioMeta",
    "BaseApp",
    "BaseAppInput",
    "BaseAppOutput",
    "BaseAppSetup",
    "ContextMessage",
    "ContextMessageRole",
    "DeltaAccumulator",
    "CredentialRequirement",
    "FFprobeNotFoundError",
    "File",
    "FileDownloadError",
    "ImageMeta",
    "LLMDelta",
    "LLMInput",
    "LLMOutput",
    "Message",
    "MetaItem",
    "MetaItemType",
    "Metadata",
    "OutputMeta",
    "RawMeta",
    "StorageDir",
    "StreamDelta",
    "TextMeta",
    "ToolAnnotations",
    "VideoMeta",
    "VideoResolution",
    "__version__",
    "adownload",
    "build_messages",
    "download",
    "function",
    "probe_video",
    "resolve_files",
    "stream_generate",
    "timing_context",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inferencesh.apps' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from inferencesh.apps.app import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup
    from inferencesh.apps.file import File, FileDownloadError, resolve_files
    from inferencesh.apps.function_meta import CredentialRequirement, ToolAnnotations, function
    from inferencesh.apps.metadata import Metadata
    from inferencesh.apps.output_meta import (
        AudioMeta,
        FFprobeNotFoundError,
        ImageMeta,
        MetaItem,
        MetaItemType,
        OutputMeta,
        RawMeta,
        TextMeta,
        VideoMeta,
        VideoResolution,
        probe_video,
    )
    from inferencesh.apps.socket import Socket
    from inferencesh.apps.storage import StorageDir, adownload, download
    from inferencesh.apps.stream import (
        CLEAR_KEY,
        ERROR_KEY,
        PCM16,
        Live,
        Stream,
        Update,
        media,
    )
    from inferencesh.models.generation import stream_generate, timing_context
    from inferencesh.models.llm import (
        ContextMessage,
        ContextMessageRole,
        LLMInput,
        LLMOutput,
        Message,
        build_messages,
    )

"""The app runtime: load an app directory, discover its functions, set it up and run it.

The worker (:mod:`inferencesh.apps.worker`) and ``inferencesh app test`` are built on it::

    from inferencesh.apps.runtime import AppRunner

    runner = AppRunner.from_dir("examples/apps/hello")
    result = await runner.run({"prompt": "hi"})
"""

from inferencesh.apps.runtime.events import (
    DeltaRunEvent,
    ErrorEvent,
    ErrorKind,
    LogEvent,
    LogType,
    OutputEvent,
    ResultEvent,
    RunEvent,
    StatusEvent,
    is_final,
)
from inferencesh.apps.runtime.functions import AppFunction, discover_functions
from inferencesh.apps.runtime.loader import AppLoadError, LoadedApp, load_app
from inferencesh.apps.runtime.runner import (
    AppRunner,
    BusyError,
    RunCancelled,
    RunHandle,
    RunnerStatus,
    RunResult,
    format_validation_error,
)
from inferencesh.apps.runtime.schemas import app_schemas

__all__ = [
    "AppFunction",
    "AppLoadError",
    "AppRunner",
    "BusyError",
    "DeltaRunEvent",
    "ErrorEvent",
    "ErrorKind",
    "LoadedApp",
    "LogEvent",
    "LogType",
    "OutputEvent",
    "ResultEvent",
    "RunCancelled",
    "RunEvent",
    "RunHandle",
    "RunResult",
    "RunnerStatus",
    "StatusEvent",
    "app_schemas",
    "discover_functions",
    "format_validation_error",
    "is_final",
    "load_app",
]

"""Running an app: setup once per distinct config, calls, partial outputs, logs and cancellation.

:class:`AppRunner` owns one ``App`` instance. Each call (:meth:`AppRunner.start`) runs in its own
asyncio task and produces :mod:`events <inferencesh.apps.runtime.events>`; the worker streams
them over HTTP and ``inferencesh app test`` prints them. One call runs at a time.

Async app methods run on the event loop; sync ones on the app's one thread
(:mod:`~inferencesh.apps.runtime.app_thread`). What a call returns or yields becomes its output
in :mod:`~inferencesh.apps.runtime.outputs`; how a failed run is reported is in
:mod:`~inferencesh.apps.runtime.errors`.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
from inferencesh.apps.file import resolve_files
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.runtime._capture import LogCollector, capturing
from inferencesh.apps.runtime.app_thread import AppThread, RunCancelled
from inferencesh.apps.runtime.errors import (
    RunFailed,
    error_event,
    format_traceback,
    format_validation_error,
)
from inferencesh.apps.runtime.events import (
    ErrorEvent,
    LogEvent,
    LogType,
    ResultEvent,
    RunEvent,
    StatusEvent,
    is_final,
)
from inferencesh.apps.runtime.functions import AppFunction, Binding, Role
from inferencesh.apps.runtime.live_socket import (
    NoCaller,
    SocketAccessError,
    call_with_socket,
    open_socket,
)
from inferencesh.apps.runtime.loader import AppLoadError, LoadedApp, load_app
from inferencesh.apps.runtime.outputs import dump_model, final_output
from pydantic import BaseModel, ValidationError

__all__ = [
    "AppRunner",
    "BusyError",
    "RunCancelled",
    "RunHandle",
    "RunResult",
    "RunnerStatus",
    "format_validation_error",
]

RunnerStatus = Literal["idle", "busy", "setup_failed"]


class BusyError(RuntimeError):
    """A call was started while another is in flight (the worker answers 409)."""


@dataclass
class RunResult:
    """Every event of a finished run, with shortcuts to the outcome."""

    events: list[RunEvent] = field(default_factory=list)

    @property
    def final(self) -> ResultEvent | ErrorEvent:
        """The last event: the result or the error."""
        last = self.events[-1]
        if last["type"] == "result" or last["type"] == "error":
            return last
        raise RuntimeError("the run has not finished")

    @property
    def ok(self) -> bool:
        """Whether the run produced a result."""
        return self.final["type"] == "result"

    @property
    def output(self) -> dict[str, Any] | None:
        """The final output, or ``None`` when the run failed."""
        final = self.final
        return final["output"] if final["type"] == "result" else None

    @property
    def error(self) -> ErrorEvent | None:
        """The error event, or ``None`` when the run succeeded."""
        final = self.final
        return final if final["type"] == "error" else None

    @property
    def partial_outputs(self) -> list[dict[str, Any]]:
        """The partial outputs, in order."""
        return [e["output"] for e in self.events if e["type"] == "output"]

    def logs(self, log_type: LogType | None = None) -> list[str]:
        """The log entries (optionally only ``setup`` or ``run`` ones), in order."""
        return [
            e["content"]
            for e in self.events
            if e["type"] == "log" and (log_type is None or e["log_type"] == log_type)
        ]


def _is_async(method: Any) -> bool:
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


class AppRunner:
    """Runs one loaded app: ``setup`` per distinct config, calls, cancellation and ``unload``.

    Use it from one event loop. ``start`` a call and iterate its events, or ``await run(...)``
    for the whole :class:`RunResult`::

        runner = AppRunner.from_dir("examples/apps/hello")
        result = await runner.run({"prompt": "hi"})
        print(result.output)
        await runner.unload()
    """

    def __init__(self, app: LoadedApp, *, cancel_grace: float = 10.0) -> None:
        self.app = app
        self.cancel_grace = cancel_grace
        try:
            self.instance: Any = app.app_class()
        except Exception as exc:
            raise AppLoadError(
                f"creating the app (`App()` in {app.directory / 'inference.py'}) failed: "
                f"{type(exc).__name__}: {exc}\n{format_traceback(exc)}"
            ) from exc
        self._setup_binding = app.setup_binding
        self._setup_key: str | None = None
        # The setup request the app was last found set up for: the same request again needs no
        # validation to know that.
        self._setup_request: _Request | None = None
        self._setup_config: dict[str, Any] | None = None
        self._setup_failed = False
        self._setup_started = False
        self._active: RunHandle | None = None
        self._thread = AppThread(f"inferencesh-app-{app.name}")
        self._unloaded = False

    @classmethod
    def from_dir(cls, directory: str | Path, **kwargs: Any) -> AppRunner:
        """Load the app in ``directory`` (:func:`~inferencesh.apps.runtime.load_app`) and wrap it."""
        return cls(load_app(directory), **kwargs)

    @property
    def busy(self) -> bool:
        """Whether a call is in flight (or a cancelled sync call has not returned yet)."""
        return self._active is not None or self._thread.busy

    @property
    def status(self) -> RunnerStatus:
        """``busy`` during a call, ``setup_failed`` after a failed setup, else ``idle``."""
        if self.busy:
            return "busy"
        return "setup_failed" if self._setup_failed else "idle"

    @property
    def setup_config(self) -> dict[str, Any] | None:
        """The setup config the app is currently set up with (``None`` before the first setup)."""
        return self._setup_config

    @property
    def active(self) -> RunHandle | None:
        """The call in flight, if any."""
        return self._active

    def start(
        self,
        input: Any,
        *,
        function: str | None = None,
        setup: dict[str, Any] | None = None,
        metadata: dict[str, Any] | Metadata | None = None,
        socket: Any = None,
    ) -> RunHandle:
        """Start a call and return its handle at once. Raises :class:`BusyError` when busy.

        ``setup`` ``None`` means the setup model's defaults. ``socket`` is a stream function's:
        the relay end to dial (``{id, url, token}``) or a ready socket object. Must be called
        on the event loop.
        """
        if self._unloaded:
            raise RuntimeError("the app was unloaded")
        if self.busy:
            raise BusyError("another run is in progress")
        handle = RunHandle(self, input, function or self.app.default_function, setup, metadata)
        handle._socket_access = socket
        self._active = handle
        handle._task = asyncio.get_running_loop().create_task(handle._execute())
        return handle

    async def run(
        self,
        input: Any,
        *,
        function: str | None = None,
        setup: dict[str, Any] | None = None,
        metadata: dict[str, Any] | Metadata | None = None,
        socket: Any = None,
    ) -> RunResult:
        """Run one call to the end and return every event."""
        handle = self.start(input, function=function, setup=setup, metadata=metadata, socket=socket)
        return await handle.result()

    async def cancel(self, task_id: str | None = None) -> bool:
        """Cancel the call in flight; ``False`` when there is none.

        With ``task_id``, only a call started with that ``metadata.task_id`` is cancelled, so a
        late cancel meant for an earlier call never stops the next one.
        """
        handle = self._active
        if handle is None or (task_id is not None and handle.task_id != task_id):
            return False
        return await handle.cancel()

    async def unload(self) -> None:
        """Cancel any call in flight, then call the app's ``unload`` (once).

        An app with a ``setup`` of its own is unloaded only if ``setup`` was called: ``unload``
        releases what ``setup`` loaded, as on the platform, where setup runs when a worker starts.
        """
        if self._unloaded:
            return
        self._unloaded = True
        handle = self._active
        if handle is not None:
            await handle.cancel()
            await handle.result()
        unload = getattr(self.instance, "unload", None)
        if self._setup_binding is not None and not self._setup_started:
            unload = None
        try:
            if callable(unload):
                await self._invoke(unload, [], {})
        finally:
            self._thread.stop()

    async def _invoke(self, method: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call an app method: async ones on the loop, sync ones on the app thread."""
        if _is_async(method):
            result = method(*args, **kwargs)
        else:
            result = await self._thread.call(method, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


class RunHandle:
    """One call in flight: iterate it for its events (once), ``cancel`` it, or await ``result``."""

    _task: asyncio.Task[None]
    _socket_access: Any = None

    def __init__(
        self,
        runner: AppRunner,
        input: Any,
        function: str,
        setup: dict[str, Any] | None,
        metadata: dict[str, Any] | Metadata | None,
    ) -> None:
        self._runner = runner
        self._input = input
        self.function = function
        self._setup = setup
        self._metadata = metadata
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._events: list[RunEvent] = []
        self._finished = asyncio.Event()
        self._done = False
        self._cancelling = False
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def done(self) -> bool:
        """Whether the final event has been produced."""
        return self._done

    @property
    def task_id(self) -> str | None:
        """The ``task_id`` of the call's metadata, if it was given one."""
        metadata = self._metadata
        value = metadata.get("task_id") if isinstance(metadata, dict) else None
        if isinstance(metadata, Metadata):
            value = metadata.task_id
        return value if isinstance(value, str) else None

    async def __aiter__(self) -> AsyncIterator[RunEvent]:
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[RunEvent]]:
        """The events in batches: each one holds every event available at that moment.

        Lets a server write several events at once. The last batch ends with the final event.
        Leaving early (a reader that goes away) cancels the run.
        """
        try:
            while True:
                batch = [await self._queue.get()]
                while not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                yield batch
                if is_final(batch[-1]):
                    return
        finally:
            if not self._done:
                # Not awaited here, because the reader may itself be being cancelled.
                task = self._loop.create_task(self.cancel())
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def result(self) -> RunResult:
        """Wait for the end of the run and return all its events."""
        await self._finished.wait()
        return RunResult(list(self._events))

    async def cancel(self) -> bool:
        """Ask the app to stop (its ``on_cancel``, then an interrupt); ``False`` if already over.

        The run ends with an error event of kind ``cancelled``.
        """
        if self._done or self._cancelling:
            return not self._done
        self._cancelling = True
        on_cancel = getattr(self._runner.instance, "on_cancel", None)
        try:
            if callable(on_cancel):
                collector = self._collector("run")
                try:
                    with capturing(collector):
                        failure = await asyncio.wait_for(
                            _call_hook(on_cancel), self._runner.cancel_grace
                        )
                except asyncio.TimeoutError as exc:  # not the builtin before 3.11
                    failure = exc
                if failure is not None:
                    collector.line(f"on_cancel failed: {type(failure).__name__}: {failure}")
        finally:
            # Whatever the hook did (even if this caller is itself cancelled), the run stops.
            if not self._done:
                self._task.cancel()
        return True

    # -- the run ---------------------------------------------------------------------------

    def _emit(self, event: RunEvent) -> None:
        """Queue an event; safe to call from any thread."""
        if _on_loop(self._loop):
            self._put(event)
        else:
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: RunEvent) -> None:
        if self._done:
            return
        self._events.append(event)
        self._queue.put_nowait(event)

    def _collector(self, log_type: LogType) -> LogCollector:
        def emit(text: str) -> None:
            self._emit(LogEvent(type="log", log_type=log_type, content=text))

        return LogCollector(emit)

    async def _execute(self) -> None:
        final: ResultEvent | ErrorEvent
        try:
            final = await self._phases()
        except RunFailed as failed:
            final = failed.event
        except (asyncio.CancelledError, RunCancelled):
            final = error_event("cancelled", "the run was cancelled")
        except BaseException as exc:  # the stream must end even on a runtime bug
            final = error_event("app", f"internal runtime error: {type(exc).__name__}: {exc}", exc)
            if isinstance(exc, KeyboardInterrupt):
                self._finish(final)
                raise
        if final["type"] == "error" and final["kind"] == "cancelled":
            # A cancelled sync call may still be unwinding; stay busy until it returns.
            await self._runner._thread.wait_idle(self._runner.cancel_grace)
        self._finish(final)

    def _finish(self, final: ResultEvent | ErrorEvent) -> None:
        self._put(final)
        self._done = True
        self._runner._active = None
        self._finished.set()

    async def _phases(self) -> ResultEvent:
        runner = self._runner
        app = runner.app
        fn = app.functions.get(self.function)
        if fn is None:
            raise RunFailed(
                error_event(
                    "not_found",
                    f"function {self.function!r} not found; the app has: {', '.join(app.functions)}",
                )
            )
        setup = self._setup_needed()
        input_value = _validate(fn.input_model, self._input, "input")
        if setup is not None:
            await self._setup_phase(*setup)
        await _resolve(input_value, "input")
        self._emit(StatusEvent(type="status", status="running"))
        return await self._call_phase(fn, input_value)

    def _setup_needed(self) -> tuple[Any, dict[str, Any], str, _Request | None] | None:
        """What a setup phase needs (config, its dump, its key, the request), or ``None`` when
        the app is set up with this config already. Raises when the config is not valid."""
        runner = self._runner
        raw = self._setup or {}
        request = _request(raw, runner._setup_request)
        if request is runner._setup_request and request is not None:
            return None
        config = _validate(runner.app.setup_model, raw, "setup")
        config_dump = dump_model(config) if isinstance(config, BaseModel) else dict(config)
        key = json.dumps(config_dump, sort_keys=True, default=str)
        if key != runner._setup_key:
            return config, config_dump, key, request
        runner._setup_request = request
        return None

    async def _setup_phase(
        self, config: Any, config_dump: dict[str, Any], key: str, request: _Request | None
    ) -> None:
        runner = self._runner
        binding = runner._setup_binding
        runner._setup_key = None
        runner._setup_request = None
        runner._setup_config = None
        if binding is not None:
            self._emit(StatusEvent(type="status", status="setting_up"))
            await _resolve(config, "setup")
            collector = self._collector("setup")
            try:
                with capturing(collector, fallback=True):
                    args, kwargs = self._arguments(binding, config, collector)
                    runner._setup_started = True
                    await runner._invoke(runner.instance.setup, args, kwargs)
            except (asyncio.CancelledError, RunCancelled):
                raise
            except BaseException as exc:  # even KeyboardInterrupt: app code raised it
                runner._setup_failed = True
                collector.line(format_traceback(exc))
                raise RunFailed(
                    error_event("setup", f"setup failed: {type(exc).__name__}: {exc}", exc)
                ) from exc
        runner._setup_key = key
        runner._setup_request = request
        runner._setup_config = config_dump
        runner._setup_failed = False

    async def _call_phase(self, fn: AppFunction, input_value: Any) -> ResultEvent:
        runner = self._runner
        collector = self._collector("run")
        socket = None
        try:
            if fn.kind == "stream":
                socket = await open_socket(self._socket_access, {"task_id": self.task_id})
            with capturing(collector, fallback=True):
                method = getattr(runner.instance, fn.name)
                args, kwargs = self._arguments(fn.binding, input_value, collector, socket)
                output = await call_with_socket(socket, self._output(fn, method, args, kwargs))
        except (SocketAccessError, NoCaller) as exc:
            raise RunFailed(error_event("app", str(exc))) from exc
        except (asyncio.CancelledError, RunCancelled):
            raise
        except BaseException as exc:
            # `sys.exit()`, KeyboardInterrupt, ... raised by app code fail the call only: the
            # worker keeps serving.
            collector.line(format_traceback(exc))
            raise RunFailed(error_event("app", f"{type(exc).__name__}: {exc}", exc)) from exc
        finally:
            if socket is not None and hasattr(socket, "close"):
                await socket.close()  # the function returned: the stream ends
        return ResultEvent(type="result", output=output)

    async def _output(
        self, fn: AppFunction, method: Any, args: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        runner = self._runner
        result = await runner._invoke(method, args, kwargs)
        return await final_output(result, fn, self._emit, runner._thread)

    def _arguments(
        self, binding: Binding, primary: Any, collector: LogCollector, socket: Any = None
    ) -> tuple[list[Any], dict[str, Any]]:
        values: dict[Role, Any] = {"input": primary, "config": primary, "socket": socket}
        if "metadata" in binding.roles:  # made only for a method that takes it
            metadata = _metadata(self._metadata)
            metadata.set_sink(collector.line)
            values["metadata"] = metadata
        return binding.arguments(values)


# -- helpers --------------------------------------------------------------------------------


async def _call_hook(hook: Callable[[], Any]) -> BaseException | None:
    """Run an app hook and return what it raised, even a ``SystemExit`` or ``KeyboardInterrupt``:
    raised out of a task, those would stop the event loop."""
    try:
        if _is_async(hook):
            await hook()
        else:
            # Not on the app thread: it is busy with the call being cancelled.
            await asyncio.to_thread(hook)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - handed back to be logged
        return exc
    return None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _metadata(value: dict[str, Any] | Metadata | None) -> Metadata:
    if isinstance(value, Metadata):
        return value.model_copy()
    data = dict(value or {})
    try:
        return Metadata.model_validate(data)
    except ValidationError:
        # Metadata is informational: keep odd values instead of failing the run.
        return Metadata.model_construct(**data)


_Request = tuple[bytes, Any]
"""A setup request as JSON, and a copy of it as given."""


def _request(value: Any, known: _Request | None) -> _Request | None:
    """``value`` as a :data:`_Request`: ``known`` itself when it is the same request, ``None``
    when it holds something JSON cannot say (never remembered, so validated every time)."""
    try:
        encoded = _encode(value)
        # The same JSON (which tells 1, 1.0 and true apart) and equal (which tells NaN and null
        # apart, as JSON does not).
        if known is not None and encoded == known[0] and bool(value == known[1]):
            return known
        return encoded, copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an odd value: validated every time instead
        return None


_encode = msgspec.json.Encoder().encode


def _validate(model: type[BaseModel] | None, value: Any, root: str) -> Any:
    if model is None:
        return value
    if not isinstance(value, dict):
        raise RunFailed(
            error_event(
                "validation", f"invalid {root}: expected a JSON object, got {_json_type(value)}"
            )
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise RunFailed(error_event("validation", format_validation_error(exc, root))) from exc


async def _resolve(value: Any, root: str) -> None:
    if not isinstance(value, BaseModel):
        return
    try:
        await resolve_files(value)
    except Exception as exc:
        raise RunFailed(error_event("validation", f"invalid {root}: {exc}")) from exc


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    names[float] = "a number"
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)

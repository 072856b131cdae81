"""Running an app: setup once per distinct config, calls, partial outputs, logs and cancellation.

:class:`AppRunner` owns one ``App`` instance. Each call (:meth:`AppRunner.start`) runs in its own
asyncio task and produces :mod:`events <inferencesh.apps.runtime.events>`; the worker streams
them over HTTP and ``inferencesh app test`` prints them. One call runs at a time.

Sync app methods run on one dedicated thread (the same one for ``setup`` and every call, so
thread-bound resources made in ``setup`` keep working) and never block the event loop. Async
methods run on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import inspect
import json
import os
import queue
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from inferencesh.apps.file import resolve_files
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.runtime._capture import LogCollector, capturing
from inferencesh.apps.runtime.events import (
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
from inferencesh.apps.runtime.functions import AppFunction, Role
from inferencesh.apps.runtime.loader import AppLoadError, LoadedApp, load_app
from pydantic import BaseModel, ValidationError

__all__ = ["AppRunner", "BusyError", "RunCancelled", "RunHandle", "RunResult", "RunnerStatus"]

RunnerStatus = Literal["idle", "busy", "setup_failed"]
_RUNTIME_DIR = str(Path(__file__).resolve().parent)


class BusyError(RuntimeError):
    """A call was started while another is in flight (the worker answers 409)."""


class RunCancelled(BaseException):
    """Raised inside a sync app method when its run is cancelled.

    A ``BaseException``, so ``except Exception`` in app code does not swallow it.
    """


class _RunFailed(Exception):
    """Ends a run early with a given error event."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(event["error"])
        self.event = event


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


class _AppThread:
    """The one thread sync app methods run on; a call on it can be interrupted."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._interruptible = False
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                job = self._jobs.get()
                if job is None:
                    return
                job()
            except BaseException:  # noqa: BLE001 - a late interrupt must not kill the thread
                continue

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()

        def settle(ok: bool, value: Any) -> None:
            if future.done():
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def job() -> None:
            with self._lock:
                self._interruptible = True
                self.busy = True
            ok, value = True, None
            try:
                try:
                    value = context.run(func, *args, **kwargs)
                finally:
                    with self._lock:
                        self._interruptible = False
                        # Drop an interrupt that arrived too late to hit the app's code.
                        _set_async_exc(threading.get_ident(), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                ok, value = False, exc
            # Idle before the result is delivered, so the next call never sees us busy.
            self.busy = False
            loop.call_soon_threadsafe(settle, ok, value)

        self._jobs.put(job)
        try:
            return await future
        except asyncio.CancelledError:
            self.interrupt()
            raise

    def post(self, func: Callable[[], Any]) -> None:
        """Run ``func`` on the thread after the current call, without waiting for it."""

        def job() -> None:
            # Cleanup after an already-failed call: its own error adds nothing.
            with contextlib.suppress(Exception):
                func()

        self._jobs.put(job)

    def interrupt(self) -> bool:
        """Raise :class:`RunCancelled` in the running app call, if any."""
        with self._lock:
            if not self._interruptible or self._thread.ident is None:
                return False
            _set_async_exc(self._thread.ident, RunCancelled)
            return True

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until the current call has returned; ``False`` if it is still running."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.busy:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def stop(self) -> None:
        self._jobs.put(None)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


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
                f"{type(exc).__name__}: {exc}\n{_format_traceback(exc)}"
            ) from exc
        self._setup_binding = app.setup_binding
        self._setup_key: str | None = None
        self._setup_config: dict[str, Any] | None = None
        self._setup_failed = False
        self._setup_started = False
        self._active: RunHandle | None = None
        self._thread = _AppThread(f"inferencesh-app-{app.name}")
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
    ) -> RunHandle:
        """Start a call and return its handle at once. Raises :class:`BusyError` when busy.

        ``setup`` ``None`` means the setup model's defaults. Must be called on the event loop.
        """
        if self._unloaded:
            raise RuntimeError("the app was unloaded")
        if self.busy:
            raise BusyError("another run is in progress")
        handle = RunHandle(self, input, function or self.app.default_function, setup, metadata)
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
    ) -> RunResult:
        """Run one call to the end and return every event."""
        handle = self.start(input, function=function, setup=setup, metadata=metadata)
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
        except _RunFailed as failed:
            final = failed.event
        except (asyncio.CancelledError, RunCancelled):
            final = _error("cancelled", "the run was cancelled")
        except BaseException as exc:  # the stream must end even on a runtime bug
            final = _error("app", f"internal runtime error: {type(exc).__name__}: {exc}", exc)
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
            raise _RunFailed(
                _error(
                    "not_found",
                    f"function {self.function!r} not found; the app has: {', '.join(app.functions)}",
                )
            )
        config = _validate(app.setup_model, self._setup or {}, "setup")
        config_dump = _dump_model(config) if isinstance(config, BaseModel) else dict(config)
        setup_key = json.dumps(config_dump, sort_keys=True, default=str)
        input_value = _validate(fn.input_model, self._input, "input")
        if setup_key != runner._setup_key:
            await self._setup_phase(config, config_dump, setup_key)
        await _resolve(input_value, "input")
        self._emit(StatusEvent(type="status", status="running"))
        return await self._call_phase(fn, input_value)

    async def _setup_phase(self, config: Any, config_dump: dict[str, Any], key: str) -> None:
        runner = self._runner
        binding = runner._setup_binding
        runner._setup_key = None
        runner._setup_config = None
        if binding is not None:
            self._emit(StatusEvent(type="status", status="setting_up"))
            await _resolve(config, "setup")
            collector = self._collector("setup")
            try:
                with capturing(collector, fallback=True):
                    args, kwargs = binding.arguments(self._values(config, collector))
                    runner._setup_started = True
                    await runner._invoke(runner.instance.setup, args, kwargs)
            except (asyncio.CancelledError, RunCancelled):
                raise
            except BaseException as exc:  # even KeyboardInterrupt: app code raised it
                runner._setup_failed = True
                collector.line(_format_traceback(exc))
                raise _RunFailed(
                    _error("setup", f"setup failed: {type(exc).__name__}: {exc}", exc)
                ) from exc
        runner._setup_key = key
        runner._setup_config = config_dump
        runner._setup_failed = False

    async def _call_phase(self, fn: AppFunction, input_value: Any) -> ResultEvent:
        runner = self._runner
        collector = self._collector("run")
        try:
            with capturing(collector, fallback=True):
                method = getattr(runner.instance, fn.name)
                args, kwargs = fn.binding.arguments(self._values(input_value, collector))
                result = await runner._invoke(method, args, kwargs)
                if hasattr(result, "__aiter__"):
                    output = await self._drain_async(result, fn)
                elif inspect.isgenerator(result):
                    output = await self._drain_sync(result, fn)
                else:
                    output = _dump_output(result, fn)
                _check_output_files(output, fn)
        except (asyncio.CancelledError, RunCancelled):
            raise
        except BaseException as exc:
            # `sys.exit()`, KeyboardInterrupt, ... raised by app code fail the call only: the
            # worker keeps serving.
            collector.line(_format_traceback(exc))
            raise _RunFailed(_error("app", f"{type(exc).__name__}: {exc}", exc)) from exc
        return ResultEvent(type="result", output=output)

    async def _drain_async(self, stream: Any, fn: AppFunction) -> dict[str, Any]:
        last: dict[str, Any] | None = None
        try:
            async for item in stream:
                if last is not None:
                    self._emit(OutputEvent(type="output", output=last))
                # Dump at once: apps often yield one object and keep mutating it.
                last = _dump_output(item, fn)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if last is None:
            raise RuntimeError(f"`{fn.name}` is a generator but yielded nothing")
        return last

    async def _drain_sync(self, stream: Any, fn: AppFunction) -> dict[str, Any]:
        sentinel = object()
        last: dict[str, Any] | None = None
        try:
            while True:
                item = await self._runner._thread.call(next, stream, sentinel)
                if item is sentinel:
                    break
                if last is not None:
                    self._emit(OutputEvent(type="output", output=last))
                last = _dump_output(item, fn)
        except BaseException:
            # Possibly cancelled, with the generator still on the thread: close it after.
            self._runner._thread.post(stream.close)
            raise
        await self._runner._thread.call(stream.close)
        if last is None:
            raise RuntimeError(f"`{fn.name}` is a generator but yielded nothing")
        return last

    def _values(self, primary: Any, collector: LogCollector) -> dict[Role, Any]:
        metadata = _metadata(self._metadata)
        metadata.set_sink(collector.line)
        return {"input": primary, "config": primary, "metadata": metadata}


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


def _validate(model: type[BaseModel] | None, value: Any, root: str) -> Any:
    if model is None:
        return value
    if not isinstance(value, dict):
        raise _RunFailed(
            _error("validation", f"invalid {root}: expected a JSON object, got {_json_type(value)}")
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _RunFailed(_error("validation", format_validation_error(exc, root))) from exc


async def _resolve(value: Any, root: str) -> None:
    if not isinstance(value, BaseModel):
        return
    try:
        await resolve_files(value)
    except Exception as exc:
        raise _RunFailed(_error("validation", f"invalid {root}: {exc}")) from exc


def format_validation_error(exc: ValidationError, root: str = "input") -> str:
    """One line naming each bad field by path and the reason, e.g.
    ``invalid input: count: Input should be a valid integer (got 'many')``."""
    problems = []
    for error in exc.errors(include_url=False):
        path = "".join(
            f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
            for i, part in enumerate(error.get("loc", ()))
        )
        reason = error.get("msg", "invalid value")
        if error.get("type") != "missing" and "input" in error:
            shown = json.dumps(error["input"], default=str)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            reason = f"{reason} (got {shown})"
        problems.append(f"{path or '(root)'}: {reason}")
    return f"invalid {root}: " + "; ".join(problems)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    names[float] = "a number"
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def _dump_model(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json", exclude_none=True)
    if not isinstance(data, dict):
        raise TypeError(f"{type(model).__name__} does not serialize to a JSON object")
    return data


def _dump_output(value: Any, fn: AppFunction) -> dict[str, Any]:
    model = fn.output_model
    if isinstance(value, BaseModel):
        return _dump_model(value)
    if isinstance(value, dict):
        if model is not None:
            return _dump_model(model.model_validate(value))
        # No model to serialize through: a JSON round trip checks it and snapshots it.
        try:
            copied: dict[str, Any] = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{fn.name}` returned a dict that is not JSON: {exc}") from None
        return copied
    if value is None:
        if model is None:
            return {}
        try:
            return _dump_model(model.model_validate({}))
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]) for e in exc.errors() if e.get("loc"))
            raise TypeError(
                f"`{fn.name}` returned None, but {model.__name__} requires: {missing}"
            ) from None
    expected = model.__name__ if model is not None else "a pydantic model or a dict"
    raise TypeError(f"`{fn.name}` returned {type(value).__name__}; expected {expected}")


def _check_output_files(output: Any, fn: AppFunction, where: str = "") -> None:
    """Fail now, naming the field, when the output holds a local file that is not there (say one
    written in a temporary directory the app already removed): it could not be uploaded."""
    if isinstance(output, dict):
        path = output.get("path")
        if isinstance(path, str) and os.path.isabs(path) and not output.get("uri"):
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"the app returned a file that does not exist (`{fn.name}`, output field "
                    f"'{where or '(root)'}'): {path}"
                )
            return
        for key, value in output.items():
            _check_output_files(value, fn, f"{where}.{key}" if where else str(key))
    elif isinstance(output, list):
        for index, item in enumerate(output):
            _check_output_files(item, fn, f"{where}[{index}]")


def _error(kind: ErrorKind, message: str, exc: BaseException | None = None) -> ErrorEvent:
    event = ErrorEvent(type="error", kind=kind, error=message)
    if exc is not None:
        event["traceback"] = _format_traceback(exc)
    return event


def _format_traceback(exc: BaseException) -> str:
    """The traceback from the app's code on: the runtime's own frames are noise to authors."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__)).rstrip()

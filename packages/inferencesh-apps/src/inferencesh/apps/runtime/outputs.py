"""What an app function returns or yields, turned into the run's output: JSON-ready dicts, one
partial output per yield but the last (which is the result), and a check that every local
file in it exists."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from typing import Any

from inferencesh.apps.runtime.app_thread import AppThread
from inferencesh.apps.runtime.deltas import DeltaGate
from inferencesh.apps.runtime.events import OutputEvent, RunEvent
from inferencesh.apps.runtime.functions import AppFunction
from pydantic import BaseModel, ValidationError

__all__ = ["dump_model", "final_output"]


async def final_output(
    result: Any, fn: AppFunction, emit: Callable[[RunEvent], None], thread: AppThread
) -> dict[str, Any]:
    """The output of a call that returned ``result``: a generator's yields but the last go to
    ``emit`` as partial outputs (a sync one is stepped on ``thread``), the last is the output."""
    # On the type, as `async for` looks it up (and a pydantic model's own lookup of a missing
    # attribute is slow).
    if hasattr(type(result), "__aiter__"):
        output = await _drain_async(result, fn, emit)
    elif inspect.isgenerator(result):
        output = await _drain_sync(result, fn, emit, thread)
    else:
        output = _dump_output(result, fn)
    _check_output_files(output, fn)
    return output


async def _drain_async(
    stream: Any, fn: AppFunction, emit: Callable[[RunEvent], None]
) -> dict[str, Any]:
    last: dict[str, Any] | None = None
    gate = _gate(fn, emit)
    try:
        async for item in stream:
            if gate.take(item):
                continue
            if last is not None:
                emit(OutputEvent(type="output", output=last))
            # Dump at once: apps often yield one object and keep mutating it.
            last = _dump_output(item, fn)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return _last(last, gate, fn)


async def _drain_sync(
    stream: Any, fn: AppFunction, emit: Callable[[RunEvent], None], thread: AppThread
) -> dict[str, Any]:
    sentinel = object()
    last: dict[str, Any] | None = None
    gate = _gate(fn, emit)
    try:
        while True:
            item = await thread.call(next, stream, sentinel)
            if item is sentinel:
                break
            if gate.take(item):
                continue
            if last is not None:
                emit(OutputEvent(type="output", output=last))
            last = _dump_output(item, fn)
    except BaseException:
        # Possibly cancelled, with the generator still on the thread: close it after.
        thread.post(stream.close)
        raise
    await thread.call(stream.close)
    return _last(last, gate, fn)


def _gate(fn: AppFunction, emit: Callable[[RunEvent], None]) -> DeltaGate:
    return DeltaGate(fn.name, fn.delta_types, fn.output_model, emit)


def _last(last: dict[str, Any] | None, gate: DeltaGate, fn: AppFunction) -> dict[str, Any]:
    """The output: the last whole value yielded, else what the deltas merge to."""
    if last is not None:
        return last
    merged = gate.merged()
    if merged is None:
        raise RuntimeError(f"`{fn.name}` is a generator but yielded nothing")
    return _dump_output(merged, fn)


def dump_model(model: BaseModel) -> dict[str, Any]:
    """``model`` as a JSON-ready dict (unset ``None`` fields left out)."""
    data = model.model_dump(mode="json", exclude_none=True)
    if not isinstance(data, dict):
        raise TypeError(f"{type(model).__name__} does not serialize to a JSON object")
    return data


def _dump_output(value: Any, fn: AppFunction) -> dict[str, Any]:
    model = fn.output_model
    if isinstance(value, BaseModel):
        return dump_model(value)
    if isinstance(value, dict):
        if model is not None:
            return dump_model(model.model_validate(value))
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
            return dump_model(model.model_validate({}))
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

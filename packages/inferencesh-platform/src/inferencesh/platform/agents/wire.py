"""The JSON the agent routes send, from the core wire structs the hub builds.

The hub turns its records into ``inferencesh.core`` structs (``Chat``, ``ChatMessage``,
``ToolInvocation``, ...); :func:`payload` makes them JSON-ready builtins for the response helpers
and the stream. It is ``msgspec.to_builtins`` with one difference: a field that is unset
(``None``) is left out in every struct, as the wire types promise. msgspec can only omit defaults
per struct, and the structs whose non-null defaults mean something on the wire (``type:
"text"``, ``order: 0``) keep all their defaults, nulls included; without this every message part
would carry ``"image": null, "file": null, ...``. Values inside free-form fields (``data``,
``output``, ``context``) are passed through untouched, nulls and all.
"""

from __future__ import annotations

from typing import Any

import msgspec
from inferencesh.platform.responses import ok
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["event", "payload", "respond"]

# Per struct class: (attribute, JSON name, default to compare with, or _KEEP to always send).
_KEEP: Any = object()
_Plan = list[tuple[str, str, Any]]
_PLANS: dict[type[msgspec.Struct], _Plan] = {}


def _plan(cls: type[msgspec.Struct]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        omit_defaults = cls.__struct_config__.omit_defaults
        plan = []
        for info in msgspec.structs.fields(cls):
            default: Any = _KEEP
            if omit_defaults:
                if info.default is not msgspec.NODEFAULT:
                    default = info.default
                elif info.default_factory is not msgspec.NODEFAULT:
                    default = info.default_factory()  # only ever compared with, never sent
            plan.append((info.name, info.encode_name, default))
        _PLANS[cls] = plan
    return plan


def payload(obj: Any) -> Any:
    """``obj`` (wire structs, lists of them, builtins) as JSON-ready builtins, unset fields left
    out."""
    if isinstance(obj, msgspec.Struct):
        out: dict[str, Any] = {}
        for name, key, default in _plan(type(obj)):
            value = getattr(obj, name)
            if value is None or (default is not _KEEP and value == default):
                continue
            out[key] = payload(value)
        return out
    if isinstance(obj, list):
        return [payload(item) for item in obj]
    return msgspec.to_builtins(obj)


def respond(request: Request, obj: Any, status: int = 200) -> Response:
    """A success response (in the envelope the request asked for) carrying ``obj``."""
    return ok(request, payload(obj), status)


def event(name: str, obj: Any) -> dict[str, Any]:
    """A stream event: ``{"event": name, "data": <obj as JSON>}``."""
    return {"event": name, "data": payload(obj)}

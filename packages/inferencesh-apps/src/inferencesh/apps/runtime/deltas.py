"""The delta channel of a run: the ``StreamDelta``\\ s a function yields, turned into ``delta``
events instead of partial outputs.

A function may stream deltas when its return annotation names a delta type
(``AsyncGenerator[LLMDelta | LLMOutput, None]``), when its output is an ``LLMOutput`` (the
type deltas build), or when it declares no output at all. A delta it may not send (a function
whose output is, say, an image, or a delta type other than the ones it names) and a delta that
cannot be sent (its merge rules are wrong, it is not JSON) are dropped with an error line in
the run's log: the run goes on, and the worker never fails for it.

A generator that yields only deltas gets the output they merge to as its result.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from typing import Any

from inferencesh.apps.runtime.events import DeltaRunEvent, LogEvent, RunEvent
from inferencesh.core.deltas import class_tags, merge_delta, tags_for

__all__ = ["DeltaGate", "delta_base", "delta_types_in", "is_delta_type"]

_DELTAS_MODULE = "inferencesh.models.deltas"
_MERGES = frozenset({None, "replace", "concat", "indexed", "nested"})
_CHECKED: dict[type, str | None] = {}  # delta class -> why its rules are wrong (None: fine)


def delta_base() -> type | None:
    """``StreamDelta``, if any code has imported it (an app cannot make a delta without)."""
    module = sys.modules.get(_DELTAS_MODULE)
    base = getattr(module, "StreamDelta", None)
    return base if isinstance(base, type) else None


def is_delta_type(value: Any) -> bool:
    """Whether ``value`` is a delta class (a subclass of ``StreamDelta``)."""
    base = delta_base()
    return base is not None and isinstance(value, type) and issubclass(value, base)


def delta_types_in(annotation: Any) -> tuple[type, ...]:
    """The delta classes a return annotation names (in unions and iterator arguments)."""
    if is_delta_type(annotation):
        return (annotation,)
    found: list[type] = []
    for arg in typing.get_args(annotation):
        for kind in delta_types_in(arg):
            if kind not in found:
                found.append(kind)
    return tuple(found)


def _rules_problem(kind: type) -> str | None:
    if kind not in _CHECKED:
        problem = None
        for name, rule in class_tags(kind).items():
            merge = rule.get("merge") if isinstance(rule, dict) else None
            if merge not in _MERGES:
                problem = f"the merge rule of {name!r} is {rule!r}"
                break
        _CHECKED[kind] = problem
    return _CHECKED[kind]


class DeltaGate:
    """Sorts one call's yields: deltas go out as ``delta`` events (or an error line in the
    log); anything else is left to the caller as an output."""

    def __init__(
        self,
        name: str,
        declared: tuple[type, ...],
        output_model: type | None,
        emit: Callable[[RunEvent], None],
    ) -> None:
        self._name = name
        self._declared = declared
        self._emit = emit
        self._base = delta_base()
        self._sent: list[dict[str, Any]] = []
        self._allowed = bool(declared) or output_model is None or _builds_llm(output_model)

    def take(self, item: Any) -> bool:
        """Handle ``item`` if it is a delta (``True``); ``False`` for any other value."""
        base = self._base or delta_base()
        if base is None or not isinstance(item, base):
            return False
        self._base = base
        problem = self._problem(item)
        if problem is not None:
            self._emit(LogEvent(type="log", log_type="run", content=f"delta dropped: {problem}"))
            return True
        try:
            data: dict[str, Any] = item.model_dump(  # type: ignore[attr-defined]
                mode="json", exclude_unset=True, exclude_none=True
            )
        except Exception as exc:  # noqa: BLE001 - an app's bad value; logged, the run goes on
            self._emit(
                LogEvent(
                    type="log",
                    log_type="run",
                    content=f"delta dropped: {type(item).__name__} is not JSON: {exc}",
                )
            )
            return True
        if data:
            self._sent.append(data)
            self._emit(DeltaRunEvent(type="delta", delta=data))
        return True

    def _problem(self, item: Any) -> str | None:
        kind = type(item)
        if not self._allowed:
            return (
                f"`{self._name}` yielded a {kind.__name__}, but declares no delta type "
                "(name one in its return annotation, e.g. AsyncGenerator[LLMDelta | LLMOutput, "
                "None])"
            )
        if self._declared and not isinstance(item, self._declared):
            names = ", ".join(k.__name__ for k in self._declared)
            return f"`{self._name}` yielded a {kind.__name__}, but declares only {names}"
        problem = _rules_problem(kind)
        if problem is not None:
            return f"{kind.__name__} has bad merge rules: {problem}"
        return None

    def merged(self) -> dict[str, Any] | None:
        """What the sent deltas merge to (``None`` if none was sent)."""
        if not self._sent:
            return None
        kinds = self._declared
        tags = _deep_tags(kinds[0]) if len(kinds) == 1 else tags_for(self._sent[0])
        state: dict[str, Any] = {}
        for data in self._sent:
            merge_delta(state, data, tags)
        return state


def _builds_llm(model: type) -> bool:
    llm = sys.modules.get("inferencesh.models.llm")
    output = getattr(llm, "LLMOutput", None)
    return isinstance(output, type) and isinstance(model, type) and issubclass(model, output)


def _deep_tags(kind: type) -> dict[str, Any]:
    """A delta class's merge rules with its children's (from the field types) under ``fields``,
    so its JSON form merges as the objects would."""
    rules: dict[str, Any] = {}
    fields = getattr(kind, "model_fields", {})
    for name, rule in class_tags(kind).items():
        merged = dict(rule) if isinstance(rule, dict) else {"merge": rule}
        info = fields.get(name)
        child = _child_model(info.annotation) if info is not None else None
        if child is not None and merged.get("merge") in ("indexed", "nested"):
            merged["fields"] = _deep_tags(child)
        rules[name] = merged
    return rules


def _child_model(annotation: Any) -> type | None:
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _child_model(arg)
        if found is not None:
            return found
    return None

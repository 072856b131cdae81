"""Token deltas: merging streamed increments back into the output they build, and their wire shapes.

An app that streams tokens yields deltas (``LLMDelta``, or a Chat Completions chunk) instead of
whole outputs; the platform relays each on the task stream as a ``DeltaEvent`` line::

    {"event": "delta", "data": {"delta": {"response": "Hel"}, "seq": 1}}

Each field of a delta type has a merge rule, the published SDK's ``_field_tags`` convention
(``{"field": {"merge": "concat"}}``): ``replace`` (the default), ``concat`` (strings joined),
``indexed`` (list items merged by their ``index``) and ``nested`` (an object merged field by
field, by the child's own rules). A delta object (pydantic) carries its rules on its class; a
plain dict is merged by the rules given with it, where a rule may name its children's rules
under ``"fields"``. Only the fields a delta sets count, and ``None`` values are skipped.

Example:
    >>> from inferencesh.core.deltas import LLM_DELTA_TAGS, DeltaAccumulator
    >>> acc = DeltaAccumulator(LLM_DELTA_TAGS)
    >>> for piece in ({"response": "Hel"}, {"response": "lo", "reasoning": "greet"}):
    ...     acc.apply(piece)
    >>> acc.to_dict()
    {'response': 'Hello', 'reasoning': 'greet'}
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import msgspec

from inferencesh.core._struct import WireEnum

__all__ = [
    "CHAT_COMPLETION_CHUNK_TAGS",
    "DELTA_EVENT",
    "LLM_DELTA_TAGS",
    "DeltaAccumulator",
    "DeltaEvent",
    "MalformedDelta",
    "MergeStrategy",
    "OutputGrowth",
    "TaskDelta",
    "class_tags",
    "merge_delta",
    "tags_for",
    "text_growth",
]

DELTA_EVENT = "delta"
"""The ``event`` name of a delta line on task (and chat) streams."""

REPLACE, CONCAT, INDEXED, NESTED = "replace", "concat", "indexed", "nested"


class MergeStrategy(WireEnum):
    """The merge rules as an enum (0.36's name); each member equals the rule's string, so
    ``{"merge": MergeStrategy.CONCAT}`` and ``{"merge": "concat"}`` are the same rule."""

    CONCAT = CONCAT
    REPLACE = REPLACE
    INDEXED = INDEXED
    NESTED = NESTED


_STRATEGIES = frozenset({REPLACE, CONCAT, INDEXED, NESTED})

Tags = Mapping[str, Any]


def _rule(merge: str, fields: Tags | None = None) -> dict[str, Any]:
    return {"merge": merge, "fields": dict(fields)} if fields else {"merge": merge}


_TOOL_CALL_TAGS = {
    "id": _rule(REPLACE),
    "type": _rule(REPLACE),
    "function": _rule(NESTED, {"name": _rule(REPLACE), "arguments": _rule(CONCAT)}),
}

LLM_DELTA_TAGS: dict[str, Any] = {
    "response": _rule(CONCAT),
    "reasoning": _rule(CONCAT),
    "tool_calls": _rule(INDEXED, _TOOL_CALL_TAGS),
    "usage": _rule(REPLACE),
}
"""The merge rules of an ``LLMDelta`` (text and reasoning joined, tool calls by index)."""

CHAT_COMPLETION_CHUNK_TAGS: dict[str, Any] = {
    "choices": _rule(
        INDEXED,
        {
            "delta": _rule(
                NESTED,
                {
                    "role": _rule(REPLACE),
                    "content": _rule(CONCAT),
                    "reasoning": _rule(CONCAT),
                    "refusal": _rule(CONCAT),
                    "tool_calls": _rule(INDEXED, _TOOL_CALL_TAGS),
                },
            ),
            "finish_reason": _rule(REPLACE),
        },
    ),
}
"""The merge rules of a Chat Completions chunk (``choices`` by index, their text joined)."""


class MalformedDelta(ValueError):
    """A delta that cannot be merged: a bad merge rule, or a value of the wrong shape."""


def class_tags(cls: type) -> dict[str, Any]:
    """The merge rules a delta class declares in ``_field_tags``, its bases' included (a
    subclass's rule for a field wins)."""
    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("_field_tags")
        default = getattr(own, "default", None)  # a pydantic-wrapped private attribute
        if isinstance(default, Mapping):
            own = default
        if isinstance(own, Mapping):
            merged.update(own)
    return merged


def _is_model(value: Any) -> bool:
    return hasattr(value, "model_dump") and hasattr(value, "model_fields_set")


def _set_items(delta: Any) -> list[tuple[str, Any, Any]]:
    """The fields a pydantic delta sets: (name, value as the object holds it, value as JSON)."""
    dumped = delta.model_dump(mode="json", exclude_unset=True)
    return [(name, getattr(delta, name, value), value) for name, value in dumped.items()]


def _plain(value: Any, unset: bool = True) -> Any:
    """``value`` as plain data: a model dumped (only set fields, or without ``None``s), a dict
    or list copied, so merged state never shares objects with a delta."""
    if _is_model(value):
        if unset:
            return value.model_dump(mode="json", exclude_unset=True)
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


def _strategy(rule: Any, name: str) -> tuple[str, Tags | None]:
    if rule is None:
        return REPLACE, None
    if not isinstance(rule, Mapping):
        raise MalformedDelta(f"the merge rule of {name!r} is not an object: {rule!r}")
    merge = rule.get("merge") or REPLACE
    if merge not in _STRATEGIES:
        raise MalformedDelta(f"unknown merge rule {merge!r} for {name!r}")
    fields = rule.get("fields")
    return merge, fields if isinstance(fields, Mapping) else None


def merge_delta(current: dict[str, Any], delta: Any, tags: Tags | None = None) -> dict[str, Any]:
    """Merge ``delta`` (a delta object, or a dict merged by ``tags``) into ``current``; returns
    ``current`` (0.36's parameter names). Raises :class:`MalformedDelta` when it cannot be merged.

    Example:
        >>> from inferencesh.core.deltas import LLM_DELTA_TAGS, merge_delta
        >>> state = {}
        >>> merge_delta(state, {"tool_calls": [{"index": 0, "id": "c1",
        ...     "function": {"name": "add", "arguments": '{"a"'}}]}, LLM_DELTA_TAGS)
        {'tool_calls': [{'index': 0, 'id': 'c1', 'function': {'name': 'add', 'arguments': '{"a"'}}]}
        >>> merge_delta(state, {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
        ...     LLM_DELTA_TAGS)["tool_calls"][0]["function"]["arguments"]
        '{"a": 1}'
    """
    if isinstance(delta, Mapping):
        items: list[tuple[str, Any, Any]] = [(k, v, v) for k, v in delta.items()]
        rules: Tags = tags or {}
    elif _is_model(delta):
        items = _set_items(delta)
        rules = class_tags(type(delta)) or tags or {}
    else:
        raise MalformedDelta(f"a delta must be an object, got {type(delta).__name__}")
    for name, raw, dumped in items:
        if dumped is None:
            continue
        merge, child = _strategy(rules.get(name), name)
        # Indexed and nested values recurse with the child objects' own rules; the others
        # are merged as JSON.
        value = raw if merge in (INDEXED, NESTED) else dumped
        current[name] = _merge_value(current.get(name), value, merge, child, name)
    return current


def _merge_value(current: Any, incoming: Any, merge: str, child: Tags | None, name: str) -> Any:
    if merge == CONCAT:
        if isinstance(current, str) and isinstance(incoming, str):
            return current + incoming
        return _plain(incoming)
    if merge == INDEXED:
        return _merge_indexed(current, incoming, child, name)
    if merge == NESTED:
        if not (isinstance(incoming, Mapping) or _is_model(incoming)):
            raise MalformedDelta(f"{name!r} must be an object, got {type(incoming).__name__}")
        base = {} if current is None else _plain(current, unset=False)
        if not isinstance(base, dict):
            base = {}
        return merge_delta(base, incoming, child)
    return _plain(incoming)


def _index(item: Any, name: str) -> int:
    value = item.get("index", 0) if isinstance(item, Mapping) else getattr(item, "index", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedDelta(f"the index of an item of {name!r} is not an integer: {value!r}")
    return value


def _merge_indexed(current: Any, incoming: Any, child: Tags | None, name: str) -> list[Any]:
    if not isinstance(incoming, (list, tuple)):
        raise MalformedDelta(f"{name!r} must be a list, got {type(incoming).__name__}")
    by_index: dict[int, Any] = {}
    for item in current if isinstance(current, list) else []:
        by_index[_index(item, name)] = _plain(item, unset=False)
    for item in incoming:
        if not (isinstance(item, Mapping) or _is_model(item)):
            raise MalformedDelta(f"an item of {name!r} is not an object: {item!r}")
        index = _index(item, name)
        existing = by_index.get(index)
        if existing is None:
            by_index[index] = _plain(dict(item) if isinstance(item, Mapping) else item)
        else:
            by_index[index] = merge_delta(existing, item, child)
    return [by_index[key] for key in sorted(by_index)]


def tags_for(delta: Mapping[str, Any]) -> dict[str, Any]:
    """The merge rules for a delta that arrived as plain JSON: a Chat Completions chunk's
    (it has ``choices``) or an ``LLMDelta``'s."""
    if "choices" in delta or delta.get("object") == "chat.completion.chunk":
        return CHAT_COMPLETION_CHUNK_TAGS
    return LLM_DELTA_TAGS


class DeltaAccumulator:
    """Merges deltas, in order, into the output they build.

    ``apply`` takes a delta object (merged by its class's rules), a :class:`TaskDelta` from
    a task stream (merged by its kind's rules) or a plain dict (merged by the ``tags`` given
    here; without them every field replaces). ``seed`` starts from an existing output.

    Example:
        >>> from inferencesh.core.deltas import DeltaAccumulator, TaskDelta
        >>> acc = DeltaAccumulator()
        >>> for seq, text in enumerate(["The ", "cat"], 1):
        ...     acc.apply(TaskDelta(task_id="t1", delta={"response": text}, seq=seq))
        >>> acc.to_dict()["response"]
        'The cat'
    """

    def __init__(self, tags: Tags | None = None) -> None:
        self._state: dict[str, Any] = {}
        self._tags = tags

    def seed(self, output: Mapping[str, Any]) -> None:
        """Start from ``output`` (its fields replace what was merged so far)."""
        self._state.update(output)

    def apply(self, delta: Any) -> None:
        """Merge one delta; raises :class:`MalformedDelta` (and merges nothing) if it cannot."""
        if isinstance(delta, TaskDelta):
            tags: Tags | None = tags_for(delta.delta)
            delta = delta.delta
        else:
            tags = self._tags
        # Merged on a copy: a delta that fails half-way leaves the state as it was.
        self._state = merge_delta(copy.deepcopy(self._state), delta, tags)

    def to_dict(self) -> dict[str, Any]:
        """The output merged so far (a shallow copy)."""
        return dict(self._state)


def text_growth(before: str, after: Any) -> str | None:
    """What ``after`` adds at the end of ``before``: ``None`` when it is not a longer string
    starting with ``before`` (unchanged, shorter, or rewritten, which no delta can express)."""
    if isinstance(after, str) and len(after) > len(before) and after.startswith(before):
        return after[len(before) :]
    return None


def _arguments(function: Mapping[str, Any]) -> str:
    raw = function.get("arguments")
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw)


class OutputGrowth:
    """Turns cumulative LLM outputs (each holding everything so far) into ``LLMDelta``
    increments: what each output adds at the end of what was given before.

    ``response`` and ``reasoning`` give their appended text; each tool call gives its first
    piece (``index``, ``id``, ``type``, ``function.name`` and the arguments so far) once, then
    its appended ``function.arguments``. A text that changes other than by growing at its end
    gives nothing, and what was given stays the base, so the increments merged (by
    :data:`LLM_DELTA_TAGS`) always equal a prefix of the output that was followed.

    Example:
        >>> from inferencesh.core.deltas import OutputGrowth
        >>> growth = OutputGrowth()
        >>> [growth.step({"response": text}) for text in ("Hel", "Hello", "Help", "Hello!")]
        [{'response': 'Hel'}, {'response': 'lo'}, {}, {'response': '!'}]
    """

    __slots__ = ("calls", "texts")

    def __init__(self) -> None:
        self.texts = {"response": "", "reasoning": ""}  # what was given
        self.calls: list[list[str]] = []  # per index: [name, arguments] given

    def step(self, output: Mapping[str, Any]) -> dict[str, Any]:
        """The increment ``output`` adds to what was given (``{}``: nothing), now given."""
        delta: dict[str, Any] = {}
        for key, given in self.texts.items():
            piece = text_growth(given, output.get(key))
            if piece:
                delta[key] = piece
                self.texts[key] = given + piece
        calls = output.get("tool_calls")
        pieces = []
        for index, call in enumerate(calls if isinstance(calls, list) else ()):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping):
                continue
            name, arguments = str(function.get("name") or ""), _arguments(function)
            if index >= len(self.calls):
                self.calls.extend(["", ""] for _ in range(index + 1 - len(self.calls)))
                self.calls[index] = [name, arguments]
                first = {"name": name, "arguments": arguments}
                call_id = str(call.get("id") or "")
                pieces.append(
                    {"index": index, "id": call_id, "type": "function", "function": first}
                )
                continue
            piece = text_growth(self.calls[index][1], arguments)
            if piece:
                self.calls[index][1] = arguments
                pieces.append({"index": index, "function": {"arguments": piece}})
        if pieces:
            delta["tool_calls"] = pieces
        return delta


class DeltaEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The ``data`` of a delta line (the platform's ``DeltaEvent``): the delta itself, its
    sequence number within the task (from 1), and the resource it belongs to (the assistant
    chat message for a model call of an agent; empty for a plain run). ``end`` is never sent
    to clients: in a server it closes a task's deltas."""

    delta: Any = None
    seq: int = 0
    resource_id: str = ""
    end: str = ""


class TaskDelta(msgspec.Struct, kw_only=True, frozen=True):
    """One delta of a task, as a client receives it: ``on_delta`` callbacks get these, and
    streams opened with ``deltas=True`` yield them between the task's updates.

    ``delta`` is the increment as the app sent it (an ``LLMDelta``'s fields, or a Chat
    Completions chunk); merge them with :class:`DeltaAccumulator` to rebuild the output.
    """

    task_id: str
    delta: dict[str, Any]
    seq: int = 0
    resource_id: str = ""

    @property
    def text(self) -> str:
        """The piece of reply text this delta adds (``""`` when it adds none)."""
        delta = self.delta
        if "choices" in delta:
            parts = []
            for choice in delta.get("choices") or ():
                inner = choice.get("delta") if isinstance(choice, dict) else None
                content = inner.get("content") if isinstance(inner, dict) else None
                if isinstance(content, str):
                    parts.append(content)
            return "".join(parts)
        response = delta.get("response")
        return response if isinstance(response, str) else ""

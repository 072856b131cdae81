"""Streaming deltas for apps: yield increments instead of whole outputs.

A function that yields a :class:`StreamDelta` (an :class:`LLMDelta`, or a Chat Completions
chunk of :mod:`inferencesh.openai`) sends it on the delta channel: the worker and the platform
carry it to the task stream as a ``DeltaEvent``, and it never becomes a partial output. Yield
the whole output last; it is the task's result. Each delta type names how its fields merge in
``_field_tags`` (see :mod:`inferencesh.core.deltas`); :class:`DeltaAccumulator` folds them.

Example:
    >>> import asyncio
    >>> from collections.abc import AsyncGenerator
    >>> from inferencesh import BaseApp
    >>> from inferencesh.models import ChatInput, DeltaAccumulator, LLMDelta, LLMOutput
    >>> class App(BaseApp):
    ...     async def run(self, input_data: ChatInput) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
    ...         for word in ["Hello", " there"]:
    ...             yield LLMDelta(response=word)  # a token delta, on the delta channel
    ...         yield LLMOutput(response="Hello there")  # the result
    >>> async def pieces():
    ...     return [item async for item in App().run(ChatInput(text="hi"))]
    >>> acc = DeltaAccumulator()
    >>> for item in asyncio.run(pieces())[:-1]:
    ...     acc.apply(item)
    >>> acc.to_output().response
    'Hello there'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from inferencesh.core import deltas as _core
from inferencesh.models.llm import LLMOutput, LLMUsage
from pydantic import BaseModel

__all__ = [
    "DeltaAccumulator",
    "LLMDelta",
    "OutputDiffer",
    "StreamDelta",
    "apply_delta_event",
    "is_delta_event",
    "ToolCallDelta",
    "ToolCallFunctionDelta",
    "is_stream_delta",
]


class StreamDelta(BaseModel):
    """The base of every delta type: a yielded instance goes to the delta channel.

    A subclass declares how each field merges in a ``_field_tags`` class variable,
    ``{"field": {"merge": "replace" | "concat" | "indexed" | "nested"}}`` (unnamed fields
    replace); a subclass inherits its bases' rules and may override them.
    """

    _field_tags: ClassVar[dict[str, Any]] = {}


class ToolCallFunctionDelta(BaseModel):
    """A piece of a tool call's function: its name, and a fragment of its JSON arguments."""

    name: str = ""
    arguments: str = ""

    _field_tags: ClassVar[dict[str, Any]] = {
        "name": {"merge": "replace"},
        "arguments": {"merge": "concat"},
    }


class ToolCallDelta(BaseModel):
    """A piece of a tool call, identified by ``index``: the first one carries the id, type and
    function name, later ones fragments of the arguments."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: ToolCallFunctionDelta | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "id": {"merge": "replace"},
        "type": {"merge": "replace"},
        "function": {"merge": "nested"},
    }


class LLMDelta(StreamDelta):
    """A streamed increment of an :class:`~inferencesh.models.LLMOutput`: text and reasoning
    to append, tool-call pieces merged by index, and usage (replaced)."""

    response: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    usage: LLMUsage | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "response": {"merge": "concat"},
        "reasoning": {"merge": "concat"},
        "tool_calls": {"merge": "indexed"},
        "usage": {"merge": "replace"},
    }


def is_stream_delta(value: Any) -> bool:
    """Whether ``value`` is a delta (an instance of a :class:`StreamDelta` subclass)."""
    return isinstance(value, StreamDelta)


class DeltaAccumulator(_core.DeltaAccumulator):
    """Folds deltas into the output they build; :meth:`to_output` gives it as an
    :class:`~inferencesh.models.LLMOutput`. Plain dicts (say from a task stream) merge by the
    ``LLMDelta`` rules here.

    Example:
        >>> from inferencesh.models import DeltaAccumulator, LLMDelta
        >>> acc = DeltaAccumulator()
        >>> acc.apply(LLMDelta(response="4", tool_calls=[{"index": 0, "id": "c1",
        ...     "function": {"name": "add", "arguments": '{"a": 2,'}}]))
        >>> acc.apply({"response": "2", "tool_calls": [{"function": {"arguments": ' "b": 2}'}}]})
        >>> out = acc.to_output()
        >>> out.response, out.tool_calls[0]["function"]["arguments"]
        ('42', '{"a": 2, "b": 2}')
    """

    def __init__(self, tags: Any = None) -> None:
        super().__init__(_core.LLM_DELTA_TAGS if tags is None else tags)

    def to_output(self) -> LLMOutput:
        """The merged output as an ``LLMOutput`` (tool-call arguments stay JSON text)."""
        return LLMOutput.model_validate(self.to_dict())


class OutputDiffer:
    """Turns cumulative outputs (each holding everything so far) into :class:`LLMDelta`
    increments, for apps that only yield whole outputs (the rules of
    :class:`inferencesh.core.deltas.OutputGrowth`).

    Text that does not grow by appending (rewritten, not extended) gives no delta for that
    step, and later steps grow from what was given; the final output is whole anyway.
    """

    def __init__(self) -> None:
        self._growth = _core.OutputGrowth()

    def step(self, out: Any) -> LLMDelta | None:
        """The delta from the previous output to ``out`` (``None`` when nothing grew)."""
        calls = getattr(out, "tool_calls", None) or []
        fields = self._growth.step(
            {
                "response": getattr(out, "response", None),
                "reasoning": getattr(out, "reasoning", None),
                "tool_calls": [
                    call.model_dump() if isinstance(call, BaseModel) else dict(call)
                    for call in calls
                ],
            }
        )
        return LLMDelta(**fields) if fields else None


def is_delta_event(evt: Any) -> bool:
    """Whether a parsed stream line (``{"event": ..., "data": ...}``) is a delta line."""
    return isinstance(evt, Mapping) and evt.get("event") == _core.DELTA_EVENT


def apply_delta_event(acc: DeltaAccumulator, data: Any) -> LLMDelta | None:
    """Fold the ``data`` of a delta line (``{"delta": {...}, "seq": n}``) into ``acc``; returns
    the :class:`LLMDelta` applied, or ``None`` when the line carries no delta. A delta that is
    not an ``LLMDelta`` raises pydantic's ``ValidationError``; ``data`` that is not an object
    raises ``TypeError``."""
    if not isinstance(data, Mapping):
        raise TypeError(f"the data of a delta line must be an object, got {type(data).__name__}")
    raw = data.get("delta")
    if raw is None:
        return None
    delta = LLMDelta.model_validate(raw)
    acc.apply(delta)
    return delta

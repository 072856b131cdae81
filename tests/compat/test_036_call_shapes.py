"""Calls written for 0.36's module paths with 0.36's argument names and result shapes: the
credential normaliser's ``where``, the delta helpers, ``split_live_schema``'s named result and
the task-file role enum."""

from __future__ import annotations

import pytest
from inferencesh.decorators import normalize_credentials
from inferencesh.delta import (
    DeltaAccumulator,
    OutputDiffer,
    apply_delta_event,
    is_delta_event,
    merge_delta,
)
from inferencesh.live import SplitLiveSchema, split_live_schema
from inferencesh.models import LLMDelta, LLMOutput
from inferencesh.types import TaskFileRole
from pydantic import ValidationError


def test_normalize_credentials_names_the_declaration_by_where() -> None:
    assert normalize_credentials(["slack.chat.write"], where="@function(post)") == [
        {"slug": "slack", "capabilities": ["slack.chat.write"]}
    ]
    with pytest.raises(ValueError, match=r"^@function\(post\): empty list"):
        normalize_credentials([], "@function(post)")
    with pytest.raises(ValueError, match=r"^@function\(post\)\[0\]: unknown keys"):
        normalize_credentials([{"bogus": 1}], where="@function(post)")
    with pytest.raises(TypeError, match=r"^@function credentials: expected a dict"):
        normalize_credentials("slack")


def test_delta_helpers_take_036_keywords() -> None:
    current = {"response": "Hel"}
    assert merge_delta(current=current, delta=LLMDelta(response="lo")) == {"response": "Hello"}
    differ = OutputDiffer()
    assert differ.step(out=LLMOutput(response="Hi")) == LLMDelta(response="Hi")
    grown = differ.step(out=LLMOutput(response="Hi there"))
    assert grown is not None and grown.response == " there"


def test_delta_events_fold_into_an_accumulator() -> None:
    assert is_delta_event({"event": "delta", "data": {}})
    assert (
        not is_delta_event({"event": "update"}) and not is_delta_event({}) and not is_delta_event(3)
    )
    acc = DeltaAccumulator()
    first = apply_delta_event(acc, {"delta": {"response": "Hel"}, "seq": 1})
    apply_delta_event(acc, {"delta": {"response": "lo", "reasoning": "r"}, "seq": 2})
    assert first == LLMDelta(response="Hel")
    assert acc.to_dict() == {"response": "Hello", "reasoning": "r"}
    assert apply_delta_event(acc, {"seq": 3}) is None
    with pytest.raises(ValidationError):
        apply_delta_event(acc, {"delta": {"response": 3}})
    with pytest.raises(TypeError, match="must be an object"):
        apply_delta_event(acc, "x")
    assert acc.to_dict() == {"response": "Hello", "reasoning": "r"}


def test_split_live_schema_result_has_names_and_unpacks() -> None:
    live_prop = {"type": "array", "format": "stream", "items": {"type": "string"}}
    schema = {
        "properties": {"prompt": {"type": "string"}, "feed": live_prop},
        "required": ["prompt", "feed"],
    }
    result = split_live_schema(schema)
    assert isinstance(result, SplitLiveSchema)
    ordinary, live = result
    assert result.ordinary is ordinary and result.live is live
    assert ordinary["required"] == ["prompt"]
    assert [field.key for field in result.live] == ["feed"]
    assert split_live_schema(None) == SplitLiveSchema({}, [])


def test_task_file_role_members_equal_the_strings() -> None:
    assert [(m.name, m.value) for m in TaskFileRole] == [("INPUT", "input"), ("OUTPUT", "output")]
    assert TaskFileRole.INPUT == "input" and f"{TaskFileRole.OUTPUT}" == "output"
    assert TaskFileRole("output") is TaskFileRole.OUTPUT

"""``inferencesh.llm_types_gen`` names added for 0.36 code: the typed tool parameter schema, the
merge-rule enum and the decision answers with 0.36's zero values, used with ours."""

from __future__ import annotations

import msgspec
import pytest
from inferencesh import llm_types_gen as gen
from inferencesh.core.chat import ToolParameters
from inferencesh.core.deltas import LLM_DELTA_TAGS, merge_delta
from inferencesh.models.decision import DecisionInput, DecisionOutput
from pydantic import ValidationError


def test_tool_parameter_property_encodes_as_json_schema() -> None:
    prop = gen.ToolParameterProperty
    params = ToolParameters(
        properties={
            "city": prop(type=gen.ToolParamType.STRING, description="Where"),
            "days": prop(anyOf=[prop(type=gen.ToolParamType.INTEGER), prop(type="null")]),
            "tags": prop(type=gen.ToolParamType.ARRAY, items=prop(type="string", enum=["a"])),
        },
        required=["city"],
    )
    wire = msgspec.json.decode(msgspec.json.encode(params))
    assert wire["properties"] == {
        "city": {"type": "string", "description": "Where"},
        "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a"]}},
    }
    decoded = msgspec.json.decode(msgspec.json.encode(wire["properties"]["days"]), type=prop)
    assert decoded.anyOf is not None and decoded.anyOf[1].type is gen.ToolParamType.NULL
    with pytest.raises(msgspec.ValidationError, match="type"):
        msgspec.json.decode(b'{"type": "date"}', type=prop)


def test_merge_strategy_members_are_the_rule_strings() -> None:
    state = {"response": "Hel"}
    merge_delta(state, {"response": "lo"}, {"response": {"merge": gen.MergeStrategy.CONCAT}})
    assert state == {"response": "Hello"}
    assert {rule["merge"] for rule in LLM_DELTA_TAGS.values()} <= set(gen.MergeStrategy)


def test_decision_answers_with_zero_values_fit_our_output() -> None:
    question = {"id": "q", "instructions": "Pick", "options": [{"name": "a"}, {"name": "b"}]}
    data = DecisionInput(state="s", choices=[gen.DecisionChoiceQuestion(**question)])
    answer = gen.DecisionChoiceAnswer(choice="a", probabilities={"a": 1.0})
    output = DecisionOutput.from_answers({"q": answer}, data, model="m", input_tokens=1)
    assert output.choices["q"].confidence == 0.0
    wire = gen.DecisionOutput(choices={"q": answer}, scores={}, nouls={})
    assert isinstance(wire, DecisionOutput) and wire.model == ""
    with pytest.raises(ValidationError, match="model"):
        DecisionOutput(choices={}, scores={}, nouls={})  # the app's output still names its model
    settings = gen.LLMSettings(tools=[{"type": "function", "function": {"name": "f"}}])
    assert settings.tools is not None and settings.tools[0].function.name == "f"
    assert gen.ToolCallType.TOOL_TYPE_FUNCTION == "function"

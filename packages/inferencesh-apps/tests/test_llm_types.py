"""LLM input/output types: ChatInput, ModelSettings, legacy LLMInput, mixins, LLMOutput."""

from __future__ import annotations

import json

import pytest
from inferencesh.apps import BaseAppInput, BaseAppOutput, File
from inferencesh.models import (
    BaseApp,
    BaseLLMInput,
    ChatInput,
    ContextMessage,
    LLMInput,
    LLMOutput,
    ModelSettings,
    ModelSettingsCapabilityMixin,
)
from inferencesh.models.llm import (
    ContextMessageRole,
    FileCapabilityMixin,
    ImageCapabilityMixin,
    ImagesMixin,
    LLMUsage,
    ReasoningCapabilityMixin,
    ReasoningEffortEnum,
    ToolCall,
    ToolCallsMixin,
    ToolsCapabilityMixin,
)
from pydantic import ValidationError


def test_seed_imports() -> None:
    from inferencesh import BaseApp as TopBaseApp
    from inferencesh.models import BaseAppInput as ModelsInput
    from inferencesh.models import File as ModelsFile

    assert TopBaseApp is BaseApp
    assert ModelsInput is BaseAppInput
    assert ModelsFile is File


class AppInput(ChatInput):
    pass


def test_chat_input_from_seed_json() -> None:
    value = AppInput.model_validate(
        {
            "text": "Summarize this release",
            "model_settings": {"temperature": 0.3, "max_tokens": 1024},
        }
    )
    settings = value.model_settings
    assert settings is not None
    assert settings.temperature == 0.3
    assert settings.max_tokens == 1024
    assert settings.top_p is None
    assert value.role is ContextMessageRole.USER
    assert value.context == []


def test_chat_input_schema_has_one_nested_settings_object() -> None:
    schema = AppInput.model_json_schema()
    props = schema["properties"]
    assert list(props)[:5] == ["text", "images", "files", "context", "system_prompt"]
    assert list(props)[-1] == "model_settings"
    assert "temperature" not in props
    assert "required" not in schema  # nothing is required
    settings = schema["$defs"]["ModelSettings"]
    assert settings["properties"]["temperature"]["anyOf"][0] == {
        "maximum": 2,
        "minimum": 0,
        "type": "number",
    }
    assert "required" not in settings
    assert props["images"]["anyOf"][0] == {
        "items": {"type": "string", "format": "file"},
        "type": "array",
    }
    assert props["text"]["description"] == "The current message"


def test_unset_model_settings_are_not_sent() -> None:
    settings = ModelSettings(temperature=0.2, seed=None)
    assert settings.model_dump() == {"temperature": 0.2, "seed": None}
    assert settings.as_kwargs() == {"temperature": 0.2}
    assert json.loads(settings.model_dump_json()) == {"temperature": 0.2, "seed": None}
    assert ModelSettings().model_dump() == {}
    value = AppInput.model_validate({"text": "hi", "model_settings": {"top_p": 0.5}})
    dumped = value.model_dump(mode="json", exclude_none=True)
    assert dumped["model_settings"] == {"top_p": 0.5}
    # Round-tripping keeps exactly the same set fields.
    again = AppInput.model_validate(dumped)
    assert again.model_settings is not None
    assert again.model_settings.model_fields_set == {"top_p"}


def test_model_settings_bounds_and_stop() -> None:
    with pytest.raises(ValidationError) as info:
        AppInput.model_validate({"model_settings": {"temperature": 3}})
    assert info.value.errors()[0]["loc"] == ("model_settings", "temperature")
    assert ModelSettings(stop="END").stop == ["END"]  # type: ignore[arg-type]
    assert ModelSettings(reasoning_effort="high").reasoning_effort is ReasoningEffortEnum.HIGH  # type: ignore[arg-type]


def test_flat_llm_input_takes_one_stop_string_like_model_settings() -> None:
    assert LLMInput(stop="END").stop == ["END"]  # type: ignore[arg-type]
    assert LLMInput(stop=["a", "b"]).stop == ["a", "b"]
    assert ChatInput(stop="END").model_settings == ModelSettings(stop=["END"])  # type: ignore[call-arg]
    shared = ("seed", "stop")
    flat, nested = LLMInput.model_fields, ModelSettings.model_fields
    assert all(repr(flat[name]) == repr(nested[name]) for name in shared)
    # The flat fields take what the published SDK 0.36's LLMInput takes (no bounds there);
    # ModelSettings keeps its bounds, as 0.36's does.
    assert LLMInput(top_k=-5, frequency_penalty=3.0).top_k == -5
    with pytest.raises(ValidationError):
        ModelSettings(top_k=-5)


def test_flat_settings_fold_into_model_settings() -> None:
    value = AppInput.model_validate(
        {"text": "x", "temperature": 0.9, "max_tokens": 5, "model_settings": {"temperature": 0.1}}
    )
    assert value.model_settings is not None
    assert value.model_settings.temperature == 0.1  # nested wins
    assert value.model_settings.max_tokens == 5
    assert value.model_settings.model_fields_set == {"temperature", "max_tokens"}


def test_model_settings_mixin_on_a_custom_input() -> None:
    class Custom(BaseAppInput, ModelSettingsCapabilityMixin):
        prompt: str

    value = Custom.model_validate({"prompt": "p", "model_settings": {"seed": 7}})
    assert value.model_settings == ModelSettings(seed=7)
    assert list(Custom.model_json_schema()["properties"]) == ["prompt", "model_settings"]


def test_legacy_llm_input_flat_fields() -> None:
    value = LLMInput(text="hi")
    assert (value.temperature, value.top_p, value.max_tokens, value.context_size) == (
        0.7,
        0.95,
        64000,
        4096,
    )
    assert value.system_prompt.startswith("you are a helpful assistant")
    assert isinstance(value, BaseLLMInput)
    schema = LLMInput.model_json_schema()
    assert schema["title"] == "LLMInput"
    assert {"temperature", "top_p", "max_tokens"} <= set(schema["properties"])
    with pytest.raises(ValidationError, match="top_p"):
        LLMInput(text="x", top_p=1.5)


def test_capability_mixins_add_fields() -> None:
    class Full(
        LLMInput,
        ImageCapabilityMixin,
        FileCapabilityMixin,
        ReasoningCapabilityMixin,
        ToolsCapabilityMixin,
    ):
        pass

    value = Full.model_validate(
        {
            "text": "look",
            "images": ["https://cdn.example/a.png"],
            "files": [{"uri": "https://cdn.example/a.pdf"}],
            "reasoning_effort": "low",
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_call_id": "c1",
        }
    )
    assert value.images is not None and value.images[0].uri == "https://cdn.example/a.png"
    assert value.files is not None and value.files[0].filename == "a.pdf"
    assert value.reasoning_effort is ReasoningEffortEnum.LOW
    assert value.tools == [{"type": "function", "function": {"name": "f"}}]
    assert {"images", "files", "reasoning", "reasoning_effort", "tools", "tool_call_id"} <= set(
        Full.model_json_schema()["properties"]
    )


def test_context_messages() -> None:
    message = ContextMessage.model_validate(
        {"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f"}}]}
    )
    assert message.text is None
    assert message.role is ContextMessageRole.ASSISTANT
    with pytest.raises(ValidationError, match="role"):
        ContextMessage.model_validate({"text": "x"})
    with pytest.raises(ValidationError):
        ContextMessage.model_validate({"role": "wizard"})


def test_llm_output() -> None:
    out = LLMOutput(
        response="hi",
        reasoning="thought",
        tool_calls=[{"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"a'}}],
        usage=LLMUsage(prompt_tokens=3, completion_tokens=1, total_tokens=4),
    )
    dumped = out.model_dump(mode="json", exclude_none=True)
    assert dumped["response"] == "hi"
    assert dumped["tool_calls"][0]["function"]["arguments"] == '{"a'  # partial JSON kept as is
    assert dumped["usage"]["total_tokens"] == 4
    assert "output_meta" not in dumped
    assert isinstance(out, BaseAppOutput)
    schema = LLMOutput.model_json_schema()
    assert schema["title"] == "LLMOutput"
    assert list(schema["properties"]) == [  # the published SDK 0.36's order
        "output_meta",
        "response",
        "reasoning",
        "reasoning_state",
        "tool_calls",
        "usage",
    ]
    assert LLMOutput().response == ""


def test_output_mixins() -> None:
    class ImageOut(BaseAppOutput, ImagesMixin, ToolCallsMixin):
        pass

    out = ImageOut(images=[File(path="/tmp/x.png")], tool_calls=[])
    assert out.model_dump(mode="json", exclude_none=True)["images"] == [
        {"path": "/tmp/x.png", "content_type": "image/png", "filename": "x.png"}
    ]


def test_tool_call_arguments_accept_json_strings() -> None:
    assert ToolCall.model_validate(
        {"id": "1", "function": {"name": "f", "arguments": '{"x": 1}'}}
    ).function.arguments == {"x": 1}
    for empty in ("", None, "{}"):
        call = ToolCall.model_validate({"id": "1", "function": {"name": "f", "arguments": empty}})
        assert call.function.arguments == {}
    with pytest.raises(ValidationError, match="not valid JSON"):
        ToolCall.model_validate({"id": "1", "function": {"name": "f", "arguments": "{x"}})


def test_llm_input_takes_the_agent_loop_payload() -> None:
    payload = {
        "system_prompt": "sys",
        "context": [{"role": "user", "text": "a"}, {"role": "assistant", "text": "b"}],
        "role": "user",
        "text": "c",
        "images": ["https://cdn.example/i.png"],
        "temperature": 1.3,
        "top_k": 40,
        "seed": 1,
        "stop": ["###"],
        "reasoning_effort": "medium",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "find",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ],
        "tool_choice": {"mode": "function", "name": "lookup"},
        "response_format": {"type": "json_schema", "name": "r", "json_schema": {}, "strict": True},
        "unknown_future_field": 1,
    }
    value = LLMInput.model_validate(payload)
    assert value.temperature == 1.3
    assert value.top_k == 40
    assert value.reasoning_effort is ReasoningEffortEnum.MEDIUM
    assert value.tool_choice is not None and value.tool_choice.name == "lookup"
    assert value.response_format is not None and value.response_format.strict is True
    assert value.images is not None and value.images[0].filename == "i.png"
    properties = list(LLMInput.model_json_schema()["properties"])
    assert properties[:5] == ["text", "images", "files", "attachments", "context"]
    assert properties[-3:] == ["tools", "tool_choice", "response_format"]


def test_mixins_combine_with_llm_input_without_changing_defaults() -> None:
    class WithReasoning(LLMInput, ReasoningCapabilityMixin, ImageCapabilityMixin):
        pass

    value = WithReasoning(text="x")
    assert value.reasoning_effort is ReasoningEffortEnum.NONE
    assert value.images is None
    assert ReasoningCapabilityMixin.model_fields["reasoning_effort"].description == (
        LLMInput.model_fields["reasoning_effort"].description
    )


def test_model_settings_schema_is_the_same_in_both_modes() -> None:
    validation = ModelSettings.model_json_schema(mode="validation")
    assert ModelSettings.model_json_schema(mode="serialization") == validation
    assert "temperature" in validation["properties"]

"""Values and pure functions of the app-authoring API, run under either package.

Run as a script by an interpreter with ours or the published 0.36 installed, it prints one JSON
object: for every case, what the package made of it (``{"ok": <result>}`` or ``{"error":
<exception type>}``). ``test_schema_parity_036.py`` runs it under both and compares.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Dict

# ruff: noqa: UP006, UP035 - typing spelled as apps for 0.36 spell it
import inferencesh
from inferencesh import llm_types_gen
from inferencesh.models import base
from inferencesh.models.decision import DecisionInput, DecisionOutput, DecisionVisionInput
from inferencesh.models.llm import ContextMessage, LLMInput, LLMOutput, build_messages
from inferencesh.models.output_meta import OutputMeta, VideoMeta


def _dump(model: Any) -> Any:
    return json.loads(model.model_dump_json())


def _validate(cls: Any, data: Any) -> Callable[[], Any]:
    return lambda: _dump(cls.model_validate(data))


def _item_classes(data: Any) -> Callable[[], Any]:
    def run() -> Any:
        meta = OutputMeta.model_validate(data)
        return [[type(item).__name__, _dump(item)] for item in [*meta.inputs, *meta.outputs]]

    return run


QUESTION = {"id": "q1", "instructions": "Pick", "options": [{"name": "a"}, {"name": "b"}]}
SCORE = {"id": "s1", "instructions": "Rate", "levels": ["low", "mid", "high"]}
NOUL = {"id": "n1", "instructions": "Is it", "criteria": {"true": "yes"}}
FULL = {"state": {"k": 1}, "choices": [QUESTION], "scores": [SCORE], "nouls": [NOUL]}
ANSWERS = {
    "q1": {"choice": "a", "confidence": 0.9, "probabilities": {"a": 0.9, "b": 0.1}},
    "s1": {"score": 1, "confidence": 0.5, "probabilities": {"0": 0.2, "1": 0.5}, "legend": {}},
    "n1": {"noul": 0.7},
}
CHAT = {
    "system_prompt": "Be brief.",
    "context": [
        {"role": "user", "text": "a"},
        {"role": "user", "text": "b"},
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}
            ],
        },
        {"role": "tool", "text": "42", "tool_call_id": "c1"},
        {"role": "assistant", "text": "done", "reasoning": "thought"},
    ],
    "text": "next",
}


def _credentials(value: Any) -> Callable[[], Any]:
    def run() -> Any:
        def method(self: Any) -> None: ...

        return inferencesh.function(credentials=value)(method).__inferencesh_function__

    return run


def _annotations(value: Any) -> Callable[[], Any]:
    def run() -> Any:
        def method(self: Any) -> None: ...

        return inferencesh.function(annotations=value)(method).__inferencesh_function__

    return run


def _formats(kind: str, value: Dict[str, Any]) -> Callable[[], Any]:
    from inferencesh.models import llm

    def run() -> Any:
        if kind == "tool_choice":
            choice = LLMInput.model_validate({"tool_choice": value}).tool_choice
            return llm.openai_tool_choice(choice)
        fmt = LLMInput.model_validate({"response_format": value}).response_format
        return [llm.openai_response_format(fmt), llm.llamacpp_response_format(fmt)]

    return run


REASONING_FRAGMENTS = [
    {"type": "reasoning.text", "index": 0, "text": "a", "n": 1},
    {"type": "reasoning.text", "index": 0, "text": "b", "signature": "s", "data": None},
    {"type": "reasoning.encrypted", "index": 1, "data": "x"},
    {"type": "reasoning.encrypted", "index": 1, "data": "y", "id": "i2"},
    {"type": "reasoning.text", "index": 0, "text": "c"},
    {"type": "reasoning.summary", "summary": "s1"},
    {"type": "reasoning.summary", "summary": "s2", "format": "f"},
    {"index": 0, "text": "z"},
]


def _merge_reasoning() -> Any:
    from inferencesh.models.llm import merge_reasoning_details

    fragments = json.loads(json.dumps(REASONING_FRAGMENTS))
    merged = merge_reasoning_details(fragments)
    return [merged, fragments == REASONING_FRAGMENTS]


def _data_uris() -> Any:
    import tempfile

    from inferencesh.models.llm import file_to_base64_data_uri, image_to_base64_data_uri

    out = []
    with tempfile.TemporaryDirectory() as folder:
        for name in ("a.png", "b.jpg", "c.jpeg", "d.gif", "e.pdf", "f.unknownext"):
            path = f"{folder}/{name}"
            with open(path, "wb") as handle:
                handle.write(b"bytes")
            if name.endswith("pdf") or name.endswith("unknownext"):
                out.append(file_to_base64_data_uri(path))
            if not name.endswith("pdf"):
                out.append(image_to_base64_data_uri(path))
    return out


def _requirement(data: Dict[str, Any]) -> Any:
    error = inferencesh.RequirementError.from_dict(data)
    action = error.action
    shown = None if action is None else [action.type, action.provider, action.scopes]
    return [error.type, error.key, error.message, shown]


class MixinInput(
    base.RequiredImageFieldMixin,
    base.OptionalVideoFieldMixin,
    base.OptionalTextFieldMixin,
    base.BaseAppInput,
):
    prompt: str = "p"


def _fields(cls: Any, data: Dict[str, Any]) -> Callable[[], Any]:
    """What each field of ``cls`` holds once ``data`` validates: a file's path, else the value."""

    def run() -> Any:
        model = cls.model_validate(data)
        return {
            name: getattr(value, "path", value)
            for name, value in sorted(model.__dict__.items())
            if not name.startswith("_")
        }

    return run


def _members(enum_class: Any) -> Callable[[], Any]:
    return lambda: [[member.name, member.value, member == member.value] for member in enum_class]


CASES: Dict[str, Callable[[], Any]] = {
    "ltg_merge_strategy": _members(llm_types_gen.MergeStrategy),
    "ltg_tool_call_type": _members(llm_types_gen.ToolCallType),
    "ltg_tool_param_type": _members(llm_types_gen.ToolParamType),
    "ltg_llm_settings_defaults": lambda: _dump(llm_types_gen.LLMSettings()),
    "ltg_llm_settings": _validate(
        llm_types_gen.LLMSettings,
        {"temperature": 1.5, "stop": ["x"], "tool_choice": {"mode": "auto"}, "context_size": -1},
    ),
    "ltg_choice_answer": lambda: _dump(llm_types_gen.DecisionChoiceAnswer(probabilities={"a": 1})),
    "ltg_score_answer": lambda: _dump(
        llm_types_gen.DecisionScoreAnswer(probabilities={}, legend={"0": "low"})
    ),
    "ltg_noul_answer": lambda: _dump(llm_types_gen.DecisionNoulAnswer()),
    "ltg_decision_output_model": lambda: llm_types_gen.DecisionOutput(
        choices={"q": llm_types_gen.DecisionChoiceAnswer(choice="a", probabilities={"a": 1})},
        scores={},
        nouls={},
    ).model_dump(include={"choices", "model", "input_tokens"}),
    "ltg_question_blank_id": _validate(
        llm_types_gen.DecisionChoiceQuestion, {"instructions": "x", "options": [{"name": "a"}]}
    ),
    "mixin_required_path": _fields(MixinInput, {"image": "/etc/hostname", "text": "t"}),
    "mixin_optional_blanks": _fields(
        MixinInput, {"image": "/etc/hostname", "video": "", "text": ""}
    ),
    "mixin_optional_empty_object": _fields(base.OptionalAudioFieldMixin, {"audio": {}}),
    "mixin_optional_none": _fields(base.OptionalFileFieldMixin, {"file": None}),
    "mixin_file_object": _fields(base.OptionalFileFieldMixin, {"file": {"path": "/etc/hostname"}}),
    "mixin_required_missing": _fields(MixinInput, {"text": "t"}),
    "mixin_text_not_a_string": _fields(base.OptionalTextFieldMixin, {"text": 3}),
    "mixin_required_text_none": _fields(base.RequiredTextFieldMixin, {"text": None}),
    "mixin_required_text": _fields(base.RequiredTextFieldMixin, {"text": "hi"}),
    "mixin_required_image_blank": _fields(base.RequiredImageFieldMixin, {"image": ""}),
    "mixin_required_file_missing": _fields(base.RequiredFileFieldMixin, {}),
    "video_resolution_members": lambda: [[m.name, m.value] for m in inferencesh.VideoResolution],
    "meta_item_type_members": lambda: [[m.name, m.value] for m in inferencesh.MetaItemType],
    "video_meta_540p": _validate(VideoMeta, {"resolution": "540p", "seconds": 2}),
    "video_meta_member": lambda: _dump(
        VideoMeta(resolution=inferencesh.VideoResolution.VIDEO_RES1080_P)
    ),
    "video_meta_negative": _validate(VideoMeta, {"width": -1}),
    "output_meta_unknown_type": _item_classes({"inputs": [{"type": "custom", "width": 3}]}),
    "output_meta_known_types": _item_classes(
        {"outputs": [{"type": "image", "width": 5}, {"type": "raw", "cost": 2}]}
    ),
    "output_meta_bare_video": _item_classes({"outputs": [{"type": "video"}]}),
    "llm_role_injection": _validate(LLMInput, {"text": "x", "role": "injection"}),
    "llm_role_compaction": _validate(LLMInput, {"role": "compaction"}),
    "context_role_event": _validate(ContextMessage, {"role": "event", "text": "e"}),
    "context_reasoning_state": _validate(
        ContextMessage, {"role": "assistant", "reasoning_state": {"anthropic": {"sig": "s"}}}
    ),
    "llm_attachments_kept": lambda: [
        f.filename for f in LLMInput.model_validate({"attachments": ["/etc/hostname"]}).attachments
    ],
    "llm_output_reasoning_state": _validate(LLMOutput, {"reasoning_state": {"k": [1]}}),
    "llm_temperature_1_5": _validate(LLMInput, {"temperature": 1.5}),
    "llm_top_k_negative": _validate(LLMInput, {"top_k": -3, "min_p": 2}),
    "llm_bad_role": _validate(LLMInput, {"role": "robot"}),
    "llm_tool_choice_no_mode": _validate(LLMInput, {"tool_choice": {"name": "f"}}),
    "llm_response_format": _validate(
        LLMInput, {"response_format": {"type": "json_schema", "json_schema": {"type": "object"}}}
    ),
    "build_messages": lambda: build_messages(LLMInput.model_validate(CHAT)),
    "build_messages_reasoning": lambda: build_messages(
        LLMInput.model_validate(CHAT), include_reasoning=True
    ),
    "decision_full": lambda: DecisionInput.model_validate(FULL).questions(),
    "decision_empty": _validate(DecisionInput, {"state": "x"}),
    "decision_no_state": _validate(DecisionInput, {"choices": [QUESTION]}),
    "decision_repeated_ids": _validate(DecisionInput, {"state": "s", "choices": [QUESTION] * 2}),
    "decision_one_option": _validate(
        DecisionInput, {"state": "s", "choices": [{**QUESTION, "options": [{"name": "a"}]}]}
    ),
    "decision_vision_images_only": lambda: DecisionVisionInput.model_validate(
        {"choices": [QUESTION], "images": ["/etc/hostname"]}
    ).questions(),
    "decision_answers": lambda: _dump(
        DecisionOutput.from_answers(
            ANSWERS, DecisionInput.model_validate(FULL), model="m", input_tokens=12
        )
    ),
    "decision_missing_answer": lambda: DecisionOutput.from_answers(
        {}, DecisionInput.model_validate(FULL), model="m", input_tokens=0
    ),
    "tool_choice_none": _formats("tool_choice", {"mode": "none"}),
    "tool_choice_auto": _formats("tool_choice", {"mode": "auto"}),
    "tool_choice_required": _formats("tool_choice", {"mode": "required"}),
    "tool_choice_function": _formats("tool_choice", {"mode": "function", "name": "f"}),
    "tool_choice_function_unnamed": _formats("tool_choice", {"mode": "function"}),
    "response_format_text": _formats("response_format", {"type": "text"}),
    "response_format_json_object": _formats("response_format", {"type": "json_object"}),
    "response_format_schema": _formats(
        "response_format",
        {"type": "json_schema", "name": "n", "json_schema": {"type": "object"}, "strict": True},
    ),
    "response_format_schema_unnamed": _formats(
        "response_format", {"type": "json_schema", "json_schema": {"type": "object"}}
    ),
    "response_format_schema_missing": _formats("response_format", {"type": "json_schema"}),
    "merge_reasoning_details": _merge_reasoning,
    "data_uris": _data_uris,
    "credentials_strings": _credentials(["slack.chat.write", "aikido-mcp"]),
    "credentials_dict": _credentials({"slack": {"capabilities": ["slack.chat.write"]}}),
    "credentials_legacy": _credentials(
        [{"provider": "github", "key": "github.repo.read", "name": "GitHub"}]
    ),
    "credentials_full": _credentials(
        [{"slug": "s", "optional": True, "secrets": ["K"], "scopes": ["a"], "description": "d"}]
    ),
    "credentials_empty": _credentials([]),
    "credentials_bad_key": _credentials([{"bogus": 1}]),
    "credentials_bad_capability": _credentials({"slack": {"capabilities": ["x"]}}),
    "credentials_slug_mismatch": _credentials({"a": {"slug": "b"}}),
    "credentials_not_a_list": _credentials("slack"),
    "annotations": _annotations({"title": "T", "readOnlyHint": True, "destructiveHint": None}),
    "annotations_none_title": _annotations({"title": None}),
    "annotations_unknown": _annotations({"bogus": True}),
    "annotations_not_bool": _annotations({"readOnlyHint": "yes"}),
    "requirement_error": lambda: _requirement(
        {
            "type": "scope",
            "key": "k",
            "message": "m",
            "action": {"type": "add_scopes", "scopes": ["a"]},
        }
    ),
    "requirement_error_bare": lambda: _requirement({"type": "secret", "key": "K", "message": ""}),
}


def results() -> Dict[str, Any]:
    """Every case's result or the name of the exception it raised."""
    out: Dict[str, Any] = {}
    for name, case in CASES.items():
        try:
            out[name] = {"ok": case()}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            kind = "ValueError" if type(exc).__name__ == "ValidationError" else type(exc).__name__
            out[name] = {"error": kind}
    return out


if __name__ == "__main__":
    json.dump(results(), sys.stdout, indent=1, default=str)

"""Differential tests: the app models' JSON schemas, the values they accept and the pure
functions of the app-authoring API, under the published inferencesh 0.36 (``.venvs/published``)
and under ours, compared.

The same two scripts run under both interpreters: ``schema_corpus_036.py`` (model classes
written as apps for 0.36 write them: every base type, optional, enum, lists of files, nested
models, redeclared inherited fields, ``OutputMeta``, the LLM and decision types) and
``values_corpus_036.py`` (values and pure-function calls). Results must be equal except for the
differences kept on purpose, each listed here with the assertion that pins it (and in
docs/migration.md, "Differences kept on purpose").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schema_corpus_036.py"
VALUES = HERE / "values_corpus_036.py"

LLM_INPUTS = ("LLMInput", "AppInput", "ChatLikeInput")
CONTEXT_HOLDERS = ("ContextMessage", *LLM_INPUTS)
# RequiredFileFieldMixin.file is required in ours (0.36 left it optional, its bug 9).
REQUIRED_FILE = ("RequiredFileInput", "RequiredFileFieldMixin")
TOOL_DEFS = (
    "Tool",
    "ToolCallType",
    "ToolFunction",
    "ToolParamType",
    "ToolParameterProperty",
    "ToolParameters",
)


def _run(python: Path | str, script: Path, cwd: Path) -> dict[str, Any]:
    # Outside the repository and without PYTHONPATH, so each interpreter sees only its own
    # `inferencesh`.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(script)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def schemas(published_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    cwd = tmp_path_factory.mktemp("schemas")
    return _run(published_python, SCHEMAS, cwd), _run(sys.executable, SCHEMAS, cwd)


@pytest.fixture(scope="module")
def values(published_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    cwd = tmp_path_factory.mktemp("values")
    return _run(published_python, VALUES, cwd), _run(sys.executable, VALUES, cwd)


def _own_words_only(node: Any) -> Any:
    """Drop the packages' own descriptions (field help and class docstrings, written in each
    package's words); keep those the corpus wrote ("Corpus: ...")."""
    if isinstance(node, dict):
        return {
            key: _own_words_only(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str)) or value.startswith("Corpus:")
        }
    if isinstance(node, list):
        return [_own_words_only(item) for item in node]
    return node


def _orders(node: Any, path: str = "") -> dict[str, list[str]]:
    """Every ``properties`` key order in the schema, by path (dict equality ignores order)."""
    found: dict[str, list[str]] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found[path] = list(value)
            found.update(_orders(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.update(_orders(item, f"{path}/{index}"))
    return found


def _without_kept_differences(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The schema minus the differences kept on purpose (each pinned by its own test below)."""
    schema = json.loads(json.dumps(schema))
    if name in LLM_INPUTS:
        schema["properties"]["temperature"].pop("maximum")
    if name in REQUIRED_FILE:
        schema["properties"]["file"].pop("anyOf", None)
        schema["properties"]["file"].pop("default", None)
        schema["properties"]["file"].pop("format", None)
        schema["properties"]["file"].pop("type", None)
        schema["required"] = [key for key in schema.get("required", []) if key != "file"]
        if not schema["required"]:
            del schema["required"]
    defs = schema.get("$defs", {})
    for tool_def in TOOL_DEFS:
        defs.pop(tool_def, None)
    holder = schema if name == "ContextMessage" else defs.get("ContextMessage")
    if holder is not None:
        holder["properties"].pop("tools")
    return schema


def _case_names() -> list[str]:
    # The names are the corpus's own; read without importing it (it imports a package).
    text = SCHEMAS.read_text()
    block = text[text.index("CORPUS: Dict[str, Any] = {") : text.index("}\n\n\ndef _decision")]
    names = [line.split('"')[1] for line in block.splitlines()[1:] if line.strip()]
    return [
        *names,
        "DecisionInput",
        "DecisionVisionInput",
        "DecisionVideoInput",
        "DecisionOutput",
        "VisionApp",
        "DecisionAppOutput",
    ]


@pytest.mark.parametrize("mode", ["validation", "serialization"])
@pytest.mark.parametrize("name", _case_names())
def test_schema_equals_published(schemas: Any, name: str, mode: str) -> None:
    published, ours = schemas
    theirs_schema = published[name][mode]
    ours_schema = ours[name][mode]
    assert "error" not in theirs_schema, theirs_schema
    assert "error" not in ours_schema, ours_schema
    expected = _own_words_only(_without_kept_differences(name, theirs_schema))
    got = _own_words_only(_without_kept_differences(name, ours_schema))
    assert _orders(got) == _orders(expected)
    assert got == expected


def test_corpus_covers_the_cases_the_issue_names(schemas: Any) -> None:
    published, ours = schemas
    # Redeclared inherited fields keep their inherited place; own new fields come first.
    assert list(ours["GrandchildForm"]["validation"]["properties"]) == [
        "epsilon",
        "alpha",
        "beta",
        "gamma",
        "delta",
    ]
    # A subclass's title is its own name; output_meta leads an LLM output's form.
    assert ours["AppOutput"]["validation"]["title"] == "AppOutput"
    assert list(ours["AppOutput"]["validation"]["properties"])[:2] == ["citations", "output_meta"]
    # A redeclared context_size stays where LLMInput has it.
    input_order = list(ours["AppInput"]["validation"]["properties"])
    assert input_order.index("context_size") == input_order.index("system_prompt") + 1
    # OutputMeta's items are a plain anyOf, without oneOf/discriminator/const.
    items = ours["OutputMeta"]["validation"]["properties"]["inputs"]["items"]
    assert list(items) == ["anyOf"] and len(items["anyOf"]) == 5
    text = json.dumps(ours)
    assert '"oneOf"' not in text and '"const"' not in text and '"discriminator"' not in text
    assert published["OutputMeta"]["validation"]["properties"]["inputs"]["items"] == items


def test_kept_difference_temperature_up_to_2(schemas: Any) -> None:
    published, ours = schemas
    for name in LLM_INPUTS:
        assert published[name]["validation"]["properties"]["temperature"]["maximum"] == 1
        assert ours[name]["validation"]["properties"]["temperature"]["maximum"] == 2


def test_kept_difference_required_file_mixin_is_required(schemas: Any) -> None:
    published, ours = schemas
    for name in REQUIRED_FILE:
        theirs_file = published[name]["validation"]["properties"]["file"]
        ours_file = ours[name]["validation"]["properties"]["file"]
        assert theirs_file["anyOf"] == [{"format": "file", "type": "string"}, {"type": "null"}]
        assert "file" not in published[name]["validation"].get("required", [])
        assert (ours_file["type"], ours_file["format"]) == ("string", "file")
        assert "default" not in ours_file
        assert "file" in ours[name]["validation"]["required"]


def test_mixin_fields_carry_their_media_type(schemas: Any) -> None:
    _, ours = schemas
    props = ours["EveryOptionalMixin"]["validation"]["properties"]
    assert list(props) == ["text", "file", "audio", "video", "image"]
    media = {key: value.get("contentMediaType") for key, value in props.items()}
    assert media == {
        "text": None,
        "file": None,
        "audio": "audio/*",
        "video": "video/*",
        "image": "image/*",
    }
    assert ours["MixinFirstInput"]["validation"]["required"] == ["prompt", "image"]
    assert list(ours["OrderedChild"]["validation"]["properties"]) == [
        "beta",
        "zulu",
        "alpha",
        "mid",
    ]


def test_kept_difference_context_tools_are_plain_objects(schemas: Any) -> None:
    published, ours = schemas
    tools = ours["ContextMessage"]["validation"]["properties"]["tools"]
    assert tools["anyOf"][0] == {
        "items": {"additionalProperties": True, "type": "object"},
        "type": "array",
    }
    theirs = published["ContextMessage"]["validation"]["properties"]["tools"]
    assert theirs["anyOf"][0] == {"items": {"$ref": "#/$defs/Tool"}, "type": "array"}


# -- values and pure functions -------------------------------------------------------------

KEPT_VALUE_DIFFERENCES = {
    # 0.36 decodes a bare {"type": "video"} item as a TextMeta (its section 6.2, bug 6).
    "output_meta_bare_video",
    # 0.36 caps LLMInput.temperature at 1, rejecting OpenAI-valid values (section 6.2, bug 12).
    "llm_temperature_1_5",
    # 0.36 stores None in a field typed File when given a blank or None (required or not).
    "mixin_required_image_blank",
    # RequiredFileFieldMixin.file is required (0.36 left it optional, its bug 9).
    "mixin_required_file_missing",
    # llm_types_gen's questions are ours: an id is required (0.36's DecisionInput needs it too).
    "ltg_question_blank_id",
}


def _value_case_names() -> list[str]:
    text = VALUES.read_text()
    block = text[text.index("CASES: Dict[") : text.index("\n}\n", text.index("CASES: Dict["))]
    names = [
        line.strip().split('"')[1]
        for line in block.splitlines()
        if line.startswith('    "') and '":' in line
    ]
    return [name for name in names if name not in KEPT_VALUE_DIFFERENCES]


@pytest.mark.parametrize("case", _value_case_names())
def test_value_equals_published(values: Any, case: str) -> None:
    published, ours = values
    assert ours[case] == published[case]


def test_kept_value_differences(values: Any) -> None:
    published, ours = values
    every_case = set(published)
    assert every_case == set(ours) == {*_value_case_names(), *KEPT_VALUE_DIFFERENCES}
    assert published["output_meta_bare_video"]["ok"][0][0] == "TextMeta"
    assert ours["output_meta_bare_video"]["ok"][0][0] == "VideoMeta"
    assert published["llm_temperature_1_5"] == {"error": "ValueError"}
    assert ours["llm_temperature_1_5"]["ok"]["temperature"] == 1.5
    assert published["mixin_required_image_blank"] == {"ok": {"image": None}}
    assert ours["mixin_required_image_blank"] == {"error": "ValueError"}
    assert published["mixin_required_file_missing"] == {"ok": {"file": None}}
    assert ours["mixin_required_file_missing"] == {"error": "ValueError"}
    assert published["ltg_question_blank_id"]["ok"]["id"] == ""
    assert ours["ltg_question_blank_id"] == {"error": "ValueError"}


def test_values_the_issue_names_are_accepted(values: Any) -> None:
    _, ours = values
    assert ours["video_meta_540p"]["ok"]["resolution"] == "540p"
    assert ours["video_resolution_members"]["ok"][0] == ["VIDEO_RES480_P", "480p"]
    for case in ("llm_role_injection", "llm_role_compaction", "context_role_event"):
        assert "ok" in ours[case], case
    assert ours["context_reasoning_state"]["ok"]["reasoning_state"] == {"anthropic": {"sig": "s"}}
    assert ours["llm_attachments_kept"] == {"ok": ["hostname"]}
    assert ours["llm_output_reasoning_state"]["ok"]["reasoning_state"] == {"k": [1]}
    assert ours["llm_bad_role"] == {"error": "ValueError"}

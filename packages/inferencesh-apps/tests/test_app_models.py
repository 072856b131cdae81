"""The authoring bases, ``Metadata`` and ``OutputMeta``: schemas, ordering, logging, decoding."""

from __future__ import annotations

import enum
import logging
from typing import Literal, Optional

import inferencesh
import inferencesh.apps
import pytest
from inferencesh.apps import (
    AudioMeta,
    BaseApp,
    BaseAppInput,
    BaseAppOutput,
    BaseAppSetup,
    File,
    ImageMeta,
    Metadata,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
)
from inferencesh.apps.output_meta import MetaItemUnion
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model


def test_every_top_level_apps_name_resolves() -> None:
    names = [n for n, (mod, _) in inferencesh._EXPORTS.items() if mod == "inferencesh.apps"]
    assert names
    for name in names:
        assert getattr(inferencesh, name) is getattr(inferencesh.apps, name)
        assert name in inferencesh.apps.__all__


def test_llm_and_storage_names_load_lazily_from_apps() -> None:
    import inferencesh.models
    import inferencesh.models.generation

    assert inferencesh.apps.LLMInput is inferencesh.models.LLMInput
    assert inferencesh.apps.build_messages is inferencesh.models.build_messages
    assert inferencesh.apps.stream_generate is inferencesh.models.generation.stream_generate
    assert "StorageDir" in dir(inferencesh.apps)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        inferencesh.apps.Nope  # noqa: B018


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Box(BaseAppInput):
    width: int = Field(ge=1, description="Width in px")


class SeedInput(BaseAppInput):
    prompt: str = Field(description="What to generate")
    style: str = Field(default="modern", description="Style to use")
    count: int = Field(default=1, description="How many to generate")
    seed: Optional[int] = None  # noqa: UP045 - the Optional spelling the seed uses
    tags: list[str] = Field(default_factory=list)
    mode: Literal["a", "b"] = "a"
    color: Color = Color.RED
    box: Box | None = None
    image: File | None = None


SEED_INPUT_SCHEMA = {
    "$defs": {
        "Box": {
            "properties": {
                "width": {
                    "description": "Width in px",
                    "minimum": 1,
                    "title": "Width",
                    "type": "integer",
                }
            },
            "required": ["width"],
            "title": "Box",
            "type": "object",
        },
        "Color": {"enum": ["red", "blue"], "title": "Color", "type": "string"},
    },
    "properties": {
        "prompt": {"description": "What to generate", "title": "Prompt", "type": "string"},
        "style": {
            "default": "modern",
            "description": "Style to use",
            "title": "Style",
            "type": "string",
        },
        "count": {
            "default": 1,
            "description": "How many to generate",
            "title": "Count",
            "type": "integer",
        },
        "seed": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "default": None,
            "title": "Seed",
        },
        "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array"},
        "mode": {"default": "a", "enum": ["a", "b"], "title": "Mode", "type": "string"},
        "color": {"$ref": "#/$defs/Color", "default": "red"},
        "box": {"anyOf": [{"$ref": "#/$defs/Box"}, {"type": "null"}], "default": None},
        "image": {
            "anyOf": [{"format": "file", "type": "string"}, {"type": "null"}],
            "default": None,
            "title": "Image",
        },
    },
    "required": ["prompt"],
    "title": "SeedInput",
    "type": "object",
}


def test_input_schema_golden() -> None:
    schema = SeedInput.model_json_schema()
    assert schema == SEED_INPUT_SCHEMA
    assert list(schema["properties"]) == list(SEED_INPUT_SCHEMA["properties"])  # order too


class Out(BaseAppOutput):
    result: str = Field(description="Generated text")
    image: File = Field(description="Generated image")


def test_output_fields_come_before_output_meta() -> None:
    schema = Out.model_json_schema()
    assert list(schema["properties"]) == ["result", "image", "output_meta"]
    assert schema["required"] == ["result", "image"]
    assert schema["properties"]["image"] == {
        "description": "Generated image",
        "format": "file",
        "title": "Image",
        "type": "string",
    }


def test_subclass_order_own_fields_first_and_redeclared_fields_move() -> None:
    class Base(BaseAppInput):
        a: int = 0
        b: int = 0

    class Child(Base):
        c: int = 0
        a: int = 1  # redeclared: placed where Child puts it

    assert list(Child.model_json_schema()["properties"]) == ["c", "a", "b"]


def test_nested_models_keep_their_order_in_defs() -> None:
    class Inner(BaseAppInput):
        z: int
        y: int

    class Outer(BaseAppInput):
        inner: Inner
        items: list[Inner] = Field(default_factory=list)

    defs = Outer.model_json_schema()["$defs"]["Inner"]
    assert list(defs["properties"]) == ["z", "y"]
    assert defs["required"] == ["z", "y"]


def test_schema_of_classes_without_source() -> None:
    made = create_model(
        "Made",
        __base__=BaseAppInput,
        zeta=(str, Field(description="last letter")),
        alpha=(int, 1),
    )
    schema = made.model_json_schema()
    assert list(schema["properties"]) == ["zeta", "alpha"]
    assert schema["properties"]["zeta"]["description"] == "last letter"

    # As typed at a REPL prompt: no source file, no `from __future__` inherited from this module.
    source = (
        "from inferencesh.apps import BaseAppOutput, File\n"
        "class ExecOut(BaseAppOutput):\n"
        "    text: str\n"
        "    file: File | None = None\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(source, "<stdin>", "exec", dont_inherit=True), namespace)
    exec_out = namespace["ExecOut"]
    assert isinstance(exec_out, type) and issubclass(exec_out, BaseModel)
    assert list(exec_out.model_json_schema()["properties"]) == ["text", "file", "output_meta"]


def test_setup_base_is_a_model() -> None:
    class Setup(BaseAppSetup):
        model_id: str = Field(default="gpt2", description="Model to load")

    assert Setup().model_id == "gpt2"
    assert Setup.model_json_schema()["properties"]["model_id"]["default"] == "gpt2"


def test_validation_error_names_the_path() -> None:
    with pytest.raises(ValidationError) as info:
        SeedInput.model_validate({"prompt": "x", "box": {"width": 0}})
    assert "box.width" in str(info.value)
    assert "greater than or equal to 1" in str(info.value)


# -- BaseApp -------------------------------------------------------------------------------


async def test_base_app_defaults() -> None:
    class App(BaseApp):
        pass

    app = App()
    assert await app.setup() is None
    assert await app.unload() is None
    assert await app.on_cancel() is None
    with pytest.raises(NotImplementedError, match=r"App\.run"):
        await app.run(SeedInput(prompt="x"))
    app.model = object()  # plain attributes need no declaration


# -- Metadata ------------------------------------------------------------------------------


def test_metadata_fields_and_extras() -> None:
    meta = Metadata.model_validate(
        {"task_id": "t1", "app_variant": "default", "gpu_ids": ["0"], "x": 1}
    )
    assert meta.task_id == "t1"
    assert meta.app_variant == "default"
    assert meta.gpu_ids == ["0"]
    assert meta.x == 1  # type: ignore[attr-defined]
    meta.update({"worker_id": "w"})
    assert meta.worker_id == "w"
    assert "_sink" not in meta.model_dump()


def test_metadata_log_and_progress_reach_the_sink() -> None:
    lines: list[str] = []
    meta = Metadata()
    meta.set_sink(lines.append)
    meta.log("Processing...", 3, {"a": 1})
    meta.progress(3, 10, "loading")
    meta.progress(0.5)
    meta.progress(12, 10)
    assert lines == [
        "Processing... 3 {'a': 1}",
        "[progress] 30% (3/10) loading",
        "[progress] 0.5",
        "[progress] 100% (12/10)",
    ]
    with pytest.raises(ValueError, match="total must be positive"):
        meta.progress(1, 0)


def test_metadata_without_sink_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="inferencesh.app"):
        Metadata().log("hello", "world")
    assert [r.getMessage() for r in caplog.records] == ["hello world"]


# -- OutputMeta ----------------------------------------------------------------------------


def test_output_meta_items_decode_to_their_own_types() -> None:
    data = {
        "inputs": [{"type": "text", "tokens": 10}, {"type": "image", "width": 512, "height": 512}],
        "outputs": [
            {"type": "video"},
            {"type": "audio"},
            {"type": "raw", "cost": 1.5},
            {"type": "video", "resolution": "1080p", "seconds": 4},
        ],
    }
    meta = OutputMeta.model_validate(data)
    assert [type(i) for i in meta.inputs] == [TextMeta, ImageMeta]
    assert [type(i) for i in meta.outputs] == [VideoMeta, AudioMeta, RawMeta, VideoMeta]
    again = OutputMeta.model_validate_json(meta.model_dump_json())
    assert again == meta
    # Any other `type` is kept, as the published SDK 0.36 keeps it; a non-object still fails.
    smell = TypeAdapter(MetaItemUnion).validate_python({"type": "smell", "tokens": 3})
    assert (smell.type, smell.model_dump()["tokens"]) == ("smell", 3)
    with pytest.raises(ValidationError):
        TypeAdapter(MetaItemUnion).validate_python("video")


def test_output_meta_on_an_output_and_from_llm_usage() -> None:
    class TextOut(BaseAppOutput):
        text: str

    meta = OutputMeta.from_llm_usage(
        {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 7}
    )
    out = TextOut(text="hi", output_meta=meta)
    assert out.model_dump(mode="json", exclude_none=True) == {
        "text": "hi",
        "output_meta": {
            "inputs": [
                {"type": "text", "tokens": 100, "cached_tokens": 40, "cache_write_tokens": 0}
            ],
            "outputs": [{"type": "text", "tokens": 7, "cached_tokens": 0, "cache_write_tokens": 0}],
        },
    }
    assert OutputMeta.from_llm_usage({"prompt_tokens": 0}).inputs == []

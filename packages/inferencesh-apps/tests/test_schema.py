"""``inferencesh.apps.schema``: model schemas and the app schema document, built on the runtime's
function discovery (the one set of rules, in ``inferencesh.apps.runtime.functions``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from inferencesh.apps import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup, File, Metadata
from inferencesh.apps.runtime import app_schemas, discover_functions, load_app
from inferencesh.apps.runtime.functions import setup_model_of
from inferencesh.apps.schema import app_schema, input_schema, output_schema
from pydantic import BaseModel, create_model


class GreetInput(BaseModel):
    name: str = "World"


class GreetOutput(BaseModel):
    message: str


class ReverseInput(BaseModel):
    text: str


class ReverseOutput(BaseModel):
    reversed_text: str


class SeedMultiApp:
    """The seed's multi-function app, verbatim in shape."""

    async def run(self, input_data: GreetInput) -> GreetOutput:
        return GreetOutput(message=f"Hello, {input_data.name}!")

    async def reverse(self, input_data: ReverseInput) -> ReverseOutput:
        """Reverse a string.

        Longer text that is not part of the description.
        """
        return ReverseOutput(reversed_text=input_data.text[::-1])


class Setup(BaseAppSetup):
    model_id: str = "gpt2"


class RichApp(BaseApp):
    async def setup(self, config: Setup, metadata: Metadata) -> None:
        pass

    def helper(self, x: int) -> int:  # not a function: no model types
        return x

    def _private(self, input_data: GreetInput) -> GreetOutput:
        return GreetOutput(message="")

    async def stream(
        self, input_data: ReverseInput, metadata: Metadata
    ) -> AsyncGenerator[ReverseOutput, None]:
        yield ReverseOutput(reversed_text="")

    def sync_fn(self, app_input: GreetInput, meta: Any = None) -> GreetOutput | None:
        return None

    async def run(self, input_data: GreetInput, metadata: Metadata) -> GreetOutput:
        return GreetOutput(message="")

    @staticmethod
    def static(input_data: GreetInput) -> GreetOutput:
        return GreetOutput(message="")


def test_discovers_seed_functions() -> None:
    functions = discover_functions(SeedMultiApp)
    assert list(functions) == ["run", "reverse"]
    schema = app_schema(SeedMultiApp)
    assert schema["input_schema"] == GreetInput.model_json_schema()
    assert schema["output_schema"]["required"] == ["message"]
    assert schema["setup_schema"] is None
    assert schema["functions"]["reverse"] == {
        "description": "Reverse a string.",
        "input_schema": ReverseInput.model_json_schema(),
        "output_schema": ReverseOutput.model_json_schema(mode="serialization"),
        "capabilities": [],
        "kind": "run",
    }


def test_discovery_rules() -> None:
    functions = discover_functions(RichApp)
    assert list(functions) == ["run", "stream", "sync_fn"]
    stream, sync_fn = functions["stream"], functions["sync_fn"]
    assert (stream.input_model, stream.output_model) == (ReverseInput, ReverseOutput)
    assert (sync_fn.input_model, sync_fn.output_model) == (GreetInput, GreetOutput)
    assert app_schema(RichApp()) == app_schema(RichApp)  # an instance works like its class
    assert setup_model_of(RichApp) is Setup
    assert app_schema(RichApp)["setup_schema"]["properties"]["model_id"]["default"] == "gpt2"


def test_base_app_without_typed_run_has_no_functions() -> None:
    class Bare(BaseApp):
        pass

    assert discover_functions(Bare) == {}
    doc = app_schema(Bare, setup=Setup)
    assert doc["input_schema"] is None
    assert doc["setup_schema"]["title"] == "Setup"


def test_methods_without_model_types_are_not_functions() -> None:
    # The runtime's rule: such a method is skipped (it may be a helper), not an error.
    assert "helper" not in discover_functions(RichApp)
    assert "helper" not in app_schema(RichApp)["functions"]


def test_app_schema_matches_the_loaded_app(tmp_path: Path) -> None:
    # One rule set: an untyped `run` takes the module's AppInput/AppOutput in both.
    (tmp_path / "inference.py").write_text(
        "from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup\n"
        "class AppInput(BaseAppInput):\n    text: str\n"
        "class AppOutput(BaseAppOutput):\n    n: int\n"
        "class AppSetup(BaseAppSetup):\n    size: int = 1\n"
        "class App(BaseApp):\n"
        "    async def setup(self, config):\n        pass\n"
        "    async def run(self, input_data, metadata):\n"
        "        return AppOutput(n=len(input_data.text))\n"
    )
    loaded = load_app(tmp_path)
    doc = app_schema(loaded.app_class)
    assert doc == app_schemas(loaded)
    assert doc["input_schema"]["required"] == ["text"]
    assert doc["setup_schema"]["properties"]["size"]["default"] == 1


def test_functions_defined_with_create_model_and_exec() -> None:
    made_in = create_model("MadeIn", __base__=BaseAppInput, text=(str, ...))
    made_out = create_model("MadeOut", __base__=BaseAppOutput, file=(File, ...))
    namespace: dict[str, Any] = {"MadeIn": made_in, "MadeOut": made_out}
    exec(
        "class App:\n"
        "    async def run(self, input_data: MadeIn) -> MadeOut:\n"
        "        '''Made in a REPL.'''\n",
        namespace,
    )
    doc = app_schema(namespace["App"])
    assert doc["input_schema"]["required"] == ["text"]
    assert doc["output_schema"]["properties"]["file"] == {
        "format": "file",
        "title": "File",
        "type": "string",
    }
    assert doc["functions"]["run"]["description"] == "Made in a REPL."


def test_string_annotations_that_cannot_resolve_are_skipped() -> None:
    namespace: dict[str, Any] = {"GreetInput": GreetInput, "GreetOutput": GreetOutput}
    exec(
        "from __future__ import annotations\n"
        "class App:\n"
        "    async def run(self, input_data: GreetInput, metadata: NotImported) -> GreetOutput:\n"
        "        ...\n",
        namespace,
    )
    run = discover_functions(namespace["App"])["run"]
    assert (run.input_model, run.output_model) == (GreetInput, GreetOutput)
    assert run.binding.positional == ("input", "metadata")


def test_input_and_output_schema_helpers() -> None:
    assert input_schema(GreetInput)["properties"]["name"]["default"] == "World"
    assert output_schema(GreetOutput)["required"] == ["message"]
    with pytest.raises(TypeError, match="pydantic model class"):
        input_schema(int)  # type: ignore[arg-type]


def test_field_mixins_add_their_field_to_an_app_input(tmp_path: Path) -> None:
    """0.36's input mixins (``inferencesh.models.base``): one field each, with its media type."""
    from inferencesh.models.base import (
        OptionalTextFieldMixin,
        OrderedSchemaModel,
        RequiredFileFieldMixin,
        RequiredImageFieldMixin,
    )
    from pydantic import ValidationError

    class MixedInput(RequiredImageFieldMixin, OptionalTextFieldMixin, BaseAppInput):
        prompt: str

    assert issubclass(MixedInput, OrderedSchemaModel)
    schema = input_schema(MixedInput)
    assert list(schema["properties"]) == ["prompt", "text", "image"]
    assert schema["required"] == ["prompt", "image"]
    assert schema["properties"]["image"]["contentMediaType"] == "image/*"
    image = tmp_path / "cat.png"
    image.write_bytes(b"png")
    value = MixedInput.model_validate({"prompt": "p", "image": str(image), "text": ""})
    assert isinstance(value.image, File) and value.image.path == str(image)
    assert value.text == ""
    with pytest.raises(ValidationError, match="image"):
        MixedInput.model_validate({"prompt": "p"})
    # Required means required (0.36's RequiredFileFieldMixin left `file` optional).
    with pytest.raises(ValidationError, match="file"):
        RequiredFileFieldMixin.model_validate({})

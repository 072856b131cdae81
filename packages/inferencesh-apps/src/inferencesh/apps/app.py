"""The app authoring bases: ``BaseApp`` and the pydantic ``BaseAppInput``/``Output``/``Setup``."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, ClassVar

from inferencesh.apps.file import File
from inferencesh.apps.output_meta import OutputMeta
from pydantic import BaseModel, Field, model_validator

__all__ = [
    "BaseApp",
    "BaseAppInput",
    "BaseAppOutput",
    "BaseAppSetup",
    "BlankFilesAsNone",
    "OrderedSchemaModel",
    "SchemaModel",
]


def _field_order(cls: type[BaseModel]) -> list[str]:
    """Field names in the order the published SDK 0.36 gives its forms: the fields the class
    itself adds, in declared order, then every inherited field in pydantic's order (base classes
    first). A field the class redeclares keeps its inherited place.

    Read from the class's own ``__annotations__``, not its source, so it works for classes
    without source code (a REPL, a notebook cell, ``exec`` or ``pydantic.create_model``).
    """
    fields = cls.model_fields
    inherited: set[str] = set()
    for base in cls.__bases__:
        if isinstance(base, type) and issubclass(base, BaseModel):
            inherited.update(base.model_fields)
    own = [
        name for name in inspect.get_annotations(cls) if name in fields and name not in inherited
    ]
    return own + [name for name in fields if name not in own]


def _is_optional_file(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(annotation)
        return type(None) in args and any(arg is File for arg in args)
    return False


class BlankFilesAsNone(BaseModel):
    """Reads an empty string or empty object sent for an ``Optional[File]`` field as ``None``,
    which is what the platform's forms send for a file left blank (0.36 did the same)."""

    _optional_file_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._optional_file_fields = frozenset(
            name for name, info in cls.model_fields.items() if _is_optional_file(info.annotation)
        )

    @model_validator(mode="before")
    @classmethod
    def _blank_files_are_none(cls, data: Any) -> Any:
        if cls._optional_file_fields and isinstance(data, dict):
            blanks = [
                name
                for name in cls._optional_file_fields
                if name in data and data[name] in ("", {})
            ]
            if blanks:
                data = {**data, **dict.fromkeys(blanks)}
        return data


class SchemaModel(BlankFilesAsNone):
    """Base of the app models: JSON schemas list the class's own new fields first, then the
    inherited ones (as the published SDK 0.36 orders them).

    Also reads an empty string or empty object sent for an ``Optional[File]`` field as ``None``
    (:class:`BlankFilesAsNone`).
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The class's JSON schema, its top-level fields in the order of :func:`_field_order`.

        Only the top level is reordered, as the published SDK 0.36 does: a model nested in
        ``$defs`` keeps pydantic's order.
        """
        schema = super().model_json_schema(*args, **kwargs)
        properties = schema.get("properties")
        if isinstance(properties, dict):
            # Properties are keyed by alias when the schema is by alias.
            order: list[str] = []
            for name in _field_order(cls):
                info = cls.model_fields[name]
                for key in (info.serialization_alias, info.validation_alias, info.alias, name):
                    if isinstance(key, str) and key in properties and key not in order:
                        order.append(key)
                        break
            order += [key for key in properties if key not in order]
            schema["properties"] = {key: properties[key] for key in order}
            required = schema.get("required")
            if isinstance(required, list):
                schema["required"] = [key for key in order if key in required]
        return schema


OrderedSchemaModel = SchemaModel
"""0.36's name of :class:`SchemaModel` (``inferencesh.models.base.OrderedSchemaModel``)."""


class BaseAppInput(SchemaModel):
    """Base of an app's input model (and of per-function inputs).

    Example:
        >>> from pydantic import Field
        >>> from inferencesh import BaseAppInput
        >>> class AppInput(BaseAppInput):
        ...     prompt: str = Field(description="What to generate")
        ...     count: int = Field(default=1, ge=1, description="How many")
        >>> schema = AppInput.model_json_schema()  # what the platform shows as a form
        >>> list(schema["properties"]), schema["required"]
        (['prompt', 'count'], ['prompt'])
    """


class BaseAppSetup(SchemaModel):
    """Base of an app's setup model: values that need a fresh ``setup`` when they change."""


class BaseAppOutput(SchemaModel):
    """Base of an app's output model; ``output_meta`` carries usage for billing.

    Example:
        A ``File`` with a local ``path`` is uploaded by the platform when the app returns it;
        ``output_meta`` reports usage as typed items.

        >>> from inferencesh import BaseAppOutput, File, OutputMeta, TextMeta
        >>> class AppOutput(BaseAppOutput):
        ...     summary: File
        >>> usage = OutputMeta(outputs=[TextMeta(tokens=42)])
        >>> output = AppOutput(summary=File(path="report.txt"), output_meta=usage)
        >>> wire = output.model_dump(mode="json", exclude_none=True)
        >>> wire["summary"]["size"], wire["output_meta"]["outputs"][0]["tokens"]
        (17, 42)
    """

    output_meta: OutputMeta | None = Field(
        default=None,
        description="Structured metadata about inputs/outputs for pricing calculation",
    )


class BaseApp:
    """Base class of an app (``class App(BaseApp)`` in ``inference.py``).

    Override what you need; each may be ``async`` or plain, and the runtime passes only the
    parameters a method declares:

    - ``setup(self)``, ``setup(self, config)``, ``setup(self, metadata)`` or
      ``setup(self, config, metadata)``: load models; runs once per distinct setup config.
    - ``run(self, input_data)`` or ``run(self, input_data, metadata)``: one request. May be an async
      generator: every yield but the last is a partial output, the last is the result.
    - ``unload(self)``: release resources on shutdown (called once ``setup`` has been).
    - ``on_cancel(self)``: the user cancelled the running task; return quickly.

    Any other public method whose input and return are pydantic models is a function of a
    multi-function app. This is a plain class, so ``self.model = ...`` needs no declaration.

    Example:
        An app is plain Python: a test can call its methods directly.

        >>> import asyncio
        >>> from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
        >>> class AppInput(BaseAppInput):
        ...     name: str
        >>> class AppOutput(BaseAppOutput):
        ...     message: str
        >>> class App(BaseApp):
        ...     async def run(self, input_data: AppInput) -> AppOutput:
        ...         return AppOutput(message=f"Hello, {input_data.name}!")
        >>> asyncio.run(App().run(AppInput(name="World"))).message
        'Hello, World!'
    """

    def __init__(self, **extra_data: Any) -> None:
        """Set each keyword as an attribute (``App(model=m)`` sets ``self.model``), as the
        published SDK 0.36's pydantic ``BaseApp`` did; the runtime calls ``App()``."""
        for name, value in extra_data.items():
            setattr(self, name, value)

    async def setup(self) -> None:
        """Load resources. The default does nothing."""

    async def run(
        self, input_data: Any = None, metadata: Any = None, *, app_input: Any = None
    ) -> Any:
        """Handle one request. Every app overrides this (``app_input=`` is the published SDK
        0.36's name for ``input_data``)."""
        raise NotImplementedError(f"{type(self).__name__}.run is not implemented")

    async def unload(self) -> None:
        """Release resources on shutdown. The default does nothing."""

    async def on_cancel(self) -> None:
        """React to a cancelled task. The default does nothing."""

"""JSON schemas of an app's models and functions, as the platform stores them.

Works for any pydantic model class, including ones made in a REPL, a notebook cell, ``exec`` or
:func:`pydantic.create_model`: nothing here reads source code.

- :func:`input_schema`, :func:`setup_schema`, :func:`output_schema`: one model each.
- :func:`app_schema`: the whole ``/schema`` document of an app class. Which methods are functions
  is decided in one place, :mod:`inferencesh.apps.runtime.functions`, for this and the runtime.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["app_schema", "input_schema", "json_schema", "output_schema", "setup_schema"]


def json_schema(
    model: type[BaseModel], *, mode: Literal["validation", "serialization"] = "validation"
) -> dict[str, Any]:
    """The JSON schema of ``model`` (by alias, fields in declared order for the app bases)."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"expected a pydantic model class, got {model!r}")
    return model.model_json_schema(by_alias=True, mode=mode)


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of an input model: what callers may send."""
    return json_schema(model, mode="validation")


def setup_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of a setup model."""
    return json_schema(model, mode="validation")


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of an output model: what the app returns once serialized."""
    return json_schema(model, mode="serialization")


def app_schema(
    app: type[Any] | object,
    *,
    setup: type[BaseModel] | None = None,
    default_function: str | None = None,
) -> dict[str, Any]:
    """The whole schema document of an app class (or instance): ``{"input_schema",
    "output_schema", "setup_schema", "functions", "default_function"}``, exactly what the
    worker serves at ``GET /schema`` (``inferencesh app schema`` writes its schemas as files).

    The functions are found by the runtime's rules
    (:func:`inferencesh.apps.runtime.discover_functions`). Input and output are those of
    ``default_function`` (by default ``run``, else the first function; ``None`` when the app has
    no such function); ``setup`` overrides the model read from ``setup``'s signature.
    """
    # Imported here: the runtime imports this module's model-level helpers.
    from inferencesh.apps.runtime.functions import (
        default_function_name,
        discover_functions,
        setup_model_of,
    )
    from inferencesh.apps.runtime.schemas import schema_document

    cls = app if isinstance(app, type) else type(app)
    functions = discover_functions(cls)
    default = default_function if default_function is not None else default_function_name(functions)
    setup_cls = setup if setup is not None else setup_model_of(cls)
    return schema_document(functions, setup_cls, default)

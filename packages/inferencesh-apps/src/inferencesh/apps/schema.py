"""JSON schemas of an app's models and functions, as the platform stores them.

Works for any pydantic model class, including ones made in a REPL, a notebook cell, ``exec`` or
:func:`pydantic.create_model`: nothing here reads source code.

- :func:`input_schema`, :func:`setup_schema`, :func:`output_schema`: one model each.
- :func:`function_types` / :func:`discover_functions`: the input and output models of app methods.
- :func:`function_schema`, :func:`functions_schema`, :func:`app_schema`: the per-function schemas
  (``{"description", "input_schema", "output_schema"}``) and the whole ``/schema`` document.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

from inferencesh.apps.metadata import Metadata
from pydantic import BaseModel

__all__ = [
    "LIFECYCLE_METHODS",
    "app_schema",
    "discover_functions",
    "function_schema",
    "function_types",
    "functions_schema",
    "input_schema",
    "json_schema",
    "output_schema",
    "setup_model",
    "setup_schema",
]

LIFECYCLE_METHODS = frozenset({"setup", "unload", "on_cancel"})
"""Methods that are never functions of an app."""

_STREAM_ORIGINS = (
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.Generator,
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Awaitable,
)


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


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target = inspect.unwrap(fn)
    try:
        return typing.get_type_hints(target)
    except (NameError, TypeError, AttributeError):
        # One unresolvable annotation (say a type only imported for type checking) must not
        # hide the others.
        namespace = getattr(target, "__globals__", {})
        resolved: dict[str, Any] = {}
        for name, annotation in getattr(target, "__annotations__", {}).items():
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, namespace)
                except Exception:  # noqa: BLE001 - an unresolvable annotation is skipped
                    continue
            resolved[name] = annotation
        return resolved


def _model_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        models = [m for m in (_model_class(a) for a in args if a is not type(None)) if m]
        return models[0] if len(models) == 1 else None
    if origin is collections.abc.Coroutine and args:
        return _model_class(args[-1])
    if origin in _STREAM_ORIGINS and args:
        return _model_class(args[0])
    return None


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    if params and params[0].name in ("self", "cls") and not inspect.ismethod(fn):
        params = params[1:]
    return [p for p in params if p.kind not in (inspect.Parameter.VAR_POSITIONAL, p.VAR_KEYWORD)]


def function_types(fn: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]] | None:
    """The (input model, output model) of an app method, or ``None`` if it has no such types.

    The input is the first parameter's annotation (after ``self``); the output is the return
    annotation, unwrapped from ``Optional``, awaitables and (async) generators/iterators, so a
    streaming ``AsyncGenerator[Out, None]`` counts as returning ``Out``.
    """
    try:
        params = _parameters(fn)
    except (TypeError, ValueError):
        return None
    if not params:
        return None
    hints = _hints(fn)
    source = _model_class(hints.get(params[0].name))
    result = _model_class(hints.get("return"))
    if source is None or result is None or issubclass(source, Metadata):
        return None
    return source, result


def discover_functions(app: type[Any] | object) -> dict[str, Callable[..., Any]]:
    """The functions of an app class or instance: ``run`` first, then every other public method
    whose input and output are pydantic models, in definition order; lifecycle methods excluded."""
    cls = app if isinstance(app, type) else type(app)
    seen: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name.startswith("_") or name in LIFECYCLE_METHODS:
                continue
            if isinstance(value, staticmethod | classmethod) or not callable(value):
                seen.pop(name, None)
                continue
            seen[name] = value
    found = {
        name: (getattr(app, name) if not isinstance(app, type) else fn)
        for name, fn in seen.items()
        if function_types(fn) is not None
    }
    if "run" in found:
        found = {"run": found.pop("run"), **found}
    return found


def setup_model(app: type[Any] | object) -> type[BaseModel] | None:
    """The model ``setup`` takes as its config, if its signature names one (Metadata excluded)."""
    setup = getattr(app if isinstance(app, type) else type(app), "setup", None)
    if setup is None:
        return None
    hints = _hints(setup)
    for param in _parameters(setup):
        model = _model_class(hints.get(param.name))
        if model is not None and not issubclass(model, Metadata):
            return model
    return None


def _description(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n", 1)[0].strip()


def function_schema(fn: Callable[..., Any], *, description: str | None = None) -> dict[str, Any]:
    """``{"description", "input_schema", "output_schema"}`` for one app method.

    The description defaults to the first paragraph of the docstring. Raises ``TypeError`` when
    the method lacks pydantic input/output annotations.
    """
    found = function_types(fn)
    if found is None:
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"{name} needs a pydantic model as its first parameter's annotation and as its "
            "return annotation to be an app function"
        )
    source, result = found
    return {
        "description": _description(fn) if description is None else description,
        "input_schema": input_schema(source),
        "output_schema": output_schema(result),
    }


def functions_schema(functions: Mapping[str, Callable[..., Any]]) -> dict[str, Any]:
    """``{name: function_schema(fn)}`` for every function (``functions_schema.json``)."""
    return {name: function_schema(fn) for name, fn in functions.items()}


def app_schema(
    app: type[Any] | object,
    *,
    setup: type[BaseModel] | None = None,
    default_function: str = "run",
) -> dict[str, Any]:
    """The whole schema document: ``{"input_schema", "output_schema", "setup_schema",
    "functions"}``. Input and output are those of ``default_function`` (``None`` if the app has
    no such function); ``setup`` overrides the model read from ``setup``'s signature."""
    functions = discover_functions(app)
    default = functions.get(default_function)
    types_ = function_types(default) if default is not None else None
    setup_cls = setup if setup is not None else setup_model(app)
    return {
        "input_schema": input_schema(types_[0]) if types_ else None,
        "output_schema": output_schema(types_[1]) if types_ else None,
        "setup_schema": setup_schema(setup_cls) if setup_cls is not None else None,
        "functions": functions_schema(functions),
    }

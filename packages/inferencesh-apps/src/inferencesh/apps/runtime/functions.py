"""Function discovery and signature introspection for ``App`` classes.

Apps in the wild use many signatures (``setup()``, ``setup(config)``, ``setup(metadata)``,
``setup(config, metadata)``; ``run(input)``, ``run(input, metadata)``) and any parameter names,
so each method is inspected once and called with only what it declares.

This module holds the one set of rules for what an app's functions are: the loader, the worker,
``inferencesh app schema`` and :func:`inferencesh.apps.schema.app_schema` all use it. The module
argument (where ``AppInput``/``AppOutput``/``AppSetup`` fallbacks are looked up) defaults to the
class's own module, so classes made in a REPL, a notebook or ``exec`` work too.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from inferencesh.apps.function_meta import function_meta
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.runtime.deltas import delta_types_in, is_delta_type
from inferencesh.apps.socket import SOCKET_PARAMETERS
from pydantic import BaseModel

__all__ = [
    "LIFECYCLE_METHODS",
    "UnservableFunctionError",
    "AppFunction",
    "Binding",
    "bind_setup",
    "default_function_name",
    "discover_functions",
    "function_kind",
    "is_framework_default",
    "setup_model_of",
]

LIFECYCLE_METHODS = frozenset({"setup", "unload", "on_cancel"})
_METADATA_NAMES = frozenset({"metadata", "meta"})
_CONFIG_NAMES = frozenset({"config", "cfg", "setup", "setup_config", "settings", "app_setup"})
_ITERATOR_ORIGINS = (
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.Generator,
    collections.abc.Iterator,
    collections.abc.Iterable,
)

Role = Literal["input", "config", "metadata", "socket"]
FunctionKind = Literal["run", "stream"]


@dataclass(frozen=True)
class Binding:
    """How to call a method: which value goes to each declared parameter."""

    positional: tuple[Role, ...]
    keyword: tuple[tuple[str, Role], ...] = ()

    @functools.cached_property
    def roles(self) -> frozenset[Role]:
        """The values the method takes (so the caller makes only those)."""
        return frozenset((*self.positional, *(role for _, role in self.keyword)))

    def arguments(self, values: dict[Role, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The ``(args, kwargs)`` for a call given the available values."""
        return [values[r] for r in self.positional], {n: values[r] for n, r in self.keyword}


@dataclass(frozen=True)
class AppFunction:
    """One callable function of an app (``run`` or a method of a multi-function app)."""

    name: str
    input_model: type[BaseModel] | None
    output_model: type[BaseModel] | None
    description: str
    binding: Binding
    delta_types: tuple[type, ...] = ()
    """The ``StreamDelta`` classes the return annotation names (see ``runtime.deltas``)."""
    kind: FunctionKind = "run"
    """``stream`` for a stream function (it takes a socket), else ``run``."""
    capabilities: tuple[str, ...] = ()
    meta: dict[str, Any] | None = None
    """What ``@function`` attached (``credentials``, ``annotations``), or ``None``."""


class UnservableFunctionError(TypeError):
    """An ``@function`` on a method the runtime cannot serve; the message names the file and
    the line of the decorated method, and the reason."""


def function_kind(func: Any) -> FunctionKind:
    """``stream`` when ``func`` takes a ``socket`` (or ``sock``) parameter, else ``run``: the one
    rule that makes a method a stream function (schemas, the worker and the runtime use it)."""
    names = {p.name for p in _parameters(func)} if callable(func) else set()
    return "stream" if names & SOCKET_PARAMETERS else "run"


def is_framework_default(app_class: type, name: str) -> bool:
    """Whether ``app_class.name`` is only the framework's do-nothing default (``BaseApp``)."""
    attr = inspect.getattr_static(app_class, name, None)
    if getattr(attr, "__inferencesh_function__", None) is not None:
        return False  # a function a framework mixin adds (OpenAIChatMixin.openai)
    module = getattr(attr, "__module__", "") or ""
    return module.startswith("inferencesh.")


def discover_functions(
    app_class: type, module: types.ModuleType | None = None
) -> dict[str, AppFunction]:
    """``run`` plus every public method whose input and return are pydantic models.

    Lifecycle methods (``setup``, ``unload``, ``on_cancel``), private names, static and class
    methods, properties and ``BaseApp``'s defaults are never functions. An untyped ``run`` takes
    the module's ``AppInput``/``AppOutput``. ``run`` comes first, the rest in source order.

    Each function's ``kind`` is ``stream`` when it takes a ``socket`` (or ``sock``) parameter,
    else ``run``; ``capabilities`` come from its types; ``meta`` is what ``@function`` attached.
    An ``@function`` on a method that cannot be served raises ``TypeError`` naming its file,
    line and the reason.
    """
    if not isinstance(app_class, type):
        raise TypeError(f"expected an app class, got {app_class!r}")
    module = _module_of(app_class, module)
    found: dict[str, AppFunction] = {}
    for name in dir(app_class):
        attr = inspect.getattr_static(app_class, name, None)
        meta = function_meta(getattr(attr, "__func__", attr))
        if name.startswith("_") or name in LIFECYCLE_METHODS:
            if meta is not None:
                _unservable(app_class, name, attr, "a private or lifecycle method is no function")
            continue
        if is_framework_default(app_class, name):
            continue
        if isinstance(attr, (staticmethod, classmethod, property)) or not inspect.isfunction(attr):
            if meta is not None:
                _unservable(app_class, name, attr, "only plain (or async) methods are functions")
            continue
        hints = _hints(attr, module)
        params = _parameters(attr)
        if name == "run":
            found[name] = _run_function(name, attr, hints, params, module)
        else:
            input_model = _first_model(params, hints)
            output_model = _output_model(hints.get("return"))
            if input_model is None or output_model is None:
                if meta is not None:
                    missing = "input parameter" if input_model is None else "return annotation"
                    _unservable(app_class, name, attr, f"its {missing} is not a pydantic model")
                continue
            found[name] = AppFunction(
                name=name,
                input_model=input_model,
                output_model=output_model,
                description=_description(attr),
                binding=_bind(name, params, hints, primary="input"),
                delta_types=delta_types_in(hints.get("return")),
                kind=function_kind(attr),
            )
        fn = found[name]
        found[name] = dataclasses.replace(fn, capabilities=_capabilities(fn), meta=meta)
    # `run` first, then the rest in source order where it is known.
    return dict(
        sorted(found.items(), key=lambda item: (item[0] != "run", _line(app_class, item[0])))
    )


def default_function_name(functions: dict[str, AppFunction]) -> str | None:
    """The function callers get when they name none (and ``inf.yml`` names none): ``run``, else
    the first function, else ``None``."""
    if "run" in functions:
        return "run"
    return next(iter(functions), None)


def setup_model_of(
    app_class: type, module: types.ModuleType | None = None
) -> type[BaseModel] | None:
    """The setup config model: the annotation of ``setup``'s config parameter, else ``AppSetup``."""
    module = _module_of(app_class, module)
    setup = inspect.getattr_static(app_class, "setup", None)
    if inspect.isfunction(setup) and not is_framework_default(app_class, "setup"):
        model = _first_model(_parameters(setup), _hints(setup, module))
        if model is not None:
            return model
    return _module_model(module, "AppSetup")


def bind_setup(app_class: type, module: types.ModuleType | None = None) -> Binding | None:
    """How to call ``setup``, or ``None`` when the app has no setup of its own."""
    module = _module_of(app_class, module)
    setup = inspect.getattr_static(app_class, "setup", None)
    if not inspect.isfunction(setup) or is_framework_default(app_class, "setup"):
        return None
    params = _parameters(setup)
    hints = _hints(setup, module)
    if len(params) == 1 and _role_from_hint_or_name(params[0], hints) is None:
        # `setup(self, x)`: a config when the app has a setup model, else the metadata.
        has_model = setup_model_of(app_class, module) is not None
        role: Role = "config" if has_model else "metadata"
        return _binding_from_roles(params, {params[0].name: role})
    return _bind("setup", params, hints, primary="config")


def _run_function(
    name: str,
    func: Any,
    hints: dict[str, Any],
    params: list[inspect.Parameter],
    module: types.ModuleType | None,
) -> AppFunction:
    binding = _bind(name, params, hints, primary="input")
    input_model = _first_model(params, hints) if binding.positional or binding.keyword else None
    if input_model is None:
        input_model = _module_model(module, "AppInput")
    output_model = _output_model(hints.get("return")) or _module_model(module, "AppOutput")
    return AppFunction(
        name=name,
        input_model=input_model,
        output_model=output_model,
        description=_description(func),
        binding=binding,
        delta_types=delta_types_in(hints.get("return")),
        kind=function_kind(func),
    )


def _module_of(app_class: type, module: types.ModuleType | None) -> types.ModuleType | None:
    # A class made by `exec` or in a notebook may name a module that is not imported.
    return module if module is not None else sys.modules.get(app_class.__module__)


def _module_model(module: types.ModuleType | None, name: str) -> type[BaseModel] | None:
    candidate = getattr(module, name, None)
    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
        return candidate
    return None


def _hints(func: Any, module: types.ModuleType | None) -> dict[str, Any]:
    default_ns = vars(module) if module is not None else {}
    namespace: dict[str, Any] = getattr(func, "__globals__", default_ns)
    try:
        return typing.get_type_hints(func, globalns=namespace)
    except Exception:  # noqa: BLE001
        # One unresolvable annotation (say a type only imported for type checking) must not hide
        # the others: resolve them one by one and skip the ones that fail.
        resolved: dict[str, Any] = {}
        for key, value in (getattr(func, "__annotations__", {}) or {}).items():
            if isinstance(value, str):
                try:
                    value = eval(value, namespace)
                except Exception:  # noqa: BLE001 - an unresolvable annotation is skipped
                    continue
            resolved[key] = value
        return resolved


def _parameters(func: Any) -> list[inspect.Parameter]:
    """Declared parameters after ``self``, without ``*args``/``**kwargs``."""
    params = list(inspect.signature(func).parameters.values())[1:]
    return [
        p
        for p in params
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        # Delta types in a union (`LLMDelta | LLMOutput`) are streamed, never the output.
        args = [arg for arg in typing.get_args(annotation) if not is_delta_type(arg)]
        models = [m for m in (_model(arg) for arg in args) if m]
        if len(models) == 1:
            return models[0]
    if origin is typing.Annotated:
        return _model(typing.get_args(annotation)[0])
    return None


def _output_model(annotation: Any) -> type[BaseModel] | None:
    origin = typing.get_origin(annotation)
    if origin in _ITERATOR_ORIGINS:
        args = typing.get_args(annotation)
        return _model(args[0]) if args else None
    return _model(annotation)


def _first_model(params: list[inspect.Parameter], hints: dict[str, Any]) -> type[BaseModel] | None:
    for param in params:
        model = _model(hints.get(param.name))
        if model is not None and not issubclass(model, Metadata):
            return model
    return None


def _role_from_hint_or_name(param: inspect.Parameter, hints: dict[str, Any]) -> Role | None:
    model = _model(hints.get(param.name))
    if model is not None:
        return "metadata" if issubclass(model, Metadata) else None
    if param.name in _METADATA_NAMES:
        return "metadata"
    return None


def _bind(
    name: str,
    params: list[inspect.Parameter],
    hints: dict[str, Any],
    *,
    primary: Literal["input", "config"],
) -> Binding:
    """Give each parameter a role: metadata by type or name; the primary value by model type or
    by config-like name; the rest in order (primary first, then metadata)."""
    roles: dict[str, Role] = {}
    if primary == "input":
        for param in params:
            if param.name in SOCKET_PARAMETERS and "socket" not in roles.values():
                roles[param.name] = "socket"
    for param in params:
        if param.name in roles:
            continue
        if _role_from_hint_or_name(param, hints) == "metadata" and "metadata" not in roles.values():
            roles[param.name] = "metadata"
    for param in params:
        if param.name in roles or primary in roles.values():
            continue
        model = _model(hints.get(param.name))
        if model is not None or (primary == "config" and param.name in _CONFIG_NAMES):
            roles[param.name] = primary
    for param in params:
        if param.name in roles:
            continue
        if primary not in roles.values():
            roles[param.name] = primary
        elif "metadata" not in roles.values():
            roles[param.name] = "metadata"
        elif param.default is inspect.Parameter.empty:
            raise TypeError(
                f"`{name}` has a parameter `{param.name}` the runtime cannot fill: it passes "
                f"at most one {primary} and the metadata"
            )
    return _binding_from_roles(params, roles)


def _binding_from_roles(params: list[inspect.Parameter], roles: dict[str, Role]) -> Binding:
    positional: list[Role] = []
    keyword: list[tuple[str, Role]] = []
    by_keyword = False
    for param in params:
        role = roles.get(param.name)
        if role is None:
            # A parameter left to its default: later ones must be passed by name.
            by_keyword = True
            continue
        if by_keyword or param.kind is inspect.Parameter.KEYWORD_ONLY:
            by_keyword = True
            keyword.append((param.name, role))
        else:
            positional.append(role)
    return Binding(positional=tuple(positional), keyword=tuple(keyword))


def _description(func: Any) -> str:
    # The method's own docstring only: an inherited one (BaseApp.run's) describes nothing.
    doc = inspect.cleandoc(func.__doc__) if func.__doc__ else ""
    return doc.split("\n\n", 1)[0].strip()


def _line(app_class: type, name: str) -> int:
    func = inspect.getattr_static(app_class, name, None)
    code = getattr(func, "__code__", None)
    return code.co_firstlineno if code is not None else 0


def _unservable(app_class: type, name: str, attr: Any, reason: str) -> None:
    """``@function`` on a method the runtime cannot serve: fail with its file and line (the
    first decorator's line, as Python counts a decorated function's first line)."""
    target = getattr(attr, "__func__", attr)
    code = getattr(target, "__code__", None)
    where = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else app_class.__name__
    raise UnservableFunctionError(
        f"{where}: @function `{app_class.__name__}.{name}` cannot be served: {reason}"
    )


def _capabilities(fn: AppFunction) -> tuple[str, ...]:
    """What a function's types say it is: ``llm`` for an LLM input and output."""
    from inferencesh.models.llm import LLMInput, LLMOutput

    found: list[str] = []
    if (
        fn.input_model is not None
        and issubclass(fn.input_model, LLMInput)
        and fn.output_model is not None
        and issubclass(fn.output_model, LLMOutput)
    ):
        found.append("llm")
    return tuple(found)

"""Turn a typed Python function into a tool description: name, description, parameter schemas."""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from inferencesh.agents.params import (
    JSONSchema,
    ToolDefinitionError,
    array,
    boolean,
    integer,
    number,
    optional,
    string,
)

_SCALARS: dict[type, Callable[[], JSONSchema]] = {
    bool: boolean,  # before int: bool is an int subclass
    int: integer,
    float: number,
    str: string,
}
_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SECTIONS = ("args:", "arguments:", "parameters:", "params:")


def _parse_doc(doc: str) -> tuple[str, dict[str, str]]:
    """The summary paragraph and per-argument descriptions (Google or Sphinx style)."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or line.strip().lower() in _SECTIONS or line.lstrip().startswith(":"):
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    in_args = False
    current: str | None = None
    arg_indent = 0
    for line in lines:
        stripped = line.strip()
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            current = sphinx.group(1)
            args[current] = sphinx.group(2).strip()
            in_args = False
            continue
        if stripped.lower() in _SECTIONS:
            in_args, current, arg_indent = True, None, -1
            continue
        if not in_args:
            continue
        if not stripped:
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        if arg_indent < 0:
            arg_indent = indent
        if indent < arg_indent or (indent == arg_indent and stripped.endswith(":")):
            in_args = False  # the next section started
            continue
        match = _ARG_LINE.match(stripped) if indent == arg_indent else None
        if match:
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(summary), args


def _schema_for(tp: Any, where: str) -> tuple[JSONSchema, bool]:
    """The schema for annotation ``tp`` and whether ``None`` is allowed."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        schema, nullable = _schema_for(args[0], where)
        notes = [a for a in args[1:] if isinstance(a, str)]
        if notes:
            schema["description"] = notes[0]
        return schema, nullable
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise ToolDefinitionError(
                f"{where}: unsupported union {tp!r}; only `T | None` is allowed in tool parameters"
            )
        schema, _ = _schema_for(rest[0], where)
        return schema, len(rest) < len(args)
    if origin is typing.Literal:
        if all(isinstance(a, str) for a in args):
            return {"type": "string", "enum": list(args)}, False
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return {"type": "integer", "enum": list(args)}, False
        raise ToolDefinitionError(f"{where}: Literal values must be all strings or all integers")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        if all(isinstance(v, str) for v in values):
            return {"type": "string", "enum": values}, False
        if all(isinstance(v, int) for v in values):
            return {"type": "integer", "enum": values}, False
        raise ToolDefinitionError(f"{where}: enum {tp.__name__} must have str or int values")
    if tp in _SCALARS:
        return _SCALARS[tp](), False
    container = origin or tp
    if container is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        raise ToolDefinitionError(
            f"{where}: a fixed-length tuple {tp!r} has no JSON Schema here; use tuple[T, ...] or "
            "list[T]"
        )
    if isinstance(container, type) and issubclass(container, Mapping):
        return {"type": "object"}, False
    if (
        isinstance(container, type)
        and issubclass(container, (Sequence, set, frozenset))
        and not issubclass(container, (str, bytes))
    ):
        if not args:
            raise ToolDefinitionError(f"{where}: say what the list holds, e.g. list[str]")
        items, _ = _schema_for(args[0], where)
        return array(items), False
    raise ToolDefinitionError(
        f"{where}: unsupported annotation {tp!r}; use str, int, float, bool, list[...], dict, "
        "Literal[...], an Enum, or `T | None`"
    )


def _signature(fn: Callable[..., Any]) -> tuple[str, inspect.Signature, dict[str, Any]]:
    if not callable(fn):
        raise ToolDefinitionError(f"from_function() takes a function, got {fn!r}")
    name = getattr(fn, "__name__", "")
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ToolDefinitionError(f"function {name!r}: cannot read its signature: {exc}") from exc
    return name, signature, hints


def function_handler(fn: Callable[..., Any]) -> Callable[[dict[str, Any]], Any]:
    """A tool handler calling ``fn`` with the model's arguments as its annotations say.

    JSON gives strings and lists where ``fn`` declares an ``Enum``, a ``set`` or a ``float``:
    each argument is converted to its annotation (an invalid one raises ``ValueError`` naming
    it, which the model reads as the tool's error). A missing ``T | None`` argument without a
    default is passed as ``None`` (the schema marks it optional); a ``null`` one with a default
    leaves the default.
    """
    name, signature, hints = _signature(fn)
    declared = {p.name: p for p in signature.parameters.values()}
    # Parameters the schema marks optional though Python needs a value: `x: T | None`.
    none_if_missing = {
        p.name
        for p in declared.values()
        if p.default is p.empty and _schema_for(hints[p.name], p.name)[1]
    }

    def handler(args: dict[str, Any]) -> Any:
        unknown = sorted(set(args) - set(declared))
        if unknown:
            raise ValueError(f"unknown arguments {unknown}; {name}() takes {sorted(declared)}")
        kwargs: dict[str, Any] = {}
        for param_name, param in declared.items():
            value = args.get(param_name)
            # Left out, or `null` (how many models say "not given") for a parameter that has a
            # default: the default holds.
            if value is None and param.default is not param.empty:
                continue
            if param_name not in args:
                if param_name in none_if_missing:
                    kwargs[param_name] = None
                continue
            try:
                kwargs[param_name] = msgspec.convert(value, hints[param_name], strict=False)
            except msgspec.ValidationError as exc:
                raise ValueError(f"argument {param_name!r}: {exc}") from None
        return fn(**kwargs)

    return handler


def describe_function(fn: Callable[..., Any]) -> tuple[str, str, dict[str, JSONSchema]]:
    """Name, description and parameter schemas of ``fn`` from its signature and docstring."""
    name, signature, hints = _signature(fn)
    summary, arg_docs = _parse_doc(inspect.getdoc(fn) or "")
    params: dict[str, JSONSchema] = {}
    for param in signature.parameters.values():
        where = f"function {name!r}: parameter {param.name!r}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ToolDefinitionError(f"{where}: tools take named arguments only")
        if param.name not in hints:
            raise ToolDefinitionError(f"{where}: add a type annotation (it becomes the schema)")
        schema, nullable = _schema_for(hints[param.name], where)
        if arg_docs.get(param.name) and "description" not in schema:
            schema["description"] = arg_docs[param.name]
        if nullable or param.default is not param.empty:
            schema = optional(schema)
        params[param.name] = schema
    return name, summary, params

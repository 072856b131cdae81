"""Parameter schema helpers for tools: small JSON Schema fragments the agent's LLM sees.

Each helper returns a plain ``dict``; ``optional(...)`` marks a parameter as not required. The
builders turn a mapping of name -> schema into one object schema with ``required`` filled in.

Example:
    >>> from inferencesh import enum_of, integer, optional, string, tool
    >>> string("User's name")
    {'type': 'string', 'description': "User's name"}
    >>> optional(integer())
    {'type': 'integer', 'optional': True}
    >>> search = tool("search").params({
    ...     "query": string("What to look for"),
    ...     "order": optional(enum_of(["new", "top"])),
    ... }).build()
    >>> search["client"]["input_schema"]["required"]
    ['query']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ToolDefinitionError",
    "array",
    "boolean",
    "enum_of",
    "integer",
    "number",
    "obj",
    "optional",
    "string",
]

JSONSchema = dict[str, Any]

# The JSON Schema types an LLM function-calling schema may use.
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_OPTIONAL = "optional"


class ToolDefinitionError(ValueError):
    """A tool or parameter definition is invalid; the message says what and where."""


def _with_description(schema: JSONSchema, description: str | None) -> JSONSchema:
    if description:
        schema["description"] = description
    return schema


def string(description: str | None = None) -> JSONSchema:
    """A string parameter."""
    return _with_description({"type": "string"}, description)


def number(description: str | None = None) -> JSONSchema:
    """A number parameter (integer or float)."""
    return _with_description({"type": "number"}, description)


def integer(description: str | None = None) -> JSONSchema:
    """An integer parameter."""
    return _with_description({"type": "integer"}, description)


def boolean(description: str | None = None) -> JSONSchema:
    """A boolean parameter."""
    return _with_description({"type": "boolean"}, description)


def enum_of(values: Sequence[str], description: str | None = None) -> JSONSchema:
    """A string parameter limited to ``values``."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ToolDefinitionError(f"enum_of() takes a list of strings, got {values!r}")
    if not values:
        raise ToolDefinitionError("enum_of() needs at least one value")
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise ToolDefinitionError(f"enum_of() values must be strings, got {bad!r}")
    return _with_description({"type": "string", "enum": list(values)}, description)


def array(items: Mapping[str, Any], description: str | None = None) -> JSONSchema:
    """An array parameter whose elements follow the ``items`` schema."""
    if not isinstance(items, Mapping):
        raise ToolDefinitionError(f"array() takes an item schema such as string(), got {items!r}")
    return _with_description({"type": "array", "items": dict(items)}, description)


def obj(properties: Mapping[str, Mapping[str, Any]], description: str | None = None) -> JSONSchema:
    """An object parameter with the given named properties (mark some with ``optional``)."""
    if not isinstance(properties, Mapping):
        raise ToolDefinitionError(f"obj() takes a mapping of name -> schema, got {properties!r}")
    return _with_description(
        {"type": "object", "properties": {k: dict(v) for k, v in properties.items()}},
        description,
    )


def optional(schema: Mapping[str, Any]) -> JSONSchema:
    """Mark a parameter (or an object property) as not required."""
    if not isinstance(schema, Mapping):
        raise ToolDefinitionError(f"optional() takes a schema such as string(), got {schema!r}")
    return {**schema, _OPTIONAL: True}


def _check_schema(schema: object, where: str) -> None:
    """Raise ``ToolDefinitionError`` naming ``where`` if ``schema`` is not a usable schema."""
    if not isinstance(schema, Mapping):
        raise ToolDefinitionError(
            f"{where}: a parameter schema must be a dict such as string('...'), got {schema!r}"
        )
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        return
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or any(not isinstance(k, str) or k not in _TYPES for k in kinds):
        raise ToolDefinitionError(
            f"{where}: unknown parameter type {kind!r}; use one of {sorted(_TYPES)} "
            "(string(), number(), integer(), boolean(), enum_of(), array(), obj())"
        )
    if "array" in kinds:
        if "items" not in schema:
            raise ToolDefinitionError(
                f"{where}: an array needs an item schema, as in array(string())"
            )
        _check_schema(schema["items"], f"{where}[]")
    if "object" in kinds and "properties" in schema:
        props = schema["properties"]
        if not isinstance(props, Mapping):
            raise ToolDefinitionError(f"{where}: object properties must be a dict of schemas")
        for name, sub in props.items():
            _check_schema(sub, f"{where}.{name}")


def _clean(schema: Mapping[str, Any]) -> JSONSchema:
    """Strip ``optional`` markers, recursing into objects and array items, and fill ``required``."""
    out = {k: v for k, v in schema.items() if k != _OPTIONAL}
    props = out.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {name: _clean(sub) for name, sub in props.items()}
        required = [name for name, sub in props.items() if not sub.get(_OPTIONAL)]
        if required:
            out["required"] = required
    items = out.get("items")
    if isinstance(items, Mapping):
        out["items"] = _clean(items)
    return out


def to_json_schema(params: Mapping[str, Mapping[str, Any]], where: str = "tool") -> JSONSchema:
    """The object schema for a tool's named parameters, validated; ``required`` is always present."""
    for name, schema in params.items():
        _check_schema(schema, f"{where}: parameter {name!r}")
    return {
        "type": "object",
        "properties": {name: _clean(schema) for name, schema in params.items()},
        "required": [name for name, schema in params.items() if not schema.get(_OPTIONAL)],
    }

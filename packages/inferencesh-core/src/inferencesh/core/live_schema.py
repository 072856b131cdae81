"""Reading live fields out of a stream function's JSON schema (the caller's side).

A live field is a property with ``"type": "array", "format": "stream"``; its items are binary
(``"format": "binary"`` with a ``contentMediaType``) or typed JSON values. These helpers split
them from the ordinary fields, so a UI or a client can build a form for the ordinary ones and
a stream for the live ones.

Example:
    >>> from inferencesh.core.live_schema import pcm_format, split_live_schema
    >>> schema = {
    ...     "type": "object",
    ...     "properties": {
    ...         "audio": {"type": "array", "format": "stream", "title": "Audio", "items": {
    ...             "type": "string", "format": "binary",
    ...             "contentMediaType": "audio/pcm;format=s16le;rate=16000;channels=1"}},
    ...         "label": {"type": "string", "default": "heard"},
    ...     },
    ...     "required": ["audio"],
    ... }
    >>> ordinary, live = split_live_schema(schema)
    >>> sorted(ordinary["properties"]), ordinary["required"]
    (['label'], [])
    >>> live[0].key, live[0].binary, pcm_format(live[0].media)
    ('audio', True, PCMFormat(sample_rate=16000, channels=1))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = [
    "STREAM_FORMAT",
    "LiveField",
    "SplitLiveSchema",
    "MediaType",
    "PCMFormat",
    "alternative_label",
    "alternative_tag",
    "binary_live_field",
    "is_live_field",
    "parse_media_type",
    "pcm_format",
    "split_live_schema",
]

STREAM_FORMAT = "stream"
JsonSchema = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class MediaType:
    """A media type split into its type and parameters."""

    type: str
    """e.g. ``"audio/pcm"``"""
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    """e.g. ``{"format": "s16le", "rate": "16000", "channels": "1"}``"""


@dataclasses.dataclass(frozen=True)
class PCMFormat:
    """The shape of 16-bit PCM audio frames."""

    sample_rate: int
    channels: int


@dataclasses.dataclass(frozen=True)
class LiveField:
    """One live field of a schema."""

    key: str
    title: str
    description: str | None = None
    binary: bool = False
    """Its items are binary frames."""
    media: MediaType | None = None
    """The items' media type, when binary."""
    alternatives: list[JsonSchema] = dataclasses.field(default_factory=list)
    """What one JSON item can be (the branches of an ``anyOf``/``oneOf``, or the one item
    schema), ``$ref``s resolved; empty for a binary field."""
    discriminator: str | None = None
    """The property that tells the alternatives apart, when the schema names one."""


def parse_media_type(value: str | None) -> MediaType | None:
    """``"audio/pcm;rate=16000"`` as ``MediaType("audio/pcm", {"rate": "16000"})``; ``None``
    for an empty value.

    >>> from inferencesh.core.live_schema import parse_media_type
    >>> parse_media_type("Audio/PCM; rate=16000 ;channels=1")
    MediaType(type='audio/pcm', params={'rate': '16000', 'channels': '1'})
    """
    if not value:
        return None
    head, *rest = (part.strip() for part in value.split(";"))
    if not head:
        return None
    params: dict[str, str] = {}
    for part in rest:
        name, sep, param = part.partition("=")
        if sep and name.strip():
            params[name.strip().lower()] = param.strip().strip('"')
    return MediaType(head.lower(), params)


def pcm_format(media: MediaType | None) -> PCMFormat | None:
    """The PCM format of a media type (rate defaults to 16000, channels to 1), or ``None``
    when it is not 16-bit little-endian PCM audio."""
    if media is None or media.type != "audio/pcm":
        return None
    if media.params.get("format", "s16le") != "s16le":
        return None
    try:
        rate = int(media.params.get("rate", 16000))
        channels = int(media.params.get("channels", 1))
    except ValueError:
        return None
    if rate <= 0 or channels <= 0:
        return None
    return PCMFormat(rate, channels)


def is_live_field(schema: Mapping[str, Any] | None) -> bool:
    """Whether a property schema is a live field."""
    return (
        isinstance(schema, Mapping)
        and schema.get("format") == STREAM_FORMAT
        and schema.get("type") == "array"
    )


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int = 0) -> JsonSchema:
    ref = schema.get("$ref")
    defs = root.get("$defs") or {}
    if not isinstance(ref, str) or not ref.startswith("#/$defs/") or depth > 32:
        return dict(schema)
    target = defs.get(ref[len("#/$defs/") :])
    if not isinstance(target, Mapping):
        return dict(schema)
    own = {k: v for k, v in schema.items() if k != "$ref"}
    return {**_resolve(target, root, depth + 1), **own}


def _live_field(key: str, prop: Mapping[str, Any], root: Mapping[str, Any]) -> LiveField:
    items = prop.get("items")
    items = _resolve(items, root) if isinstance(items, Mapping) else {}
    title = str(prop.get("title") or key)
    description = prop.get("description")
    if items.get("format") == "binary" or items.get("contentMediaType"):
        media = parse_media_type(items.get("contentMediaType")) or MediaType(
            "application/octet-stream"
        )
        return LiveField(key, title, description, binary=True, media=media)
    branches = items.get("anyOf") or items.get("oneOf")
    alternatives = (
        [_resolve(b, root) for b in branches if isinstance(b, Mapping)]
        if isinstance(branches, list)
        else [items]
    )
    discriminator = items.get("discriminator")
    name = discriminator.get("propertyName") if isinstance(discriminator, Mapping) else None
    return LiveField(
        key,
        title,
        description,
        alternatives=alternatives,
        discriminator=name if isinstance(name, str) else None,
    )


class SplitLiveSchema(NamedTuple):
    """What :func:`split_live_schema` returns: unpack it as a pair or read its fields."""

    ordinary: JsonSchema
    """The schema without its live fields."""
    live: list[LiveField]
    """The live fields, in declared order."""


def split_live_schema(schema: Mapping[str, Any] | None) -> SplitLiveSchema:
    """``(ordinary, live)``: the schema without its live fields (``required`` filtered to
    what is left) and the live fields in declared order."""
    if not isinstance(schema, Mapping):
        return SplitLiveSchema({}, [])
    properties = schema.get("properties") or {}
    ordinary_props: dict[str, Any] = {}
    live: list[LiveField] = []
    for key, prop in properties.items():
        if is_live_field(prop):
            live.append(_live_field(key, prop, schema))
        else:
            ordinary_props[key] = prop
    ordinary = dict(schema)
    ordinary["properties"] = ordinary_props
    if "required" in schema:
        ordinary["required"] = [k for k in schema.get("required") or [] if k in ordinary_props]
    return SplitLiveSchema(ordinary, live)


def binary_live_field(live: list[LiveField]) -> LiveField | None:
    """The binary live field (a direction has at most one), or ``None``."""
    return next((field for field in live if field.binary), None)


def alternative_tag(schema: Mapping[str, Any], discriminator: str | None = None) -> str | None:
    """The value of the discriminator property that selects this alternative (its ``const``,
    or its one-value ``enum``), or ``None``."""
    if not discriminator:
        return None
    prop = (schema.get("properties") or {}).get(discriminator)
    if not isinstance(prop, Mapping):
        return None
    if "const" in prop:
        return str(prop["const"])
    enum = prop.get("enum")
    if isinstance(enum, list) and len(enum) == 1:
        return str(enum[0])
    return None


def alternative_label(
    schema: Mapping[str, Any], index: int, discriminator: str | None = None
) -> str:
    """A name to show for an alternative: its tag, else its title, else its type, else
    ``Option <n>`` (``index`` counts from 0).

    >>> from inferencesh.core.live_schema import alternative_label
    >>> alternative_label({"properties": {"kind": {"const": "word"}}}, 0, "kind")
    'word'
    >>> alternative_label({}, 1)
    'Option 2'
    """
    tag = alternative_tag(schema, discriminator)
    if tag:
        return tag
    title = schema.get("title")
    if isinstance(title, str) and title:
        return title
    kind = schema.get("type")
    if isinstance(kind, str) and kind:
        return kind
    return f"Option {index + 1}"

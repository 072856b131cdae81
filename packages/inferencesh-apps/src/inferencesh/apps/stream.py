"""Live fields and their frames: what a stream function reads from and writes to its socket.

A live field is a ``Stream[T]`` field of a stream function's input or output model. Its items
travel over the socket while the task runs; the model only ever holds the empty placeholder
``Stream()``, which serialises to ``[]``.

- ``Stream[PCM16(16000)]``: raw 16-bit PCM audio, one binary frame per chunk.
- ``Stream[media("image/jpeg")]``: binary items of any media type.
- ``Stream[Word]`` or ``Stream[Union[A, B]]``: typed JSON items.

Wire rules: a binary frame is one item of the model's binary live field (at most one per model:
a binary frame carries no field name); a text frame is a JSON object keyed by field name whose
values are items of live fields or new values of ordinary fields. Control keys start with ``$``:
``{"$clear": field}`` and ``{"$error": {"field": ..., "message": ...}}``.

:class:`Live` maps one socket's frames to :class:`Update` values and back.

Example:
    >>> from pydantic import BaseModel
    >>> from inferencesh.apps.stream import PCM16, Stream, binary_field, live_fields
    >>> class TalkInput(BaseModel):
    ...     audio: Stream[PCM16(16000)]
    ...     voice: str = "calm"
    >>> TalkInput(audio=[b"ignored"]).audio
    Stream()
    >>> TalkInput().model_dump()
    {'audio': [], 'voice': 'calm'}
    >>> binary_field(TalkInput), list(live_fields(TalkInput))
    ('audio', ['audio'])
    >>> TalkInput.model_json_schema()["properties"]["audio"]["items"]["contentMediaType"]
    'audio/pcm;format=s16le;rate=16000;channels=1'
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import AsyncIterator
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic import ValidationError as _ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = [
    "CLEAR_KEY",
    "ERROR_KEY",
    "PCM16",
    "REDIAL_CODES",
    "STREAM_FORMAT",
    "Live",
    "Stream",
    "Update",
    "binary_field",
    "live_fields",
    "media",
]

T = TypeVar("T")

STREAM_FORMAT = "stream"
"""The JSON schema ``format`` of a live field."""
CLEAR_KEY = "$clear"
"""``{"$clear": "<field>"}``: drop what is buffered of that output live field."""
ERROR_KEY = "$error"
"""``{"$error": {"field": str | None, "message": str}}``: something was refused; the stream
goes on."""
REDIAL_CODES = frozenset({1012, 1013})
"""Relay close codes that mean "dial again" while an end waits for its peer: 1012 the relay
restarted, 1013 the peer did not come in time."""


class Stream(Generic[T]):
    """A field whose items travel over the socket while the task runs.

    The value on a model is this empty placeholder; whatever a request body holds for the
    field is dropped. Read and write the items with :class:`Live`.
    """

    def __repr__(self) -> str:
        return "Stream()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream)

    def __hash__(self) -> int:
        return hash(Stream)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        args = typing.get_args(source)
        item = handler.generate_schema(args[0]) if args else core_schema.any_schema()
        as_list = core_schema.list_schema(item)
        # The JSON schema is a list of items; validation drops the body's value (items only
        # come over the socket) and leaves the placeholder.
        dropped = core_schema.no_info_before_validator_function(_nothing, as_list)
        placeholder = core_schema.no_info_after_validator_function(
            lambda _items: cls(),
            dropped,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _nothing, return_schema=as_list
            ),
        )
        return core_schema.with_default_schema(placeholder, default_factory=cls)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out = handler.resolve_ref_schema(out)
        out["format"] = STREAM_FORMAT
        out.pop("default", None)
        return out


def _nothing(_value: Any) -> list[Any]:
    return []


def media(content_type: str, *, description: str | None = None) -> Any:
    """The item type of binary items of ``content_type``: ``Stream[media("image/jpeg")]``.

    Example:
        >>> from inferencesh.apps.stream import media
        >>> media("image/jpeg").__metadata__[0].json_schema_extra
        {'contentMediaType': 'image/jpeg'}
    """
    if not content_type or "/" not in content_type:
        raise ValueError(f"a media type looks like 'type/subtype', got {content_type!r}")
    extra: dict[str, Any] = {"contentMediaType": content_type}
    return Annotated[bytes, Field(description=description, json_schema_extra=extra)]


def PCM16(rate: int = 16000, channels: int = 1) -> Any:
    """Raw 16-bit little-endian PCM audio (``audio/pcm;format=s16le;rate=R;channels=C``).

    One binary frame is one chunk of samples; 20 ms (``rate // 50`` samples per channel, 640
    bytes at 16 kHz mono) is the usual size for live audio.

    Example:
        >>> from inferencesh.apps.stream import PCM16
        >>> PCM16(24000, 2).__metadata__[0].json_schema_extra["contentMediaType"]
        'audio/pcm;format=s16le;rate=24000;channels=2'
    """
    if rate <= 0 or channels <= 0:
        raise ValueError(f"rate and channels must be positive, got {rate} and {channels}")
    return media(f"audio/pcm;format=s16le;rate={rate};channels={channels}")


class Update(NamedTuple):
    """One change from the caller: an item of a live field, or the new value of an ordinary
    field (already set on the input model)."""

    field: str
    value: Any


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _item_type(annotation: Any) -> Any | None:
    """The item type of ``Stream[T]`` (``Any`` for a bare ``Stream``), else ``None``."""
    annotation = _strip_annotated(annotation)
    if annotation is Stream:
        return Any
    if typing.get_origin(annotation) is Stream:
        args = typing.get_args(annotation)
        return args[0] if args else Any
    return None


def _is_binary(item: Any) -> bool:
    return _strip_annotated(item) in (bytes, bytearray)


@functools.lru_cache(maxsize=256)
def live_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The live fields of ``model``: name (by alias) to item type, in declared order."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        item = _item_type(info.annotation)
        if item is not None:
            found[info.alias or name] = item
    return found


def binary_field(model: type[BaseModel]) -> str | None:
    """The one binary live field of ``model``, or ``None``.

    Raises ``TypeError`` when it has more than one: a binary frame names no field, so a
    direction can carry only one.
    """
    binary = [name for name, item in live_fields(model).items() if _is_binary(item)]
    if len(binary) > 1:
        raise TypeError(
            f"{model.__name__} has {len(binary)} binary live fields ({', '.join(binary)}); "
            "a binary frame carries no field name, so a model can have at most one"
        )
    return binary[0] if binary else None


@functools.lru_cache(maxsize=1024)
def _adapter(item: Any) -> TypeAdapter[Any]:
    return TypeAdapter(item)


def _first_line(exc: Exception) -> str:
    if isinstance(exc, _ValidationError):
        errors = exc.errors()
        if errors:
            return str(errors[0].get("msg", exc))
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class Live:
    """Frames of a stream function's socket, mapped to the fields of its models.

    ``async for update in live`` yields :class:`Update` values: binary frames as items of the
    input's binary live field, JSON frames as items of its other live fields or as new values
    of ordinary fields (validated like an assignment, and already set on ``input_data``).
    A frame that cannot be mapped is answered with a ``$error`` frame and skipped.
    ``await live.send(field=value, ...)`` writes to the output's fields.

    Example:
        >>> import asyncio
        >>> from pydantic import BaseModel
        >>> from inferencesh.apps.stream import PCM16, Live, Stream
        >>> class In(BaseModel):
        ...     audio: Stream[PCM16(16000)]
        ...     gain: float = 1.0
        >>> class Out(BaseModel):
        ...     audio: Stream[PCM16(16000)]
        ...     transcript: Stream[str]
        >>> class FakeSocket:  # what the runtime supplies, reduced to a list of frames
        ...     def __init__(self, frames): self.frames, self.sent = list(frames), []
        ...     def __aiter__(self): return self._iter()
        ...     async def _iter(self):
        ...         for frame in self.frames: yield frame
        ...     async def send(self, data): self.sent.append(data)
        >>> async def main():
        ...     socket, data = FakeSocket([b"\\x00\\x01", '{"gain": 2}', '{"nope": 1}']), In()
        ...     live = Live(socket, data, Out)
        ...     updates = [u async for u in live]
        ...     await live.send(audio=b"\\x00\\x01", transcript="hi")
        ...     return updates, data.gain, socket.sent
        >>> updates, gain, sent = asyncio.run(main())
        >>> updates
        [Update(field='audio', value=b'\\x00\\x01'), Update(field='gain', value=2.0)]
        >>> gain
        2.0
        >>> sent
        [{'$error': {'field': 'nope', 'message': 'no such field'}}, b'\\x00\\x01', {'transcript': 'hi'}]
    """

    def __init__(self, socket: Any, input_data: BaseModel, output_type: type[BaseModel]) -> None:
        self.socket = socket
        self.input = input_data
        self.output_type = output_type
        model = type(input_data)
        self._in_live = live_fields(model)
        self._in_binary = binary_field(model)
        self._in_fields = {info.alias or name: name for name, info in model.model_fields.items()}
        self._out_live = live_fields(output_type)
        self._out_binary = binary_field(output_type)
        self._out_fields = {
            info.alias or name: info.annotation for name, info in output_type.model_fields.items()
        }
        self._refused_binary = False

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._updates()

    async def _updates(self) -> AsyncIterator[Update]:
        async for frame in self.socket:
            for update in await self._read(frame):
                yield update

    async def _read(self, frame: Any) -> list[Update]:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            if self._in_binary is None:
                if not self._refused_binary:  # once: a caller streaming audio would flood it
                    self._refused_binary = True
                    await self.error("this function takes no binary frames")
                return []
            return [Update(self._in_binary, bytes(frame))]
        try:
            patch = json.loads(frame)
        except ValueError:
            patch = None
        if not isinstance(patch, dict):
            await self.error("a text frame is a JSON object keyed by field name")
            return []
        updates: list[Update] = []
        for key, value in patch.items():
            try:
                updates.append(self._apply(key, value))
            except (KeyError, ValueError, TypeError) as exc:
                message = exc.args[0] if isinstance(exc, KeyError) else _first_line(exc)
                await self.error(str(message), field=key)
        return updates

    def _apply(self, key: str, value: Any) -> Update:
        if key not in self._in_fields:
            raise KeyError("no such field")
        if key == self._in_binary:
            raise ValueError("send this field's items as binary frames")
        if key in self._in_live:
            return Update(key, _adapter(self._in_live[key]).validate_python(value))
        name = self._in_fields[key]
        type(self.input).__pydantic_validator__.validate_assignment(self.input, name, value)
        return Update(key, getattr(self.input, name))

    async def send(self, **fields: Any) -> None:
        """Send output fields: the binary live field as a binary frame, the rest as one JSON
        patch (items of live fields, or new values of ordinary fields). An unknown field raises
        ``KeyError`` before anything is sent."""
        unknown = [key for key in fields if key not in self._out_fields]
        if unknown:
            raise KeyError(f"{self.output_type.__name__} has no field {', '.join(unknown)}")
        patch: dict[str, Any] = {}
        binary: bytes | None = None
        for key, value in fields.items():
            if key == self._out_binary:
                binary = value if isinstance(value, bytes) else bytes(value)
            elif key in self._out_live:
                patch[key] = _adapter(self._out_live[key]).dump_python(value, mode="json")
            else:
                annotation: Any = self._out_fields[key]
                patch[key] = _adapter(annotation).dump_python(value, mode="json")
        if binary is not None:
            await self.socket.send(binary)
        if patch:
            await self.socket.send(patch)

    async def clear(self, field: str) -> None:
        """Tell the caller to drop what it buffered of an output live field (say the user
        talked over the answer)."""
        if field not in self._out_live:
            raise KeyError(f"{self.output_type.__name__} has no live field {field!r}")
        await self.socket.send({CLEAR_KEY: field})

    async def error(self, message: str, *, field: str | None = None) -> None:
        """Tell the caller something was refused; the stream goes on."""
        await self.socket.send({ERROR_KEY: {"field": field, "message": message}})

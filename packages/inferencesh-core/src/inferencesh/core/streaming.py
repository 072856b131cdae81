"""Stream framing: NDJSON lines and SSE events, decoded incrementally from byte chunks.

The platform streams task and chat updates as NDJSON (``Accept: application/x-ndjson``, one
JSON object per line) or as SSE (``text/event-stream``). Both decoders here take raw chunks as
they arrive and return whole payloads, so the same code serves the sync and async clients.

Line shapes understood (``to_event`` for generic streams, ``TaskLine`` for task streams):

* ``{"type": "heartbeat"}`` (or an SSE comment): keep-alive, skipped;
* ``{"data": {...}, "fields": [...]}``: a partial update naming its changed fields;
* ``{"event": "chat_messages", "data": {...}}``: a typed event;
* any other object: the payload itself.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from inferencesh.core.deltas import DeltaEvent
from inferencesh.core.errors import _snippet
from inferencesh.core.types import StreamEvent, Task

__all__ = [
    "EventDecoder",
    "NDJSONDecoder",
    "SSEDecoder",
    "StreamEvent",
    "StreamProtocolError",
    "StreamTruncated",
    "TaskLine",
    "TaskLineDecoder",
]

T = TypeVar("T")
_After = Callable[[list[T], bytes | memoryview], list[T]]


class StreamTruncated(Exception):
    """The stream ended in the middle of a line or event (the connection dropped)."""


class StreamProtocolError(Exception):
    """A complete line or event of the stream is not valid JSON of the expected shape."""


class TaskLine(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One task-stream line: the envelope of an update, decoded in a single pass.

    A wrapped update sets ``data`` (and ``fields`` for a partial one); a bare task (a line
    that is the task itself, with an ``id``) is decoded into ``data`` too, with ``fields``
    ``None``; ``type == "heartbeat"`` is a keep-alive; a delta line (``{"event": "delta",
    "data": DeltaEvent}``, or the ``DeltaEvent`` itself as an SSE ``delta`` event) carries no
    ``data`` but ``delta``, ``seq`` and ``resource_id``.
    """

    type: str | None = None
    event: str | None = None
    data: Task | None = None
    fields: list[str] | None = None
    delta: Any = None
    seq: int = 0
    resource_id: str = ""
    id: str = ""
    """The task id of a bare task line (a wrapped update keeps its id in ``data``)."""


class _DeltaLine(msgspec.Struct, gc=False):
    data: DeltaEvent


# The envelope is small on purpose: decoding every line as a whole Task as well would cost a
# second 28-field struct per line. A bare task line (rare) is decoded again as a Task. Both
# decoders are built on first use: building one resolves its types, a cost to every import.
@functools.cache
def _task_decoder() -> msgspec.json.Decoder[Task]:
    return msgspec.json.Decoder(Task)


@functools.cache
def _delta_decoder() -> msgspec.json.Decoder[_DeltaLine]:
    return msgspec.json.Decoder(_DeltaLine)


_BARE_ID = operator.attrgetter("id")


def _has_delta_event(raw: bytes | memoryview) -> bool:
    # A byte search, so lines without deltas (nearly all) cost nothing more.
    data = raw if isinstance(raw, bytes) else bytes(raw)
    return b'"delta"' in data and (b'"event":"delta"' in data or b'"event": "delta"' in data)


def _bare_tasks(lines: list[TaskLine], raw: bytes | memoryview) -> list[TaskLine]:
    """Decode the bare task lines among ``lines`` (decoded from ``raw``) into their ``data``,
    and the delta lines into their ``delta``."""
    deltas = _has_delta_event(raw)
    if not deltas and not any(map(_BARE_ID, lines)):
        return lines
    texts = [text for text in bytes(raw).split(b"\n") if text.strip()]
    if len(texts) != len(lines):
        raise StreamProtocolError(f"more than one JSON value on a line: {_snippet(bytes(raw))}")
    for line, text in zip(lines, texts, strict=True):
        if deltas and line.event == "delta":
            _delta_line(line, text)
        elif line.id and line.data is None and line.delta is None and line.type != "heartbeat":
            try:
                line.data = _task_decoder().decode(text)
            except (msgspec.ValidationError, RecursionError) as exc:
                raise StreamProtocolError(f"bad stream line ({exc}): {_snippet(text)}") from None
    return lines


def _delta_line(line: TaskLine, text: bytes) -> None:
    line.data = None  # the envelope's `data` is the DeltaEvent, not a task
    try:
        event = _delta_decoder().decode(text).data
    except msgspec.ValidationError:
        return  # a malformed delta is skipped: the task's updates go on
    line.delta = event.delta
    line.seq = event.seq
    line.resource_id = event.resource_id


class NDJSONDecoder(Generic[T]):
    """Split chunks into lines and decode each complete line into ``type``.

    Complete lines are decoded in one batch per chunk (``decode_lines``), which is what makes
    long streams cheap. Blank lines are skipped. ``after``, if given, gets each decoded batch
    with the bytes it was decoded from and returns the batch to hand out.
    """

    def __init__(self, type_: Any = Any, after: _After[T] | None = None) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._pending: list[bytes] = []
        self._after = after
        self._at_start = True

    def feed(self, chunk: bytes) -> list[T]:
        """Decode every line completed by ``chunk``."""
        if self._at_start and chunk:
            chunk = _without_bom(chunk)
            self._at_start = False
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if chunk:
                self._pending.append(chunk)
            return []
        # Lines are decoded straight out of the chunk (the chunk itself when it holds whole
        # lines only, as it mostly does; else a memoryview, not a copy); only the line split
        # across the previous chunk and this one is joined.
        items: list[T] = []
        start = 0
        if self._pending:
            start = chunk.find(b"\n") + 1
            self._pending.append(chunk[:start])
            items = self._decode_block(b"".join(self._pending))
            self._pending = []
        if start <= cut:
            whole = start == 0 and cut + 1 == len(chunk)
            block = self._decode_block(chunk if whole else memoryview(chunk)[start : cut + 1])
            if items:
                items.extend(block)
            else:
                items = block
        if cut + 1 < len(chunk):
            self._pending.append(chunk[cut + 1 :])
        return items

    def close(self) -> list[T]:
        """Decode a last line that had no newline; raise ``StreamTruncated`` if it is cut."""
        tail = b"".join(self._pending)
        self._pending = []
        if not tail.strip():
            return []
        try:
            items = [self._decoder.decode(tail)]
        except msgspec.DecodeError:
            raise StreamTruncated(f"stream ended inside a line: {_snippet(tail)}") from None
        except (msgspec.ValidationError, RecursionError) as exc:
            raise StreamProtocolError(f"bad stream line ({exc}): {_snippet(tail)}") from None
        return items if self._after is None else self._after(items, tail)

    def _decode_block(self, block: bytes | memoryview) -> list[T]:
        try:
            items = self._decoder.decode_lines(block)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            items = self._decode_each(block)
        return items if self._after is None else self._after(items, block)

    def _decode_each(self, block: bytes | memoryview) -> list[T]:
        # Find and name the bad line instead of reporting a byte offset in a batch.
        items: list[T] = []
        for line in bytes(block).split(b"\n"):
            if not line.strip():
                continue
            try:
                items.append(self._decoder.decode(line))
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
                raise StreamProtocolError(f"bad stream line ({exc}): {_snippet(line)}") from None
        return items


class SSEDecoder(Generic[T]):
    """Server-sent events: ``event:``/``data:`` fields, multi-line data, comments skipped.

    Each dispatched event's data is decoded as JSON into ``type``; the result is a list of
    ``(event_name, payload)``. ``after`` is as for ``NDJSONDecoder``, given one event at a time.
    """

    def __init__(self, type_: Any = Any, after: _After[T] | None = None) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._after = after
        self._buffer: list[bytes] = []
        self._event: str | None = None
        self._data: list[bytes] = []
        self._at_start = True

    def feed(self, chunk: bytes) -> list[tuple[str | None, T]]:
        """Decode every event completed by ``chunk``."""
        if self._at_start and chunk:
            chunk = _without_bom(chunk)
            self._at_start = False
        if b"\n" not in chunk and b"\r" not in chunk:
            # The middle of a long line (a large output): keep the piece, join once at its
            # end; re-joining the buffer on every chunk made long events quadratic.
            if chunk:
                self._buffer.append(chunk)
            return []
        buffer = b"".join((*self._buffer, chunk)) if self._buffer else chunk
        lines = buffer.splitlines(keepends=True)
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._buffer = [lines.pop()]
        elif lines and lines[-1].endswith(b"\r"):
            # A lone CR may be the first half of CRLF split across chunks.
            self._buffer = [lines.pop()]
        else:
            self._buffer = []
        out: list[tuple[str | None, T]] = []
        for line in lines:
            self._line(line.rstrip(b"\r\n"), out)
        return out

    def close(self) -> list[tuple[str | None, T]]:
        """Flush a final line; an event not ended by a blank line means the stream was cut."""
        out: list[tuple[str | None, T]] = []
        if self._buffer:
            tail, self._buffer = b"".join(self._buffer), []
            self._line(tail.rstrip(b"\r\n"), out)
        if self._data:
            data = b"\n".join(self._data)
            self._data = []
            raise StreamTruncated(f"stream ended inside an event: {_snippet(data)}")
        return out

    def _line(self, line: bytes, out: list[tuple[str | None, T]]) -> None:
        if not line:
            if self._data:
                data = b"\n".join(self._data)
                self._data = []
                try:
                    item = self._decoder.decode(data)
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
                    raise StreamProtocolError(
                        f"bad stream event ({exc}): {_snippet(data)}"
                    ) from None
                if self._after is not None:
                    item = self._after([item], data)[0]
                out.append((self._event, item))
            self._event = None
            return
        if line.startswith(b":"):
            return  # comment: the SSE heartbeat
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace") or None
        # `id` and `retry` are not used by the platform's streams.


def _without_bom(chunk: bytes) -> bytes:
    # A stream may open with a UTF-8 byte order mark; SSE says to skip it. Left in, it would
    # make the first field name (or the first JSON line) unreadable and lose that event.
    return chunk[3:] if chunk.startswith(b"\xef\xbb\xbf") else chunk


def is_sse(content_type: str | None) -> bool:
    """Whether a reply's content type is server-sent events."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def to_event(obj: Any, sse_event: str | None = None) -> StreamEvent | None:
    """Turn one decoded line into a ``StreamEvent`` (``None`` for a heartbeat)."""
    if isinstance(obj, dict):
        if obj.get("type") == "heartbeat" and "data" not in obj:
            return None
        if "data" in obj:
            event = obj.get("event")
            fields = obj.get("fields")
            return StreamEvent(
                event=event if isinstance(event, str) else sse_event,
                data=obj["data"],
                fields=fields if isinstance(fields, list) else None,
            )
    return StreamEvent(event=sse_event, data=obj)


class EventDecoder:
    """Chunks of a generic stream (NDJSON or SSE) to ``StreamEvent``\\ s, heartbeats skipped."""

    def __init__(self, sse: bool) -> None:
        self._sse: SSEDecoder[Any] | None = SSEDecoder() if sse else None
        self._ndjson: NDJSONDecoder[Any] | None = None if sse else NDJSONDecoder()

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Events completed by ``chunk``."""
        if self._sse is not None:
            return _events_sse(self._sse.feed(chunk))
        assert self._ndjson is not None
        return _events(self._ndjson.feed(chunk))

    def close(self) -> list[StreamEvent]:
        """Events left at the end of the stream (raises ``StreamTruncated`` if cut)."""
        if self._sse is not None:
            return _events_sse(self._sse.close())
        assert self._ndjson is not None
        return _events(self._ndjson.close())


def _events(items: list[Any]) -> list[StreamEvent]:
    return [e for e in map(to_event, items) if e is not None]


def _events_sse(items: list[tuple[str | None, Any]]) -> list[StreamEvent]:
    return [e for e in (to_event(obj, name) for name, obj in items) if e is not None]


class TaskLineDecoder:
    """Chunks of a task stream (NDJSON or SSE) to ``TaskLine``\\ s."""

    def __init__(self, sse: bool) -> None:
        self._sse: SSEDecoder[TaskLine] | None = None
        self._ndjson: NDJSONDecoder[TaskLine] | None = None
        if sse:
            self._sse = SSEDecoder(TaskLine, _bare_tasks)
        else:
            self._ndjson = NDJSONDecoder(TaskLine, _bare_tasks)

    def feed(self, chunk: bytes) -> list[TaskLine]:
        """Lines completed by ``chunk``."""
        if self._sse is not None:
            return [line for _, line in self._sse.feed(chunk)]
        assert self._ndjson is not None
        return self._ndjson.feed(chunk)

    def close(self) -> list[TaskLine]:
        """Lines left at the end of the stream (raises ``StreamTruncated`` if cut)."""
        if self._sse is not None:
            return [line for _, line in self._sse.close()]
        assert self._ndjson is not None
        return self._ndjson.close()

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

from typing import Any, Generic, TypeVar

import msgspec

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


class StreamTruncated(Exception):
    """The stream ended in the middle of a line or event (the connection dropped)."""


class StreamProtocolError(Exception):
    """A complete line or event of the stream is not valid JSON of the expected shape."""


class TaskLine(Task, kw_only=True, omit_defaults=True):
    """One task-stream line decoded in a single pass: an envelope or a bare task.

    A wrapped update sets ``data`` (and ``fields`` for a partial one); a bare task fills the
    inherited task fields; ``type == "heartbeat"`` is a keep-alive; ``delta`` lines (output
    deltas, which full snapshots always follow) are ignored.
    """

    type: str | None = None
    event: str | None = None
    data: Task | None = None
    fields: list[str] | None = None
    delta: Any = None


def _describe(line: bytes) -> str:
    text = line[:200].decode("utf-8", "replace").strip()
    return text + ("…" if len(line) > 200 else "")


class NDJSONDecoder(Generic[T]):
    """Split chunks into lines and decode each complete line into ``type``.

    Complete lines are decoded in one batch per chunk (``decode_lines``), which is what makes
    long streams cheap. Blank lines are skipped.
    """

    def __init__(self, type_: Any = Any) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._pending: list[bytes] = []

    def feed(self, chunk: bytes) -> list[T]:
        """Decode every line completed by ``chunk``."""
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if chunk:
                self._pending.append(chunk)
            return []
        if self._pending:
            self._pending.append(chunk[: cut + 1])
            block = b"".join(self._pending)
            self._pending = []
        else:
            block = chunk[: cut + 1]
        rest = chunk[cut + 1 :]
        if rest:
            self._pending.append(rest)
        return self._decode_block(block)

    def close(self) -> list[T]:
        """Decode a last line that had no newline; raise ``StreamTruncated`` if it is cut."""
        tail = b"".join(self._pending)
        self._pending = []
        if not tail.strip():
            return []
        try:
            return [self._decoder.decode(tail)]
        except msgspec.DecodeError:
            raise StreamTruncated(f"stream ended inside a line: {_describe(tail)}") from None
        except msgspec.ValidationError as exc:
            raise StreamProtocolError(f"bad stream line ({exc}): {_describe(tail)}") from None

    def _decode_block(self, block: bytes) -> list[T]:
        try:
            return self._decoder.decode_lines(block)
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
        # Find and name the bad line instead of reporting a byte offset in a batch.
        items: list[T] = []
        for line in block.split(b"\n"):
            if not line.strip():
                continue
            try:
                items.append(self._decoder.decode(line))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise StreamProtocolError(f"bad stream line ({exc}): {_describe(line)}") from None
        return items


class SSEDecoder(Generic[T]):
    """Server-sent events: ``event:``/``data:`` fields, multi-line data, comments skipped.

    Each dispatched event's data is decoded as JSON into ``type``; the result is a list of
    ``(event_name, payload)``.
    """

    def __init__(self, type_: Any = Any) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._buffer = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, T]]:
        """Decode every event completed by ``chunk``."""
        buffer = self._buffer + chunk if self._buffer else chunk
        lines = buffer.splitlines(keepends=True)
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._buffer = lines.pop()
        elif lines and lines[-1].endswith(b"\r"):
            # A lone CR may be the first half of CRLF split across chunks.
            self._buffer = lines.pop()
        else:
            self._buffer = b""
        out: list[tuple[str | None, T]] = []
        for line in lines:
            self._line(line.rstrip(b"\r\n"), out)
        return out

    def close(self) -> list[tuple[str | None, T]]:
        """Flush a final line; an event not ended by a blank line means the stream was cut."""
        out: list[tuple[str | None, T]] = []
        if self._buffer:
            tail, self._buffer = self._buffer, b""
            self._line(tail.rstrip(b"\r\n"), out)
        if self._data:
            data = b"\n".join(self._data)
            self._data = []
            raise StreamTruncated(f"stream ended inside an event: {_describe(data)}")
        return out

    def _line(self, line: bytes, out: list[tuple[str | None, T]]) -> None:
        if not line:
            if self._data:
                data = b"\n".join(self._data)
                self._data = []
                try:
                    out.append((self._event, self._decoder.decode(data)))
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise StreamProtocolError(
                        f"bad stream event ({exc}): {_describe(data)}"
                    ) from None
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
        self._sse: SSEDecoder[TaskLine] | None = SSEDecoder(TaskLine) if sse else None
        self._ndjson: NDJSONDecoder[TaskLine] | None = None if sse else NDJSONDecoder(TaskLine)

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

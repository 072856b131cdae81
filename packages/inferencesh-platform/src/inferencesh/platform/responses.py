"""Response helpers shared by every route (contract C5).

* :func:`ok` wraps data in the v1 envelope ``{"success": true, "status", "data"}`` unless the
  request carries ``X-API-Version: 2``, which gets the bare body.
* :func:`problem` is the matching error: v1 ``{"success": false, "status", "error": {code, message}}``
  or an RFC 9457 ``application/problem+json`` document for v2.
* :func:`stream_response` serves an async iterator of dicts as NDJSON or SSE, as the ``Accept``
  header asks (without it: NDJSON, SSE for the ``stream: true`` run routes), with heartbeats
  while nothing happens.
* :func:`read_json` reads a bounded JSON body (413 when too large, 400 naming the problem);
  :func:`read_request` decodes one into a request struct of ``inferencesh.core.requests`` (the
  client's own types and rules), a 400 naming the field when it breaks one.

Everything is encoded with msgspec, so core wire types (msgspec Structs) and builtins mix freely.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, NamedTuple, TypeVar

import msgspec
from inferencesh.core.requests import RequestError, decode_request
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.limits import MAX_JSON_DEPTH, check_depth
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = [
    "NDJSON",
    "SSE",
    "api_version",
    "EventBatch",
    "encode",
    "encode_sorted",
    "ok",
    "problem",
    "problem_from",
    "read_body",
    "read_json",
    "read_request",
    "refused",
    "stream_response",
    "wants_sse",
]

T = TypeVar("T")
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
_ERROR_TYPE_BASE = "https://api.inference.sh/errors/"
_encoder = msgspec.json.Encoder()
_HEARTBEAT_NDJSON = b'{"type":"heartbeat"}\n'
_HEARTBEAT_SSE = b": heartbeat\n\n"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}


def encode(obj: Any) -> bytes:
    """JSON bytes of builtins and msgspec Structs."""
    return _encoder.encode(obj)


def encode_sorted(obj: Any) -> bytes:
    """JSON bytes with object keys sorted (a canonical form for hashing)."""
    return msgspec.json.encode(obj, order="sorted")


def api_version(request: Request) -> int:
    """2 when the request asks for the bare v2 bodies, else 1."""
    return 2 if request.headers.get("x-api-version", "").strip() == "2" else 1


def ok(request: Request, data: Any, status: int = 200) -> Response:
    """A success response in the envelope the request asked for (204 has no body)."""
    if status == 204:
        return Response(status_code=204)
    body = data if api_version(request) == 2 else {"success": True, "status": status, "data": data}
    return Response(encode(body), status_code=status, media_type="application/json")


def problem(request: Request, status: int, code: str, message: str) -> Response:
    """An error response: the v1 error envelope, or RFC 9457 problem+json for v2."""
    if api_version(request) == 2:
        doc = {
            "type": _ERROR_TYPE_BASE + code,
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "detail": message,
            "code": code,
        }
        return Response(encode(doc), status_code=status, media_type="application/problem+json")
    # `message` at the top level too: clients that read problem fields (`detail`/`title`/`message`)
    # then still show the reason instead of the raw JSON.
    doc = {
        "success": False,
        "status": status,
        "error": {"code": code, "message": message},
        "message": message,
    }
    return Response(encode(doc), status_code=status, media_type="application/json")


def problem_from(request: Request, error: PlatformError) -> Response:
    """The response for a raised :class:`PlatformError`."""
    if error.body is not None:
        return Response(encode(error.body), status_code=error.status, media_type="application/json")
    return problem(request, error.status, error.code, error.message)


def wants_sse(request: Request, default: bool = False) -> bool:
    """Whether to answer with Server-Sent Events rather than NDJSON: what ``Accept`` asks for
    (NDJSON when it names both), else ``default``."""
    accept = request.headers.get("accept", "")
    if NDJSON in accept:
        return False
    return True if SSE in accept else default


def _sse_frame(event: dict[str, Any]) -> bytes:
    name = event.get("event")
    if isinstance(name, str):
        rest = {k: v for k, v in event.items() if k != "event"}
        payload = rest["data"] if set(rest) == {"data"} else rest
        return b"event: " + name.encode() + b"\ndata: " + encode(payload) + b"\n\n"
    return b"data: " + encode(event) + b"\n\n"


class EventBatch(NamedTuple):
    """Stream events that go out together (one chunk); ``last``: the stream ends with them."""

    events: list[dict[str, Any]]
    last: bool = False


def stream_response(
    request: Request,
    events: AsyncIterator[dict[str, Any]] | AsyncIterator[EventBatch],
    *,
    heartbeat_interval: float | None = None,
    sse_by_default: bool = False,
    first: EventBatch | None = None,
) -> Response:
    """Serve ``events`` (events, or :class:`EventBatch`\\ es of them) as NDJSON lines or SSE
    frames; heartbeats fill silences.

    The format is what ``Accept`` asks for; without either type named, SSE when
    ``sse_by_default`` (the ``stream: true`` run routes, as the platform answers them, protocol
    section 2.1), else NDJSON. The interval defaults to ``request.app.state.heartbeat_interval``
    (10 s when unset). The stream ends when ``events`` ends or after a ``last`` batch; a client
    that goes away closes ``events``. ``first``: a batch taken from ``events`` already, sent
    first.
    """
    sse = wants_sse(request, sse_by_default)
    interval = heartbeat_interval
    if interval is None:
        interval = float(getattr(request.app.state, "heartbeat_interval", 10.0))
    return _EventStream(events, sse, interval, first)


class _EventStream(Response):
    """The ASGI response of :func:`stream_response`.

    A batch is one body message, and the last batch carries the end of the body: with the
    platform's protocol (``http_protocol``) a quick task's stream is two writes, its start
    and the rest. Starlette's ``StreamingResponse`` sends each item and the end separately
    and, under uvicorn, runs a task group to notice a client going away; here the wait for
    the next batch also waits for that (``receive`` answers ``http.disconnect``).
    """

    def __init__(
        self,
        events: AsyncIterator[dict[str, Any]] | AsyncIterator[EventBatch],
        sse: bool,
        interval: float,
        first: EventBatch | None = None,
    ) -> None:
        super().__init__(
            media_type=SSE if sse else NDJSON,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        del self.headers["content-length"]  # chunked: the length is not known
        self._events = events
        self._frame = _sse_frame if sse else _ndjson_line
        self._heartbeat = _HEARTBEAT_SSE if sse else _HEARTBEAT_NDJSON
        self._interval = interval
        self._first = first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] | None = {
            "type": "http.response.start",
            "status": 200,
            "headers": self.raw_headers,
        }

        async def out(body: bytes, more: bool) -> None:
            # The start goes with the first body message, in the same write.
            nonlocal start
            if start is not None:
                await send(start)
                start = None
            await send({"type": "http.response.body", "body": body, "more_body": more})

        iterator = self._events.__aiter__()
        frame = self._frame
        gone = asyncio.ensure_future(_disconnect(receive))
        pending: asyncio.Future[Any] | None = None
        try:
            first = self._first
            if first is not None:
                self._first = None
                await out(b"".join([frame(event) for event in first.events]), not first.last)
                if first.last:
                    return
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(iterator.__anext__())
                done, _ = await asyncio.wait(
                    (pending, gone), timeout=self._interval, return_when=asyncio.FIRST_COMPLETED
                )
                if gone in done:
                    return
                if pending not in done:
                    await out(self._heartbeat, True)
                    continue
                try:
                    item = pending.result()
                except StopAsyncIteration:
                    pending = None
                    await out(b"", False)
                    return
                pending = None
                if isinstance(item, EventBatch):
                    body = b"".join([frame(event) for event in item.events])
                    last = item.last
                else:
                    body, last = frame(item), False
                await out(body, not last)
                if last:
                    return
        finally:
            gone.cancel()
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()


async def _disconnect(receive: Receive) -> None:
    """Returns once the client has gone (or the response is complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _ndjson_line(event: dict[str, Any]) -> bytes:
    return _encoder.encode(event) + b"\n"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request's body, at most ``max_bytes`` long (:class:`PlatformError` 413 past that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PlatformError(
            413,
            "payload_too_large",
            f"request body of {declared} bytes exceeds the limit of {max_bytes} bytes",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PlatformError(
                413, "payload_too_large", f"request body exceeds the limit of {max_bytes} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request's JSON body (``None`` when empty), at most ``max_bytes`` long.

    Raises :class:`PlatformError` 413 when the body is larger and 400 when it is not JSON (or
    nests too deeply to read).
    """
    raw = await _read_json_bytes(request, max_bytes)
    if not raw.strip():
        return None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise PlatformError.bad_request(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PlatformError.bad_request("the body nests too deeply") from None


async def _read_json_bytes(request: Request, max_bytes: int) -> bytes:
    """A JSON body's bytes, refused (400 naming the limit) when it nests deeper than the
    server's ``max_json_depth`` (``request.app.state``), before any decoder recurses into it."""
    raw = await read_body(request, max_bytes)
    state = getattr(request.scope.get("app"), "state", None)
    check_depth(raw, int(getattr(state, "max_json_depth", MAX_JSON_DEPTH)))
    return raw


def refused(error: RequestError) -> PlatformError:
    """The 400 for a body that breaks a rule of its request struct: ```field` reason``."""
    where = f"`{error.location()}`" if error.path else "the body"
    return PlatformError.bad_request(f"{where} {error.reason}")


async def read_request(
    request: Request, type_: type[T], max_bytes: int, *, empty: T | None = None
) -> T:
    """The request's JSON body decoded into ``type_`` (a struct of ``inferencesh.core.requests``).

    An empty body is ``empty`` when one is given (an optional body), else refused like any
    other body that is not the object ``type_`` describes. Raises :class:`PlatformError`: 413
    past ``max_bytes``, 400 naming the field and the rule it breaks.
    """
    raw = await _read_json_bytes(request, max_bytes)
    if not raw.strip():
        if empty is not None:
            return empty
        raw = b"null"
    try:
        return decode_request(raw, type_)
    except RequestError as exc:
        raise refused(exc) from None

"""The pure half of the transport: settings, request building and reply handling.

Nothing here does I/O, so the sync and async clients share every decision and differ only
in how they send bytes. Whether and when a request is retried is ``inferencesh.core.retry``'s.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, NoReturn

import msgspec

from inferencesh.core._version import __version__
from inferencesh.core.errors import (
    APIConnectionError,
    APIError,
    InferenceError,
    MalformedResponseError,
    _snippet,
    error_from_response,
)
from inferencesh.core.requests import RequestError
from inferencesh.core.retry import DEFAULT_MAX_RETRIES

DEFAULT_BASE_URL = "https://api.inference.sh"
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_STREAM_IDLE_TIMEOUT = 60.0

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"

_JSON_DECODER = msgspec.json.Decoder()
_JSON_ENCODER = msgspec.json.Encoder()


class Config(msgspec.Struct, frozen=True, kw_only=True):
    """Settings shared by a client's requests (the key is kept out of ``repr``)."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT
    api_version: int = 2

    def __repr__(self) -> str:
        return f"Config(base_url={self.base_url!r}, api_key='***')"

    def base_headers(self) -> dict[str, str]:
        """The headers every API request carries."""
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": f"inferencesh-py/{__version__}",
            "Accept": "application/json",
        }
        if self.api_version >= 2:
            headers["X-API-Version"] = str(self.api_version)
        return headers


def resolve_config(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    connect_timeout: float | None,
    max_retries: int | None,
    stream_idle_timeout: float | None,
    api_version: int,
) -> Config:
    """Build a ``Config`` from arguments and the environment, rejecting bad values clearly."""
    key = api_key if api_key is not None else os.environ.get("INFERENCE_API_KEY")
    if not key:
        raise ValueError(
            "no API key: pass api_key=... or set the INFERENCE_API_KEY environment variable"
        )
    url = base_url or os.environ.get("INFERENCE_BASE_URL") or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
    retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
    if retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {retries}")
    if api_version not in (1, 2):
        raise ValueError(f"api_version must be 1 or 2, got {api_version!r}")
    values = {
        "timeout": DEFAULT_TIMEOUT if timeout is None else timeout,
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout,
        "stream_idle_timeout": (
            DEFAULT_STREAM_IDLE_TIMEOUT if stream_idle_timeout is None else stream_idle_timeout
        ),
    }
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return Config(
        api_key=key,
        base_url=url.rstrip("/"),
        max_retries=retries,
        api_version=api_version,
        timeout=values["timeout"],
        connect_timeout=values["connect_timeout"],
        stream_idle_timeout=values["stream_idle_timeout"],
    )


def new_idempotency_key() -> str:
    """A fresh key for one logical request, reused by all of its retries."""
    return os.urandom(16).hex()


class Prepared(msgspec.Struct):
    """One request, ready for either I/O loop."""

    method: str
    url: str
    where: str
    headers: dict[str, str]
    content: bytes | None
    params: Mapping[str, Any] | None


def prepare(
    config: Config,
    base_headers: dict[str, str],
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    accept: str | None = None,
) -> Prepared:
    """Build the URL, headers and body of an API request."""
    method = method.upper()
    if not path.startswith("/"):
        path = "/" + path
    merged = dict(base_headers)
    content: bytes | None = None
    if json is not None:
        try:
            content = _JSON_ENCODER.encode(json)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"the body of {method} {path} cannot be sent as JSON: {exc}") from exc
        except RecursionError:
            raise RequestError(
                (), f"of {method} {path} nests too deeply to be sent as JSON"
            ) from None
        merged["Content-Type"] = "application/json"
    if accept:
        merged["Accept"] = accept
    if method == "POST" or idempotency_key is not None:
        # Every POST carries a key, created once per logical request, so a retry after a lost
        # reply cannot create a second task or file.
        merged["Idempotency-Key"] = idempotency_key or new_idempotency_key()
    if headers:
        merged.update(headers)
    return Prepared(method, config.base_url + path, f"{method} {path}", merged, content, params)


# The keys of the v1 envelope: `{"success", "status", "data"}` on success, `error` (and the
# local platform's copy of its text, `message`) on failure, `meta`/`messages` for notices.
_ENVELOPE_KEYS = frozenset({"success", "status", "data", "error", "message", "messages", "meta"})


def is_envelope(payload: Any, asked_v2: bool) -> bool:
    """Whether a decoded reply is the v1 envelope rather than a bare (v2) object.

    It is one when it is an object with a boolean ``success`` and no key outside the
    envelope's (``success``, ``status``, ``data``, ``error``, ``message``, ``messages``,
    ``meta``): a resource or app output that has a ``success`` field beside its own fields is
    never unwrapped. A client that asked for v2 (``X-API-Version: 2``) expects bare bodies, so
    it also requires the integer ``status`` the platform puts in every envelope: that unwraps
    a server that ignored the header, and leaves a bare ``{"success": true}`` as it is.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("success"), bool):
        return False
    if not _ENVELOPE_KEYS.issuperset(payload):
        return False
    return not asked_v2 or type(payload.get("status")) is int


def parse_body(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    where: str,
    *,
    asked_v2: bool = False,
    expect: str | None = None,
) -> Any:
    """The data of a successful reply, unwrapped from either envelope, as builtins.

    v1 replies ``{"success": true, "data": ...}`` give ``data`` (``None`` when absent);
    ``success: false`` raises; v2 replies are the bare object. Which objects count as the
    envelope is ``is_envelope``'s rule (``asked_v2``: the request carried
    ``X-API-Version: 2``). 204 and empty bodies give ``None``, or raise
    ``MalformedResponseError`` when ``expect`` names what the reply must hold ("a task").
    """
    if status == 204 or not body.strip():
        if expect is not None:
            raise MalformedResponseError(
                status,
                f"{where} answered {status} with no body where {expect} was expected",
                request_id=request_id(headers),
            )
        return None
    try:
        payload = _JSON_DECODER.decode(body)
    except RecursionError:
        raise MalformedResponseError(
            status,
            f"{where} answered with JSON nested too deeply to read: {_snippet(body)}",
            request_id=request_id(headers),
            body=_snippet(body),
        ) from None
    except msgspec.DecodeError as exc:
        raise MalformedResponseError(
            status,
            f"{where} answered with a body that is not JSON ({exc}): {_snippet(body)}",
            request_id=request_id(headers),
            body=_snippet(body),
        ) from None
    if is_envelope(payload, asked_v2):
        if payload["success"]:
            data = payload.get("data")
            if data is None and expect is not None:
                raise MalformedResponseError(
                    status,
                    f"{where} answered {status} with no data where {expect} was expected",
                    request_id=request_id(headers),
                    body=payload,
                )
            return data
        raise error_from_response(
            _status_of(payload, status), body, request_id=request_id(headers), where=where
        )
    return payload


def raise_for_status(status: int, headers: Mapping[str, str], body: bytes, where: str) -> NoReturn:
    """Raise the mapped ``APIError`` for an error reply (a redirect counts as one)."""
    if 300 <= status < 400:
        # Not followed: a redirected POST would arrive as a GET, or not at all, and the reply
        # would be misread as an empty success. The target's query may hold a signature.
        target = headers.get("location")
        shown = (
            urllib.parse.urlsplit(target)._replace(query="", fragment="").geturl()
            if target
            else None
        )
        raise APIError(
            status,
            f"{where} was redirected to {shown or 'an unnamed location'}; the client does not "
            "follow redirects: check the base URL (https://, host and path)",
            code="redirect",
            request_id=request_id(headers),
        )
    raise error_from_response(max(status, 400), body, request_id=request_id(headers), where=where)


def request_id(headers: Mapping[str, str]) -> str | None:
    """The request id the server assigned, if any."""
    return headers.get("x-request-id") or headers.get("request-id")


def convert(data: Any, type_: type[Any], where: str) -> Any:
    """Convert decoded builtins into a wire type, with a clear error for a wrong shape."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise MalformedResponseError(
            200, f"{where} answered with an unexpected {type_.__name__}: {exc}", body=data
        ) from None


def connection_error(exc: BaseException, where: str) -> APIConnectionError:
    """Wrap a transport failure; the text names the request, never its headers."""
    from inferencesh.core.errors import APITimeoutError

    kind = type(exc).__name__
    detail = str(exc) or kind
    if "Timeout" in kind:
        return APITimeoutError(f"{where} timed out ({kind}: {detail})")
    return APIConnectionError(f"{where} failed: {kind}: {detail}")


def outcome_unknown(exc: InferenceError, method: str, key: str | None) -> InferenceError:
    """``exc`` with the ``Idempotency-Key`` of the ``POST`` it ended (``exc.idempotency_key``),
    named in its message too: the server may have done what was asked (created a task) before
    the reply was lost, and that key is how the caller finds it."""
    if method == "POST" and key:
        exc.idempotency_key = key
        note = (
            f"; it may have been carried out: send it again with Idempotency-Key {key} "
            "to get what it created (e.idempotency_key)"
        )
        exc.args = (f"{exc.args[0] if exc.args else exc}{note}", *exc.args[1:])
    return exc


def _status_of(payload: dict[str, Any], status: int) -> int:
    value = payload.get("status")
    return value if isinstance(value, int) and value >= 400 else max(status, 400)


__all__ = [
    "APIError",
    "Config",
    "Prepared",
    "convert",
    "parse_body",
    "prepare",
    "raise_for_status",
    "resolve_config",
]


def sleep(seconds: float) -> None:
    """Block for ``seconds`` (one place, so tests can skip real waits)."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking the event loop (asyncio or trio)."""
    import anyio

    await anyio.sleep(seconds)

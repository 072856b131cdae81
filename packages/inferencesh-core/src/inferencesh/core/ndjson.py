"""NDJSON helpers for any streaming HTTP response: ``streamable``, ``streamable_raw``,
``iter_ndjson``, ``stream_get`` and ``stream_post`` (the earlier ``inferencesh.streamable``).

They read a response object that has ``iter_lines()`` (an ``httpx`` or ``requests`` response)
one JSON value per line, skip blank lines and lines that are not JSON, and tell heartbeats
(``{"type": "heartbeat"}``) from payloads. The SDK's own task and chat streams do not use them
(``inferencesh.core.streaming`` decodes those, reconnecting and merging partial updates); they are
for streaming endpoints of your own, such as an app's server or a proxy.

Example:
    >>> import httpx
    >>> from inferencesh import streamable
    >>> body = b'{"type":"heartbeat"}\\n{"data":{"n":1},"fields":["n"]}\\n{"n":2}\\n'
    >>> list(streamable(httpx.Response(200, content=body)))
    [{'n': 1}, {'n': 2}]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "StreamableMessage",
    "iter_ndjson",
    "stream_get",
    "stream_post",
    "streamable",
    "streamable_raw",
]

NDJSON = "application/x-ndjson"


class _Lines(Protocol):
    def iter_lines(self) -> Iterator[str | bytes]: ...


@dataclass
class StreamableMessage:
    """One line of a stream as ``streamable_raw`` gives it: the payload (``data``, unwrapped from
    ``{"data": ...}``), the ``event`` name and the changed ``fields`` of a partial update."""

    data: Any
    event: str | None = None
    fields: list[Any] | None = None


def _values(response: _Lines) -> Iterator[Any]:
    """Every JSON value of the response, a line each; blank and non-JSON lines are skipped.

    A line that is not UTF-8 raises ``UnicodeDecodeError``: the stream itself is broken.
    """
    for line in response.iter_lines():
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        text = text.strip()
        if not text:
            continue
        try:
            yield json.loads(text)
        except ValueError:
            continue


def _is_heartbeat(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "heartbeat"


def streamable(response: Any, skip_heartbeats: bool = True) -> Iterator[Any]:
    """The payloads of an NDJSON response: ``{"data": x, ...}`` lines give ``x``, other values
    come as they are; heartbeats are skipped unless ``skip_heartbeats=False``.

    Example:
        >>> import httpx
        >>> from inferencesh import streamable
        >>> body = b'{"data": 1}\\n\\nnot json\\n[2, 3]\\n'
        >>> list(streamable(httpx.Response(200, content=body)))
        [1, [2, 3]]
    """
    for value in _values(response):
        if skip_heartbeats and _is_heartbeat(value):
            continue
        yield value["data"] if isinstance(value, dict) and "data" in value else value


def streamable_raw(response: Any, skip_heartbeats: bool = True) -> Iterator[StreamableMessage]:
    """Like ``streamable``, with each line's ``event`` and ``fields`` kept in a
    ``StreamableMessage``.

    Example:
        >>> import httpx
        >>> from inferencesh import streamable_raw
        >>> body = b'{"event": "chat_messages", "data": {"id": "m1"}}\\n'
        >>> list(streamable_raw(httpx.Response(200, content=body)))
        [StreamableMessage(data={'id': 'm1'}, event='chat_messages', fields=None)]
    """
    for value in _values(response):
        if skip_heartbeats and _is_heartbeat(value):
            continue
        if isinstance(value, dict):
            yield StreamableMessage(
                data=value.get("data", value), event=value.get("event"), fields=value.get("fields")
            )
        else:
            yield StreamableMessage(data=value)


def iter_ndjson(
    response: Any, on_heartbeat: Callable[[], None] | None = None
) -> Iterator[dict[str, Any]]:
    """Every JSON value of an NDJSON response as sent (nothing unwrapped); heartbeats are not
    yielded but call ``on_heartbeat()`` when given.

    Example:
        >>> import httpx
        >>> from inferencesh import iter_ndjson
        >>> body = b'{"type": "heartbeat"}\\n{"data": 1, "fields": ["n"]}\\n'
        >>> beats = []
        >>> list(iter_ndjson(httpx.Response(200, content=body), lambda: beats.append(1))), beats
        ([{'data': 1, 'fields': ['n']}], [1])
    """
    for value in _values(response):
        if _is_heartbeat(value):
            if on_heartbeat is not None:
                on_heartbeat()
            continue
        yield value


def stream_post(
    client: Any,
    url: str,
    json_body: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    skip_heartbeats: bool = True,
    timeout: float | None = None,
) -> Iterator[Any]:
    """POST ``json_body`` with ``client.stream(...)`` (an ``httpx.Client``) asking for NDJSON,
    and yield ``streamable(response)``. An error status raises ``httpx.HTTPStatusError``.

    ``headers`` go as given (add your own authorization); ``timeout`` (seconds) overrides the
    client's for this request. No retries: a stream is consumed as it arrives.

    Example:
        >>> import httpx
        >>> from inferencesh import stream_post
        >>> def server(request):
        ...     return httpx.Response(200, content=b'{"data": "hi"}\\n')
        >>> with httpx.Client(transport=httpx.MockTransport(server)) as http:
        ...     list(stream_post(http, "http://vendor.test/v1/stream", {"q": 1}))
        ['hi']
    """
    options = {} if timeout is None else {"timeout": timeout}
    merged = {"Accept": NDJSON, **(headers or {})}
    with client.stream("POST", url, json=json_body, headers=merged, **options) as response:
        response.raise_for_status()
        yield from streamable(response, skip_heartbeats)


def stream_get(
    client: Any,
    url: str,
    headers: Mapping[str, str] | None = None,
    skip_heartbeats: bool = True,
    timeout: float | None = None,
) -> Iterator[Any]:
    """GET ``url`` with ``client.stream(...)`` asking for NDJSON; see ``stream_post``."""
    options = {} if timeout is None else {"timeout": timeout}
    merged = {"Accept": NDJSON, **(headers or {})}
    with client.stream("GET", url, headers=merged, **options) as response:
        response.raise_for_status()
        yield from streamable(response, skip_heartbeats)

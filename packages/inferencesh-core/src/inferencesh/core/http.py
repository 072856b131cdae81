"""The low-level HTTP clients: ``HTTPClient`` (sync) and ``AsyncHTTPClient`` (async).

Both send API requests with auth, retry per the policy in ``inferencesh.core.retry``, unwrap
either response envelope and raise the core errors; both stream NDJSON or SSE. A request's
retry loop (``_Base._exchange``) is an operation of ``inferencesh.core.protocol`` effects
(``Send`` one attempt, ``Sleep`` between attempts) that the protocol's sync or async driver
runs; the two classes below hold only what differs: one attempt, and reading a stream.

Use them through a client (``client.http``) for endpoints the client has no method for::

    data = client.http.request("GET", "/tasks/abc/status")
    for event in client.http.stream("GET", "/chats/xyz/stream"):
        print(event.event, event.data)
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from typing import Any

import httpx

from inferencesh.core._log import configure_from_env, logger
from inferencesh.core._transport import (
    NDJSON,
    SSE,
    Config,
    Prepared,
    connection_error,
    convert,
    outcome_unknown,
    parse_body,
    prepare,
    raise_for_status,
)
from inferencesh.core.errors import APIConnectionError, InferenceError, MalformedResponseError
from inferencesh.core.files import Source
from inferencesh.core.protocol import Op, Send, Sleep, _AsyncDriver, _SyncDriver
from inferencesh.core.retry import RetryState
from inferencesh.core.streaming import (
    EventDecoder,
    StreamProtocolError,
    StreamTruncated,
    TaskLine,
    TaskLineDecoder,
    is_sse,
)
from inferencesh.core.types import TERMINAL_STATUSES, StreamEvent, Task

__all__ = ["AsyncHTTPClient", "HTTPClient"]

# Idle connections kept up to the limit: httpcore closes an idle one whenever the pool holds more
# connections than the keep-alive limit, which under concurrency means a new connection per task.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
_URLS_KEPT = 64  # parsed URLs kept by a client (see `_Base._url`)


def _sync_client(timeout: httpx.Timeout) -> tuple[httpx.Client, httpx.HTTPTransport | None]:
    """The ``httpx.Client`` a sync client makes for itself, and its transport to send to
    directly (none when a proxy from the environment applies: httpx sets it up only for the
    transports it builds)."""
    import urllib.request  # loaded by httpx already

    from inferencesh.core._sync_net import HeldWritesTransport

    if urllib.request.getproxies():
        return httpx.Client(timeout=timeout, limits=_LIMITS), None
    transport = HeldWritesTransport(_LIMITS)
    return httpx.Client(timeout=timeout, transport=transport), transport


def _send(transport: httpx.BaseTransport, request: httpx.Request, stream: bool) -> httpx.Response:
    """``httpx.Client.send`` of a client without auth, hooks, redirects or cookies."""
    try:
        response = transport.handle_request(request)
    except httpx.RequestError as exc:
        exc.request = request
        raise
    response.request = request
    if not stream:
        try:
            response.read()
        finally:
            response.close()
    return response


async def _asend(
    transport: httpx.AsyncBaseTransport, request: httpx.Request, stream: bool
) -> httpx.Response:
    """``httpx.AsyncClient.send`` of a client without auth, hooks, redirects or cookies."""
    try:
        response = await transport.handle_async_request(request)
    except httpx.RequestError as exc:
        exc.request = request
        raise
    response.request = request
    if not stream:
        try:
            await response.aread()
        finally:
            await response.aclose()
    return response


class _Base:
    """What the sync and async clients share: settings, headers, the retry loop, helpers."""

    def __init__(self, config: Config, owns: bool) -> None:
        configure_from_env()
        self.config = config
        self._headers = config.base_headers()
        self._key_bytes = config.api_key.encode()
        self._timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        self._owns = owns
        # The transport of a client of our own, sent to directly (see `_direct_to`).
        self._direct: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None
        self._defaults: dict[str, str] = {}
        self._default_keys: dict[str, str] = {}
        self._urls: dict[Any, httpx.URL] = {}

    def _direct_to(
        self,
        client: httpx.Client | httpx.AsyncClient,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
    ) -> None:
        """Send straight to ``transport``, the only transport of ``client`` (made here, with no
        auth, hooks or cookies of its own): ``client.send`` would only add its per-request
        work (building the request through its defaults, auth and redirect steps, cookie
        extraction, timing) to each request. The request on the wire is the same: the
        client's default headers, then ours. Anyone handed the client itself (the
        ``httpx_client`` property) may change it: requests then go through it."""
        self._direct = transport
        self._defaults = dict(client.headers)
        self._default_keys = {key.lower(): key for key in self._defaults}

    def _url(self, prep: Prepared) -> httpx.URL:
        """The ``httpx.URL`` of a request; those of the same few endpoints (``POST /apps/run``
        above all) are parsed once."""
        params = prep.params
        key: Any = prep.url
        if params:
            try:
                key = (prep.url, *params.items())
                hash(key)
            except TypeError:  # a list of values
                return httpx.URL(prep.url).copy_merge_params(params)
        url = self._urls.get(key)
        if url is None:
            url = httpx.URL(prep.url)
            if params:
                url = url.copy_merge_params(params)
            if len(self._urls) >= _URLS_KEPT:
                self._urls.clear()  # ids in paths: most are used once
            self._urls[key] = url
        return url

    def _build(
        self, client: httpx.Client | httpx.AsyncClient, send: Send, body: Any
    ) -> httpx.Request:
        """The ``httpx.Request`` of one attempt."""
        prep = send.prep
        if self._direct is None:
            return client.build_request(
                prep.method,
                prep.url,
                headers=prep.headers,
                content=body,
                params=prep.params,
                timeout=send.timeout,
            )
        headers = self._defaults.copy()
        defaults = self._default_keys
        for key, value in prep.headers.items():
            default = defaults.get(key.lower())
            if default is not None and default != key:
                del headers[default]  # the same header spelled otherwise: ours replaces it
            headers[key] = value
        return httpx.Request(
            prep.method,
            self._url(prep),
            headers=headers,
            content=body,
            extensions={"timeout": send.timeout.as_dict()},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        accept: str | None = None,
    ) -> Prepared:
        return prepare(
            self.config,
            self._headers,
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            idempotency_key=idempotency_key,
            accept=accept,
        )

    def _timeout_for(self, timeout: float | None) -> httpx.Timeout:
        if timeout is None:
            return self._timeout
        return httpx.Timeout(timeout, connect=min(timeout, self.config.connect_timeout))

    def _stream_timeout(self, read: float | None) -> httpx.Timeout:
        return httpx.Timeout(
            self.config.timeout,
            connect=self.config.connect_timeout,
            read=read if read is not None else self.config.stream_idle_timeout,
        )

    def _exchange(
        self,
        prep: Prepared,
        timeout: httpx.Timeout,
        *,
        stream: bool = False,
        source: Source | None = None,
    ) -> Op[httpx.Response]:
        """Send ``prep`` until it succeeds, retrying per ``RetryState``; returns the response.

        An error reply that is not retried raises the mapped ``APIError``; a transport failure
        that is not retried raises ``APIConnectionError``/``APITimeoutError``. An upload is
        retried only when its source can be read again.
        """
        retries = self.config.max_retries if source is None or source.replayable else 0
        state = RetryState(retries)
        while True:
            started = time.perf_counter()
            try:
                response: httpx.Response = yield Send(prep, timeout, stream, source)
            except httpx.TransportError as exc:
                delay = state.delay_after_error()
                if delay is None:
                    raise _outcome_unknown(connection_error(exc, prep.where), prep) from exc
                self._log_retry(prep, type(exc).__name__, delay, state)
                yield Sleep(delay)
                continue
            self._log_reply(prep, response.status_code, started, state.attempt + 1)
            if response.status_code < 300:
                return response
            delay = state.delay_after_status(response.status_code, response.headers)
            if delay is None:
                try:
                    raise_for_status(
                        response.status_code, response.headers, self._redacted(response), prep.where
                    )
                except InferenceError as exc:
                    if response.status_code >= 500 or response.status_code == 408:
                        _outcome_unknown(exc, prep)
                    raise
            self._log_retry(prep, f"HTTP {response.status_code}", delay, state)
            yield Sleep(delay)

    @staticmethod
    def _parse(prep: Prepared, response: httpx.Response, expect: str | None) -> Any:
        # The version actually asked for: a caller's headers may override the client's.
        asked_v2 = prep.headers.get("X-API-Version") == "2"
        return parse_body(
            response.status_code,
            response.headers,
            response.content,
            prep.where,
            asked_v2=asked_v2,
            expect=expect,
        )

    @classmethod
    def _task_line(cls, prep: Prepared, response: httpx.Response) -> TaskLine:
        """A read JSON reply holding a task, as a task-stream line."""
        task: Task = convert(cls._parse(prep, response, "a task"), Task, prep.where)
        return TaskLine(data=task)

    def _redacted(self, response: httpx.Response) -> bytes:
        """An error reply's body without the API key: a server or proxy that echoes the key
        ("invalid key inf_...") must not put it into an exception's text."""
        body = response.content
        key = self._key_bytes
        # A few characters (a test key such as "k") would mangle ordinary words instead.
        return body.replace(key, b"***") if len(key) >= 8 and key in body else body

    @staticmethod
    def _upload_prep(url: str, source: Source) -> Prepared:
        headers = {"Content-Type": source.content_type or "application/octet-stream"}
        if source.size is not None:
            headers["Content-Length"] = str(source.size)
        # A presigned URL carries its credentials in the query: never log or report it.
        return Prepared("PUT", url, "PUT <upload_url>", headers, None, None)

    @staticmethod
    def _log_reply(prep: Prepared, status: int, started: float, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug("%s -> %d in %.1f ms (attempt %d)", prep.where, status, elapsed, attempt)

    @staticmethod
    def _log_retry(prep: Prepared, why: str, delay: float, state: RetryState) -> None:
        logger.info(
            "retrying %s in %.2f s after %s (retry %d of %d)",
            prep.where,
            delay,
            why,
            state.attempt,
            state.max_retries,
        )

    @staticmethod
    def _stream_error(exc: BaseException, where: str) -> Exception:
        if isinstance(exc, StreamTruncated):
            return APIConnectionError(f"{where}: {exc}")
        if isinstance(exc, StreamProtocolError):
            return MalformedResponseError(200, f"{where}: {exc}")
        return connection_error(exc, where)


def _outcome_unknown(exc: InferenceError, prep: Prepared) -> InferenceError:
    return outcome_unknown(exc, prep.method, prep.headers.get("Idempotency-Key"))


_STREAM_FAILURES = (httpx.TransportError, StreamTruncated, StreamProtocolError)

# How long a task stream closed after its terminal update may take to deliver its end. Read to
# its end, a stream's connection goes back to the pool for the next request; closed before, the
# connection is dropped and the next task opens a new one (the platform ends the stream right
# after the terminal update, so the end is normally there already).
_DRAIN_SECONDS = 0.05


def _is_sse(response: httpx.Response) -> bool:
    return is_sse(response.headers.get("content-type"))


def _is_json(response: httpx.Response) -> bool:
    """Whether a reply is plain JSON rather than a stream."""
    kind: str = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _ends_task(lines: list[TaskLine]) -> bool:
    """Whether a batch of task-stream lines holds a terminal update."""
    for line in lines:
        data = line.data
        if data is not None and data.status in TERMINAL_STATUSES:
            return True
    return False


def _drain(response: httpx.Response, chunks: Iterator[bytes]) -> None:
    """Read what is left of a sync stream, each read bounded by ``_DRAIN_SECONDS`` (by way of
    the connection's ``network_stream``); anything but its prompt end leaves the connection to
    be dropped when the response closes."""
    stream = response.extensions.get("network_stream")
    read = getattr(stream, "read", None)
    if read is None:
        return

    owner = threading.get_ident()

    def bounded(max_bytes: int, timeout: float | None = None) -> bytes:
        # Only this thread's reads are bounded: once the end is read, the connection is back in
        # the pool, and another thread's request may read through it before this drain returns.
        if threading.get_ident() == owner:
            timeout = _DRAIN_SECONDS
        return read(max_bytes, timeout)  # type: ignore[no-any-return]

    try:
        stream.read = bounded  # type: ignore[union-attr]
    except AttributeError:
        return
    try:
        for _ in chunks:
            pass
    except (httpx.HTTPError, StreamTruncated, StreamProtocolError):
        pass
    finally:
        # Another thread's drain may have put its own over ours meanwhile; it removes that.
        if vars(stream).get("read") is bounded:
            del stream.read  # type: ignore[union-attr]


async def _adrain(chunks: AsyncIterator[bytes]) -> None:
    """Read what is left of an async stream for at most ``_DRAIN_SECONDS``."""
    import asyncio  # loaded: an async client runs

    import sniffio  # not at import: the sync client never needs it

    if sys.version_info >= (3, 11) and sniffio.current_async_library() == "asyncio":
        # asyncio's own timeout: one timer, where anyio's cancel scope costs several times it.
        try:
            async with asyncio.timeout(_DRAIN_SECONDS):
                async for _ in chunks:
                    pass
        except (TimeoutError, httpx.HTTPError):
            pass
        return
    import anyio

    with anyio.move_on_after(_DRAIN_SECONDS):
        try:
            async for _ in chunks:
                pass
        except httpx.HTTPError:
            pass


class HTTPClient(_Base):
    """Sync API transport over one pooled ``httpx.Client``."""

    def __init__(self, config: Config, client: httpx.Client | None = None) -> None:
        super().__init__(config, owns=client is None)
        if client is None:
            client, transport = _sync_client(self._timeout)
            if transport is not None:
                self._direct_to(client, transport)
        self._client = client

    @property
    def httpx_client(self) -> httpx.Client:
        """The underlying ``httpx.Client``."""
        self._direct = None  # whoever holds it may change it: requests go through it now
        return self._client

    def close(self) -> None:
        """Close the connection pool (only if this object created it)."""
        self._direct = None  # a request after this fails as httpx says, not on a closed pool
        if self._owns:
            self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        expect: str | None = None,
    ) -> Any:
        """Send an API request and return the reply's data as builtins (``None`` for 204).

        ``expect`` names what the reply must hold (``"a task"``): an empty reply (204, no
        body, or a v1 envelope without ``data``) then raises ``MalformedResponseError``
        saying so instead of giving ``None``.
        """
        prep = self._prepare(
            method, path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )
        response = self._send(prep, self._timeout_for(timeout))
        return self._parse(prep, response, expect)

    def _send(
        self,
        prep: Prepared,
        timeout: httpx.Timeout,
        *,
        stream: bool = False,
        source: Source | None = None,
    ) -> httpx.Response:
        return _SyncDriver(self).run(self._exchange(prep, timeout, stream=stream, source=source))

    def _attempt(self, send: Send) -> httpx.Response:
        """One attempt of a request (the protocol's ``Send``), with the sync client."""
        chunks = None if send.source is None else send.source.iter_chunks()
        try:
            body = send.prep.content if chunks is None else chunks
            request = self._build(self._client, send, body)
            direct = self._direct
            if direct is None:
                response = self._client.send(request, stream=send.stream)
            else:
                assert isinstance(direct, httpx.BaseTransport)
                response = _send(direct, request, send.stream)
            if response.status_code >= 300:  # an error or a redirect: read it now
                try:
                    response.read()
                finally:
                    response.close()
            return response
        finally:
            if chunks is not None:
                # A body left part way (a failed attempt, Ctrl-C) closes its file now, not
                # when the traceback holding the request is gone.
                chunks.close()

    def _open(self, prep: Prepared, read_timeout: float | None) -> httpx.Response:
        """The response of a stream, its body unread (the caller closes it)."""
        return self._send(prep, self._stream_timeout(read_timeout), stream=True)

    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
        sse: bool = False,
    ) -> Iterator[StreamEvent]:
        """Stream a platform endpoint: NDJSON (or SSE with ``sse=True``) to ``StreamEvent``\\ s.

        HTTP errors raise before the first event; a dropped connection raises
        ``APIConnectionError``; the iterator ends when the server closes the stream.
        """
        prep = self._prepare(
            method, path, json=json, params=params, headers=headers, accept=SSE if sse else NDJSON
        )
        response = self._open(prep, read_timeout)
        try:
            decoder = EventDecoder(_is_sse(response))
            for chunk in response.iter_bytes():
                yield from decoder.feed(chunk)
            yield from decoder.close()
        except _STREAM_FAILURES as exc:
            raise self._stream_error(exc, prep.where) from exc
        finally:
            response.close()

    def task_lines(
        self,
        path: str,
        read_timeout: float | None,
        *,
        method: str = "GET",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Generator[list[TaskLine], None, None]:
        """The decoded lines of a task stream, one list per received chunk (may be empty).

        ``GET`` by default; a request of another method whose reply is plain JSON (a server
        that does not stream it) gives that reply's task as the one line."""
        prep = self._prepare(
            method, path, json=json, params=params, idempotency_key=idempotency_key, accept=NDJSON
        )
        response = self._open(prep, read_timeout)
        ended = False  # a terminal update was read: the stream's end is due next
        chunks = response.iter_bytes()
        try:
            if prep.method != "GET" and _is_json(response):
                response.read()
                yield [self._task_line(prep, response)]
                return
            decoder = TaskLineDecoder(_is_sse(response))
            for chunk in chunks:
                lines = decoder.feed(chunk)
                ended = ended or _ends_task(lines)
                yield lines
            tail = decoder.close()
            if tail:
                yield tail
        except _STREAM_FAILURES as exc:
            raise self._stream_error(exc, prep.where) from exc
        finally:
            try:
                if ended and not response.is_closed:
                    _drain(response, chunks)
            finally:
                response.close()

    def put(self, url: str, source: Source) -> None:
        """Upload ``source`` to a presigned URL, streaming it; retried when replayable."""
        prep = self._upload_prep(url, source)
        self._send(prep, self._timeout, source=source)


class AsyncHTTPClient(_Base):
    """Async API transport over one pooled ``httpx.AsyncClient``."""

    def __init__(self, config: Config, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, owns=client is None)
        if client is None:
            from inferencesh.core._pool import async_client  # asyncio: only for async clients

            client, transport = async_client(self._timeout)
            if transport is not None:
                self._direct_to(client, transport)
        self._client = client

    @property
    def httpx_client(self) -> httpx.AsyncClient:
        """The underlying ``httpx.AsyncClient``."""
        self._direct = None  # whoever holds it may change it: requests go through it now
        return self._client

    async def close(self) -> None:
        """Close the connection pool (only if this object created it)."""
        self._direct = None  # a request after this fails as httpx says, not on a closed pool
        if self._owns:
            await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        expect: str | None = None,
    ) -> Any:
        """Send an API request and return the reply's data as builtins (``None`` for 204).

        ``expect`` names what the reply must hold (``"a task"``): an empty reply (204, no
        body, or a v1 envelope without ``data``) then raises ``MalformedResponseError``
        saying so instead of giving ``None``.
        """
        prep = self._prepare(
            method, path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )
        response = await self._send(prep, self._timeout_for(timeout))
        return self._parse(prep, response, expect)

    async def _send(
        self,
        prep: Prepared,
        timeout: httpx.Timeout,
        *,
        stream: bool = False,
        source: Source | None = None,
    ) -> httpx.Response:
        op = self._exchange(prep, timeout, stream=stream, source=source)
        return await _AsyncDriver(self).run(op)

    async def _attempt(self, send: Send) -> httpx.Response:
        """One attempt of a request (the protocol's ``Send``), with the async client."""
        chunks = None if send.source is None else send.source.aiter_chunks()
        try:
            body = send.prep.content if chunks is None else chunks
            request = self._build(self._client, send, body)
            direct = self._direct
            if direct is None:
                response = await self._client.send(request, stream=send.stream)
            else:
                assert isinstance(direct, httpx.AsyncBaseTransport)
                response = await _asend(direct, request, send.stream)
            if response.status_code >= 300:  # an error or a redirect: read it now
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            return response
        finally:
            if chunks is not None:
                # A body left part way (a cancelled task, a failed attempt) closes its file
                # now: an async generator left suspended is only closed when the event loop
                # gets to finalizing it, if ever.
                await chunks.aclose()

    async def _open(self, prep: Prepared, read_timeout: float | None) -> httpx.Response:
        """The response of a stream, its body unread (the caller closes it)."""
        return await self._send(prep, self._stream_timeout(read_timeout), stream=True)

    async def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
        sse: bool = False,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream a platform endpoint: NDJSON (or SSE with ``sse=True``) to ``StreamEvent``\\ s.

        HTTP errors raise before the first event; a dropped connection raises
        ``APIConnectionError``; the iterator ends when the server closes the stream.
        """
        prep = self._prepare(
            method, path, json=json, params=params, headers=headers, accept=SSE if sse else NDJSON
        )
        response = await self._open(prep, read_timeout)
        try:
            decoder = EventDecoder(_is_sse(response))
            async for chunk in response.aiter_bytes():
                for event in decoder.feed(chunk):
                    yield event
            for event in decoder.close():
                yield event
        except _STREAM_FAILURES as exc:
            raise self._stream_error(exc, prep.where) from exc
        finally:
            await response.aclose()

    async def task_lines(
        self,
        path: str,
        read_timeout: float | None,
        *,
        method: str = "GET",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncGenerator[list[TaskLine], None]:
        """The decoded lines of a task stream, one list per received chunk (may be empty);
        see ``HTTPClient.task_lines``."""
        prep = self._prepare(
            method, path, json=json, params=params, idempotency_key=idempotency_key, accept=NDJSON
        )
        response = await self._open(prep, read_timeout)
        ended = False  # a terminal update was read: the stream's end is due next
        chunks = response.aiter_bytes()
        try:
            if prep.method != "GET" and _is_json(response):
                await response.aread()
                yield [self._task_line(prep, response)]
                return
            decoder = TaskLineDecoder(_is_sse(response))
            async for chunk in chunks:
                lines = decoder.feed(chunk)
                ended = ended or _ends_task(lines)
                yield lines
            tail = decoder.close()
            if tail:
                yield tail
        except _STREAM_FAILURES as exc:
            raise self._stream_error(exc, prep.where) from exc
        finally:
            try:
                if ended and not response.is_closed:
                    await _adrain(chunks)
            finally:
                await response.aclose()

    async def put(self, url: str, source: Source) -> None:
        """Upload ``source`` to a presigned URL, streaming it; retried when replayable."""
        prep = self._upload_prep(url, source)
        await self._send(prep, self._timeout, source=source)

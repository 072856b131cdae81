"""``UpstreamClient``: an ``httpx`` client for one vendor, with auth, retries and errors.

Retries follow the SDK's one policy (``inferencesh.core.retry``): the vendor's ``Retry-After``
when it sends one (a wait over ``MAX_RETRY_AFTER`` ends the retries), else jittered
exponential backoff. A request that is not idempotent is retried only when the vendor surely did
not act on it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx
from inferencesh.core import retry
from inferencesh.upstream.auth import Auth, secret
from inferencesh.upstream.errors import UpstreamError
from inferencesh.upstream.operation import Operation

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "RETRY_STATUSES",
    "UpstreamClient",
    "decode",
    "error_for",
]

M = TypeVar("M")

DEFAULT_TIMEOUT = 60.0
"""Seconds for one request to the vendor."""
DEFAULT_MAX_RETRIES = 3
"""Retries of one request after its first attempt."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""The statuses retried by default (for requests that are not idempotent: only 429)."""
ERROR_BODY_LIMIT = 500
"""How much of a text error body an ``UpstreamError`` keeps."""

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Statuses that say the vendor did not act on the request, so even a POST may be sent again.
_NOT_ACTED_ON = frozenset({429})
_TOKEN_MARGIN = 60.0  # a cached OAuth token is renewed this many seconds before it expires
_DEFAULT_TOKEN_LIFETIME = 3600.0

_log = logging.getLogger("inferencesh.upstream")


def decode(response: httpx.Response) -> Any:
    """A response body as JSON when it is JSON, else its text; ``{}`` when empty."""
    if not response.content:
        return {}
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


def error_for(response: httpx.Response, method: str, path: str) -> UpstreamError:
    """The ``UpstreamError`` for an error answer: status, body (JSON, or text cut to
    ``ERROR_BODY_LIMIT``), method and path."""
    body = decode(response) if response.content else ""
    if isinstance(body, str):
        body = body[:ERROR_BODY_LIMIT]
        shown = body
    else:
        shown = json.dumps(body, separators=(",", ":"))[:ERROR_BODY_LIMIT]
    message = f"{method} {path}: {response.status_code}" + (f" {shown}" if shown else "")
    return UpstreamError(message, status=response.status_code, body=body, method=method, path=path)


class UpstreamClient:
    """An ``httpx.AsyncClient`` for one vendor with auth, retries and error mapping.

    ``auth`` is one ``Auth`` or a mapping of names to ``Auth``; an ``Operation`` names the one
    it uses in its ``auth`` field, else ``default_auth`` applies (the first when omitted).
    ``retry_statuses`` are the statuses retried for idempotent requests; a ``POST`` or
    ``PATCH`` is retried only on 429, a connection that never opened, or the vendor's
    ``x-should-retry: true`` (``retry_unsafe=True`` retries it like the others).
    ``transport`` is handed to ``httpx`` (tests pass an ``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | Mapping[str, Auth] | None = None,
        default_auth: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_statuses: Sequence[int] = tuple(RETRY_STATUSES),
        headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        transport: Any = None,
        retry_unsafe: bool = False,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        auths = {"default": auth} if isinstance(auth, Auth) else dict(auth or {})
        self._auths: dict[str, Auth] = auths
        self._default_auth = default_auth or next(iter(auths), "")
        self.max_retries = max_retries
        self.retry_statuses = frozenset(retry_statuses)
        self.retry_unsafe = retry_unsafe
        self._log = logger or _log
        self._tokens: dict[str, tuple[str, float]] = {}
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers=dict(headers or {}), transport=transport
        )

    async def call(self, op: Operation, input: Any = None) -> Any:
        """Run ``op`` with ``input`` and return the decoded answer (JSON, else text).

        Raises ``UpstreamError`` for an error answer after the retries, and
        ``MissingSecret`` when a secret the auth needs is not set.
        """
        request = op.build(input)
        url = request.pop("url")
        response = await self.request(op.method, url, auth=op.auth, **request)
        return decode(response)

    async def call_into(self, op: Operation, input: Any, model: type[M]) -> M:
        """Like ``call``, the answer validated into the pydantic ``model``."""
        validate = getattr(model, "model_validate", None)
        if validate is None:
            raise TypeError(f"{model!r} is not a pydantic model")
        result: M = validate(await self.call(op, input))
        return result

    async def request(
        self, method: str, path: str, *, auth: str = "", **kwargs: Any
    ) -> httpx.Response:
        """One request with auth applied, retried as the class says; raises ``UpstreamError``
        on an error answer (or when the vendor cannot be reached) after the retries."""
        name = auth or self._default_auth
        return await self._send(method.upper(), path, self._auth(name), name, kwargs)

    async def _send(
        self, method: str, path: str, auth: Auth | None, name: str, kwargs: dict[str, Any]
    ) -> httpx.Response:
        safe = method in _IDEMPOTENT or self.retry_unsafe
        state = retry.RetryState(self.max_retries)
        while True:
            prepared = await self._authorized(method, path, auth, name, kwargs)
            try:
                response = await self._http.send(prepared)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                delay = state.delay_after_error() if safe or never_sent else None
                if delay is None:
                    raise UpstreamError(
                        f"{method} {path}: {type(exc).__name__}: {exc}", method=method, path=path
                    ) from exc
                self._log.warning("%s %s: %s; retrying in %.1fs", method, path, exc, delay)
            else:
                if response.is_success:
                    return response
                await response.aread()
                delay = self._retry_delay(state, response, safe)
                if delay is None:
                    raise error_for(response, method, path)
                self._log.warning(
                    "%s %s: %s; retrying in %.1fs", method, path, response.status_code, delay
                )
            await asyncio.sleep(delay)

    def _retry_delay(
        self, state: retry.RetryState, response: httpx.Response, safe: bool
    ) -> float | None:
        status, headers = response.status_code, response.headers
        explicit = headers.get("x-should-retry")
        wanted = explicit == "true" or (
            explicit != "false"
            and status in self.retry_statuses
            and (safe or status in _NOT_ACTED_ON)
        )
        if not wanted:
            return None
        # The policy's wait: Retry-After (bounded), else backoff; it also counts the retries.
        return state.delay_after_status(status, {**headers, "x-should-retry": "true"})

    async def _authorized(
        self, method: str, path: str, auth: Auth | None, name: str, kwargs: dict[str, Any]
    ) -> httpx.Request:
        """The request, built fresh for each attempt with the secrets read now."""
        options = dict(kwargs)
        headers = dict(options.pop("headers", None) or {})
        params = dict(options.pop("params", None) or {})
        if auth is not None:
            await self._apply(auth, name, headers, params)
        return self._http.build_request(
            method, path, headers=headers, params=params or None, **options
        )

    def _auth(self, name: str) -> Auth | None:
        if not name:
            return None
        found = self._auths.get(name)
        if found is None:
            raise UpstreamError(f"no auth named {name!r} (known: {sorted(self._auths)})")
        return found

    async def _apply(
        self, auth: Auth, name: str, headers: dict[str, Any], params: dict[str, Any]
    ) -> None:
        if auth.kind == "api_key":
            value = auth.prefix + secret(auth.secret)
            if auth.location == "query":
                params[auth.name] = value
            elif auth.location == "cookie":
                cookie = headers.get("Cookie") or headers.get("cookie")
                headers.pop("cookie", None)
                headers["Cookie"] = (
                    f"{cookie}; {auth.name}={value}" if cookie else (f"{auth.name}={value}")
                )
            else:
                headers[auth.name] = value
        elif auth.kind == "http" and auth.scheme.lower() == "basic":
            headers["Authorization"] = _basic(
                secret(auth.username_secret), secret(auth.password_secret)
            )
        elif auth.kind == "oauth2" and auth.flow == "client_credentials":
            headers["Authorization"] = f"Bearer {await self._client_credentials(name, auth)}"
        elif auth.kind in ("http", "oauth2"):
            headers["Authorization"] = f"Bearer {secret(auth.secret)}"
        else:
            raise UpstreamError(f"unknown auth kind {auth.kind!r} (api_key, http or oauth2)")

    async def _client_credentials(self, name: str, auth: Auth) -> str:
        cached = self._tokens.get(name)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        form = {"grant_type": "client_credentials"}
        if auth.scopes:
            form["scope"] = " ".join(auth.scopes)
        basic = _basic(secret(auth.client_id_secret), secret(auth.client_secret_secret))
        options = {"data": form, "headers": {"Authorization": basic}}
        response = await self._send("POST", auth.token_url, None, "", options)
        body = decode(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamError(
                f"POST {auth.token_url}: the answer has no access_token",
                status=response.status_code,
                method="POST",
                path=auth.token_url,
            )
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else _DEFAULT_TOKEN_LIFETIME
        self._tokens[name] = (token, time.monotonic() + max(seconds - _TOKEN_MARGIN, 0.0))
        return token

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

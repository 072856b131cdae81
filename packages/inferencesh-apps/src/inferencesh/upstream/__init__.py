"""A vendor's HTTP API called from an app: ``UpstreamClient``, ``Operation`` and ``Auth``.

The shared half of an API-wrapper app: the app's generated module describes each vendor
operation as an ``Operation`` (method, path, which input fields go in the path, the query, the
headers and the body), and its ``inference.py`` builds one ``UpstreamClient`` in ``setup`` and
``await``s ``client.call(operation, input)`` in ``run``.

* Secrets are the names of environment variables (the platform injects an app's secrets so)
  and are read on every request: a rotated key applies without a restart, and a missing one
  raises ``MissingSecret`` naming it.
* Failures are retried by the SDK's one retry policy (``inferencesh.core.retry``: jittered
  backoff, ``Retry-After``), on 429 and 5xx; a request that is not idempotent (``POST``,
  ``PATCH``) is retried only when the vendor surely did not act on it (429, a refused
  connection, or the vendor's ``x-should-retry: true``), so a retry never charges twice.
* An error answer raises ``UpstreamError`` with the status, the (JSON or text) body, the
  method and the path; the secrets never appear in it.

Example:
    >>> import asyncio, os
    >>> import httpx
    >>> from inferencesh.upstream import Auth, Operation, UpstreamClient
    >>> os.environ["ACME_API_KEY"] = "k-123"
    >>> def acme(request):  # stands in for the vendor's server
    ...     assert request.headers["x-api-key"] == "k-123"
    ...     return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[1]})
    >>> get_item = Operation(name="get_item", method="GET", path="/items/{id}", path_params=["id"])
    >>> async def main():
    ...     client = UpstreamClient(
    ...         "https://api.acme.test/v1",
    ...         auth=Auth("api_key", secret="ACME_API_KEY", name="X-API-Key"),
    ...         transport=httpx.MockTransport(acme),
    ...     )
    ...     try:
    ...         return await client.call(get_item, {"id": "42"})
    ...     finally:
    ...         await client.aclose()
    >>> asyncio.run(main())
    {'id': '42'}
"""

from __future__ import annotations

from inferencesh.upstream.auth import Auth, MissingSecret
from inferencesh.upstream.client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ERROR_BODY_LIMIT,
    RETRY_STATUSES,
    UpstreamClient,
    decode,
    error_for,
)
from inferencesh.upstream.errors import UpstreamError
from inferencesh.upstream.operation import Operation

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "RETRY_STATUSES",
    "Auth",
    "MissingSecret",
    "Operation",
    "UpstreamClient",
    "UpstreamError",
    "decode",
    "error_for",
]

"""The async client's default transport: httpx connection pools in shards, one per group of
asyncio tasks.

httpcore's pool looks at every connection it holds, for every connection, each time a request
starts or ends: with 64 tasks running at once that is thousands of checks per request, more
CPU than the rest of the request. Spread over a few pools, each holding the connections of the
asyncio tasks that hash to it, the same work costs a fraction. A task always lands in the same
pool, so one caller doing request after request keeps using one connection.

Each pool reaches the network through ``inferencesh.core._asyncio_net`` (asyncio protocols
rather than anyio streams: a fraction of the CPU per read and write).

Only for the default client: a proxy from the environment (which httpx applies only to clients
it builds its own transport for) keeps the plain single pool.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request

import httpcore
import httpx

from inferencesh.core._asyncio_net import AsyncioBackend

_SHARDS = 8  # a power of two
_PER_SHARD = httpx.Limits(max_connections=32, max_keepalive_connections=32)
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


class _Transport(httpx.AsyncHTTPTransport):
    """httpx's transport (its request and response mapping) over a pool of ``AsyncioBackend``
    connections."""

    def __init__(self, context: ssl.SSLContext, backend: AsyncioBackend) -> None:
        super().__init__(verify=context, limits=_PER_SHARD)
        # httpx names no network backend for the pool it builds: the same pool, with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=_PER_SHARD.max_connections,
            max_keepalive_connections=_PER_SHARD.max_keepalive_connections,
            keepalive_expiry=_PER_SHARD.keepalive_expiry,
            network_backend=backend,
        )


class _ShardedTransport(httpx.AsyncBaseTransport):
    """``_SHARDS`` pools of ``httpx.AsyncHTTPTransport``; a request goes to its task's pool."""

    def __init__(self) -> None:
        context = httpx.create_ssl_context(verify=True, trust_env=True)  # one for all shards
        backend = AsyncioBackend()
        self._pools = [_Transport(context, backend) for _ in range(_SHARDS)]

    def _pool(self) -> httpx.AsyncHTTPTransport:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # not under asyncio (another event loop through anyio)
            task = None
        # A multiplicative hash of the id; its middle bits mix all of the id's bits (the low
        # bits of an id say little: objects sit on 16-byte boundaries, often further apart).
        return self._pools[((id(task) * 0x9E3779B1) & 0xFFFFFFFF) >> 16 & (_SHARDS - 1)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool().handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def async_client(
    timeout: httpx.Timeout,
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport | None]:
    """The ``httpx.AsyncClient`` an async client makes for itself, and its transport to send
    to directly (none with a proxy from the environment: see the module)."""
    if urllib.request.getproxies():
        return httpx.AsyncClient(timeout=timeout, limits=_LIMITS), None
    transport = _ShardedTransport()
    return httpx.AsyncClient(timeout=timeout, transport=transport), transport

"""httpcore's network backend for the sync client's own pool: its sockets, with a request's
head and body sent in one system call.

httpcore writes a request's head, then its body: two sends. On a kept-alive connection each
send is a system call that, on loopback, also runs the server's side of TCP and wakes the
server, which then reads the head alone and the body in a second wake-up. Here a write is held
until the next write or read, and goes out with it: a request with a body of one piece (every
JSON request) is one send. A body of many pieces (a file upload) is sent piece by piece as
before, the head with the first, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class _Stream(httpcore.NetworkStream):
    """A connection's stream whose writes are held until the next write or read."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self._held = b""
        self._timeout: float | None = None

    def _flush(self) -> None:
        held, self._held = self._held, b""
        if held:
            self._stream.write(held, self._timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            # As httpcore does with a failed write of a request: on to read what the server
            # answered (it may have refused the request early), or why the connection ended.
            with contextlib.suppress(httpcore.WriteError):
                self._flush()
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._held:
            # At most one write is held: with the next, both go in one send.
            held, self._held = self._held, b""
            self._stream.write(held + buffer, timeout)
            return
        self._held = bytes(buffer)
        self._timeout = timeout

    def close(self) -> None:
        self._held = b""  # a request given up: nothing more of it goes out
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._flush()
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class HeldWritesBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, its streams holding a write until the next (see the module)."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class HeldWritesTransport(httpx.HTTPTransport):
    """httpx's transport (its request and response mapping) over a pool of
    :class:`HeldWritesBackend` connections."""

    def __init__(self, limits: httpx.Limits) -> None:
        context = httpx.create_ssl_context(verify=True, trust_env=True)
        super().__init__(verify=context, limits=limits)
        # httpx names no network backend for the pool it builds: the same pool, with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=HeldWritesBackend(),
        )

"""uvicorn's HTTP protocol (httptools), sending each plain response in one system call.

uvicorn writes a response's head when the app starts it and its body when the app sends it:
two writes, two system calls (on loopback each also runs the reader's side of TCP) and two
wake-ups of the reader, for every reply. :class:`OneWriteProtocol` holds a connection's writes
until its response is complete, so a plain response's head and body go out together; what a
streamed response writes goes out at the end of the event-loop turn that wrote it, so a stream
is never held back. Everything else is uvicorn's own protocol.

``protocol()`` is what the worker and ``inferencesh dev`` give uvicorn: this class, or
``"auto"`` where httptools is not installed (uvicorn then uses h11, unchanged).
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["protocol"]

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is installed on CPython
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class _HeldWrites:
    """A transport whose writes are held and sent as one: by :meth:`flush`, or at the end of
    the event-loop turn of the first held write. Everything else is the transport's."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = [bytes(data)]
            self._loop.call_soon(self.flush)
        else:
            held.append(bytes(data))

    def flush(self) -> None:
        """Send what is held, in one write."""
        held = self._held
        if held is None:
            return
        self._held = None
        if not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


if HttpToolsProtocol is not None:

    class OneWriteProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol on a transport that holds writes until the response
        is complete (see the module's docstring)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_HeldWrites(transport, self.loop))  # type: ignore[arg-type]

        def on_response_complete(self) -> None:
            self.transport.flush()  # type: ignore[attr-defined]
            super().on_response_complete()


def protocol() -> Any:
    """The ``http`` option of uvicorn's ``Config`` for the worker's and the platform's servers."""
    return "auto" if HttpToolsProtocol is None else OneWriteProtocol

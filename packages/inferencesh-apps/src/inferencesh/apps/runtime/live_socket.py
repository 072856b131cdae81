"""The socket the runtime gives a stream function: the app's end of the platform's relay.

The worker dials the relay's worker end (``url?access_token=token``, both from the ``socket``
of the run request) with the ``websockets`` package, and :class:`RelaySocket` serves the app
the frames with the kernel's rules:

- frames come out in the order they arrived;
- at most ``binary_backlog`` (256) binary frames wait; when one more arrives the oldest waiting
  binary frame is dropped and counted in ``dropped``; text frames are never dropped;
- ``recv()`` answers ``None`` once the caller is gone (and nothing is left to read);
- ``send()`` after the caller left does nothing, so the app's return path never fails on it.

The relay closes this end with code 1013 when no caller came in time (:attr:`RelaySocket.refused`
says why); the runtime then ends the run with that reason.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from typing import Any
from urllib.parse import quote

from inferencesh.apps.socket import Frame

__all__ = [
    "DEFAULT_BINARY_BACKLOG",
    "PAIRING_TIMEOUT_CODE",
    "NoCaller",
    "RelaySocket",
    "SocketAccessError",
    "call_with_socket",
    "open_socket",
]

DEFAULT_BINARY_BACKLOG = 256
PAIRING_TIMEOUT_CODE = 1013
_MAX_FRAME = 16 * 1024 * 1024


class SocketAccessError(RuntimeError):
    """The run's ``socket`` could not be dialled, or was malformed."""


class RelaySocket:
    """A stream function's socket over the platform's relay (see the module docstring).

    Example:
        >>> import asyncio
        >>> from inferencesh.apps.runtime.live_socket import RelaySocket
        >>> async def main():
        ...     socket = RelaySocket("sock_1", binary_backlog=2)
        ...     for frame in (b"1", "text", b"2", b"3"):  # as the relay delivers them
        ...         socket.deliver(frame)
        ...     socket.finish(1000, "caller left")
        ...     frames = [frame async for frame in socket]
        ...     await socket.send(b"too late")  # the caller is gone: nothing happens
        ...     return frames, socket.dropped, socket.closed
        >>> asyncio.run(main())
        (['text', b'2', b'3'], 1, True)
    """

    def __init__(
        self,
        socket_id: str,
        metadata: dict[str, Any] | None = None,
        *,
        binary_backlog: int | None = DEFAULT_BINARY_BACKLOG,
    ) -> None:
        self.id = socket_id
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.binary_backlog = binary_backlog
        self.dropped = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.sent_after_close = 0
        # Two queues of (arrival number, frame): dropping the oldest binary frame is O(1),
        # and reading takes whichever head arrived first.
        self._binary: collections.deque[tuple[int, bytes]] = collections.deque()
        self._text: collections.deque[tuple[int, str]] = collections.deque()
        self._arrived = 0
        self._ready = asyncio.Event()
        self._ended = False
        self._closing = False
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._refused = asyncio.get_running_loop().create_future()

    # -- the relay side ----------------------------------------------------------------------

    @classmethod
    async def dial(
        cls, access: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> RelaySocket:
        """Connect to the relay's worker end described by ``access`` (``{id, url, token}``)."""
        try:
            socket_id, url, token = (str(access[key]) for key in ("id", "url", "token"))
        except (KeyError, TypeError) as exc:
            raise SocketAccessError(f"the run's `socket` lacks {exc}") from None
        from websockets.asyncio.client import connect

        sep = "&" if "?" in url else "?"
        socket = cls(socket_id, metadata)
        try:
            socket._ws = await connect(
                f"{url}{sep}access_token={quote(token, safe='')}",
                compression=None,
                max_size=_MAX_FRAME,
                open_timeout=30,
            )
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            raise SocketAccessError(f"could not connect to the socket relay: {exc}") from exc
        except Exception as exc:  # websockets' handshake errors: refused token, HTTP error
            raise SocketAccessError(f"the socket relay refused the connection: {exc}") from exc
        socket._reader = asyncio.get_running_loop().create_task(socket._read())
        return socket

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = self._ws
        try:
            async for message in ws:
                self.deliver(message)
        except ConnectionClosed:
            pass
        finally:
            self.finish(ws.close_code or 1006, ws.close_reason or "")

    def deliver(self, frame: Frame) -> None:
        """Queue one frame from the caller, by the backlog rule."""
        if self._ended:
            return
        self._arrived += 1
        if isinstance(frame, str):
            self._text.append((self._arrived, frame))
        else:
            backlog = self.binary_backlog
            if backlog is not None and len(self._binary) >= backlog:
                if backlog == 0:
                    self.dropped += 1
                    return
                self._binary.popleft()
                self.dropped += 1
            self._binary.append((self._arrived, bytes(frame)))
        self._ready.set()

    def finish(self, code: int, reason: str) -> None:
        """The relay closed this end: no more frames will arrive."""
        if self._ended:
            return
        self._ended = True
        self.close_code, self.close_reason = code, reason
        if code == PAIRING_TIMEOUT_CODE and not self._refused.done():
            self._refused.set_result(reason or "no caller connected in time")
        self._ready.set()

    async def refused(self) -> str:
        """Wait until the relay gives up waiting for a caller; returns its reason."""
        return await asyncio.shield(self._refused)

    # -- the app's side ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the connection is over (frames already queued can still be read)."""
        return self._ended or self._closing

    async def recv(self) -> Frame | None:
        """The next frame in arrival order, or ``None`` once the caller is gone."""
        while True:
            binary, text = self._binary, self._text
            if binary and (not text or binary[0][0] < text[0][0]):
                return binary.popleft()[1]
            if text:
                return text.popleft()[1]
            if self._ended or self._closing:
                return None
            self._ready.clear()
            await self._ready.wait()

    def __aiter__(self) -> RelaySocket:
        return self

    async def __anext__(self) -> Frame:
        frame = await self.recv()
        if frame is None:
            raise StopAsyncIteration
        return frame

    async def send(self, data: Any) -> None:
        """Send one frame: bytes as binary, str as text, anything else as JSON text. Does
        nothing once the caller is gone."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        elif not isinstance(data, (bytes, str)):
            data = json.dumps(data, separators=(",", ":"), default=str)
        if self._ended or self._closing or self._ws is None:
            self.sent_after_close += 1
            return
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(data)
        except ConnectionClosed:
            self.sent_after_close += 1

    async def close(self, code: int = 1000, reason: str = "done") -> None:
        """Stop reading and close this end (the relay ends the caller's)."""
        self._closing = True
        self._ready.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code, reason), 5.0)
        reader = self._reader
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class NoCaller(RuntimeError):
    """The relay gave up waiting for the caller of a stream function (the pairing timeout)."""


async def open_socket(access: Any, metadata: dict[str, Any] | None) -> Any:
    """The socket of a stream function's call: ``access`` as given when it is already a socket
    (``inferencesh app test`` feeds one from a file), else the relay end it describes, dialled.
    """
    if access is None:
        raise SocketAccessError(
            "a stream function needs a socket: call it through the platform (`client.live(...)`) "
            "or feed it frames with `inferencesh app test --frames FILE`"
        )
    if isinstance(access, dict):
        return await RelaySocket.dial(access, metadata)
    return access


async def call_with_socket(socket: Any, call: Any) -> Any:
    """Await ``call`` (the function and the draining of its output); if the relay gives up
    waiting for a caller first, the call is cancelled and :class:`NoCaller` says why."""
    refused = getattr(socket, "refused", None)
    if refused is None:
        return await call
    task = asyncio.ensure_future(call)
    watch = asyncio.ensure_future(refused())
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done() and not watch.done():  # we are being cancelled
            task.cancel()
        watch.cancel()
    if not watch.done():
        return task.result()
    # The relay gave up waiting for a caller (which also ends the socket, so the call may have
    # returned as well): the run fails with the reason either way.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise NoCaller(watch.result())

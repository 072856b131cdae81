"""A stream function's socket fed from a file of frames (``inferencesh app test --frames``).

The file's format is :mod:`inferencesh.core.frames` (``parse_frames`` is re-exported here),
shared with ``inferencesh run --frames``. Once every frame is read the caller counts as gone
(``recv()`` answers ``None``).

Example:
    >>> import asyncio
    >>> from inferencesh.apps.runtime.frames_file import FileSocket, parse_frames
    >>> frames = parse_frames('{"hex": "0102"}\\n# a comment\\n{"json": {"label": "x"}}\\n')
    >>> frames
    [b'\\x01\\x02', '{"label": "x"}']
    >>> async def main():
    ...     socket = FileSocket(frames)
    ...     got = [frame async for frame in socket]
    ...     await socket.send(b"back")
    ...     return got, socket.sent
    >>> asyncio.run(main())
    ([b'\\x01\\x02', '{"label": "x"}'], [b'back'])
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inferencesh.apps.socket import Frame
from inferencesh.core.frames import MAX_FRAMES, parse_frames

__all__ = ["MAX_FRAMES", "FileSocket", "parse_frames"]


class FileSocket:
    """A socket that delivers ``frames`` then reports the caller gone; what the app sends is
    kept in ``sent`` (and passed to ``on_send``)."""

    def __init__(
        self, frames: list[Frame], on_send: Callable[[bytes | str], None] | None = None
    ) -> None:
        self.id = "file"
        self.metadata: dict[str, Any] = {}
        self.dropped = 0
        self.binary_backlog: int | None = None
        self.sent: list[bytes | str] = []
        self._frames = list(frames)
        self._next = 0
        self._closed = False
        self._on_send = on_send

    @property
    def closed(self) -> bool:
        """Whether every frame was read (or the app closed the socket)."""
        return self._closed or self._next >= len(self._frames)

    async def recv(self) -> Frame | None:
        """The next frame of the file, or ``None`` after the last."""
        if self._closed or self._next >= len(self._frames):
            return None
        frame = self._frames[self._next]
        self._next += 1
        return frame

    def __aiter__(self) -> FileSocket:
        return self

    async def __anext__(self) -> Frame:
        frame = await self.recv()
        if frame is None:
            raise StopAsyncIteration
        return frame

    async def send(self, data: Any) -> None:
        """Keep what the app sends: bytes as they are, str as text, anything else as JSON."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        elif not isinstance(data, (bytes, str)):
            data = json.dumps(data, separators=(",", ":"), default=str)
        self.sent.append(data)
        if self._on_send is not None:
            self._on_send(data)

    async def close(self) -> None:
        """Stop delivering frames."""
        self._closed = True

"""The live half of ``inferencesh run``: a stream function's session driven from the command
line.

When the run response carries a ``socket``, ``inferencesh run`` dials it with
:class:`~inferencesh.core.live.AsyncLiveSession`, sends the frames of ``--frames`` files and/or
stdin (the :mod:`inferencesh.core.frames` format, one frame per line), and prints what the app
sends back on stdout, one JSON object a line:

* ``{"json": {...}}``: a text frame holding a JSON object (a patch of output fields);
* ``{"text": "..."}``: any other text frame;
* ``{"bytes": 640}``: a binary frame, by its size (with ``--binary-out FILE`` the bytes are
  written to FILE instead);
* ``{"output": {...}}``: last, the task's output once it completed.

Once the input is exhausted the session stays open until the app has been silent for
``--linger`` seconds after the two ends met (or the app ends it), then hangs up; the app's
function returns and the command exits with the task's final status.

Example:
    >>> import io
    >>> from inferencesh.core.run_live import frame_line
    >>> frame_line({"transcript": "hi"}), frame_line("plain"), frame_line(b"\\x00" * 640)
    ('{"json": {"transcript": "hi"}}', '{"text": "plain"}', '{"bytes": 640}')
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from typing import IO, TYPE_CHECKING, Any, TextIO

from inferencesh.core.frames import Frame, parse_frame

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference
    from inferencesh.core.live import AsyncLiveSession
    from inferencesh.core.types import Task

__all__ = ["FramesInputError", "LiveRun", "frame_line", "live_available"]

FrameSource = Sequence[Frame] | TextIO
"""Frames to send: parsed ones (a ``--frames`` file), or a text stream read line by line as it
arrives (stdin)."""

_POLL = 0.25  # seconds between looks at the socket while waiting for the app to connect


class FramesInputError(ValueError):
    """A bad frame in a stream read while the session runs (stdin); names the line."""


def live_available() -> str | None:
    """``None`` when live sessions can be opened, else what to install."""
    try:
        import websockets.asyncio.client  # noqa: F401
    except ImportError:
        return (
            'live sessions need the `websockets` package: pip install "inferencesh-core[live]" '
            '(or "inferencesh[async]")'
        )
    return None


def frame_line(frame: bytes | str | dict[str, Any]) -> str:
    """The stdout line of a frame from the app (see the module docstring)."""
    if isinstance(frame, bytes):
        return json.dumps({"bytes": len(frame)})
    if isinstance(frame, dict):
        return json.dumps({"json": frame}, ensure_ascii=False, default=str)
    return json.dumps({"text": frame}, ensure_ascii=False)


class LiveRun:
    """One live session of ``inferencesh run``: ``await LiveRun(...).run()`` returns the
    completed task (raising as ``wait_for_completion`` does when it failed).

    ``sources`` are sent in order; ``binary_out`` (a binary file) receives the app's binary
    frames; ``linger`` is how long a quiet app is listened to once the input is exhausted.
    """

    def __init__(
        self,
        client: AsyncInference,
        task: Task,
        sources: Sequence[FrameSource],
        *,
        binary_out: IO[bytes] | None = None,
        linger: float = 2.0,
        timeout: float | None = None,
        out: TextIO | None = None,
    ) -> None:
        self._client = client
        self._task = task
        self._sources = list(sources)
        self._binary_out = binary_out
        self._linger = linger
        self._timeout = timeout
        self._out = out or sys.stdout
        self._last = 0.0
        self._paired = False
        self.sent = 0
        self.received = 0
        self.binary_bytes = 0

    async def run(self) -> Task:
        """Open the session, drive it to its end, then wait for the task."""
        session = await self._client.sockets.open(self._task)
        receiver = asyncio.ensure_future(self._receive(session))
        try:
            await self._send_all(session)
            await self._linger_until_quiet(session, receiver)
        finally:
            await session.close()
            await receiver
        return await self._client.wait_for_completion(self._task.id, timeout=self._timeout)

    def summary(self) -> str:
        """What went each way, for stderr."""
        binary = f", {self.binary_bytes} bytes binary" if self.binary_bytes else ""
        return f"sent {self.sent} frames, received {self.received}{binary}"

    # -- frames out ------------------------------------------------------------------------

    async def _send_all(self, session: AsyncLiveSession) -> None:
        for source in self._sources:
            frames = _from_stream(source) if _is_stream(source) else _listed(source)
            async for frame in frames:
                if not session.is_open:
                    return  # the app ended the session: the rest has nowhere to go
                try:
                    if isinstance(frame, bytes):
                        await session.send_binary(frame)
                    else:
                        await session.send_text(frame)
                except Exception:  # noqa: BLE001 - closed meanwhile: its end says how
                    return
                self.sent += 1

    async def _linger_until_quiet(
        self, session: AsyncLiveSession, receiver: asyncio.Future[None]
    ) -> None:
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        while not receiver.done():
            if not self._paired:
                self._paired = await self._is_paired()
                if self._paired:
                    self._last = max(self._last, loop.time())
            quiet = loop.time() - self._last
            if self._paired and quiet >= self._linger:
                return
            wait = self._linger - quiet if self._paired else _POLL
            await asyncio.wait([receiver], timeout=max(wait, 0.01))

    async def _is_paired(self) -> bool:
        assert self._task.socket is not None
        with contextlib.suppress(Exception):  # a failed look is retried on the next poll
            info = await self._client.sockets.get(self._task.socket.id)
            return info.paired_at is not None or info.status == "closed"
        return False

    # -- frames in -------------------------------------------------------------------------

    async def _receive(self, session: AsyncLiveSession) -> None:
        loop = asyncio.get_running_loop()
        async for frame in session:
            self._last = loop.time()
            self._paired = True  # the app sent something, so it is connected
            self.received += 1
            if isinstance(frame, bytes):
                self.binary_bytes += len(frame)
                if self._binary_out is not None:
                    self._binary_out.write(frame)
                    continue
            if isinstance(frame, (bytes, str, dict)):
                self._print(frame_line(frame))

    def _print(self, line: str) -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader stopped: the run goes on
            try:
                print(line, file=self._out, flush=True)
            except UnicodeEncodeError:  # a cp1252 console, a latin-1 pipe: \\u escapes
                print(json.dumps(json.loads(line)), file=self._out, flush=True)


def _is_stream(source: FrameSource) -> bool:
    return hasattr(source, "readline")


async def _listed(frames: Any) -> AsyncIterator[Frame]:
    for frame in frames:
        yield frame


async def _from_stream(stream: Any) -> AsyncIterator[Frame]:
    """The frames of a text stream, each as soon as its line is read (a reader thread, since
    stdin cannot be read without blocking everywhere); ``FramesInputError`` names a bad line."""
    name = getattr(stream, "name", None) or "the input"
    number = 0
    async for line in _lines(stream):
        number += 1
        try:
            frame = parse_frame(line)
        except ValueError as exc:
            raise FramesInputError(f"{name} line {number}: {exc}") from None
        if frame is not None:
            yield frame


async def _lines(stream: Any) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue(maxsize=64)

    def pump() -> None:
        item: str | BaseException | None = None
        try:
            for line in iter(stream.readline, ""):
                asyncio.run_coroutine_threadsafe(queue.put(line), loop).result()
        except (RuntimeError, asyncio.CancelledError):
            return  # the loop is gone: nobody reads on
        except (OSError, ValueError) as exc:  # unreadable, undecodable, closed
            item = exc
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(queue.put(item), loop)

    # A daemon thread: a read blocked on a terminal does not keep the process alive.
    threading.Thread(target=pump, name="inferencesh-run-stdin", daemon=True).start()
    while (item := await queue.get()) is not None:
        if isinstance(item, BaseException):
            raise FramesInputError(f"cannot read {getattr(stream, 'name', 'the input')}: {item}")
        yield item

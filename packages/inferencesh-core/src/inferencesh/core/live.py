"""Live sessions: the caller's end of a stream function's socket.

``task, session = await client.live(params)`` starts a stream function and dials its socket;
the session is ``connecting``, then ``waiting`` once the relay accepted it, then ``live`` when
the app's first frame arrives, then ``ended`` (``session.ended`` resolves to a
:class:`LiveEnd`). While waiting, a close with 1012 or 1013 ("dial again") redials with a fresh
credential, at most :data:`MAX_REDIALS` times.

Frames from the app come out as ``bytes`` (binary), ``dict`` (a JSON object: a patch of output
fields) or ``str`` (other text); with ``output_schema`` they are mapped to
:class:`LiveUpdate` values. ``{"$clear": field}`` and ``{"$error": {...}}`` go to
``on_clear``/``on_error`` when those are given.

Needs the ``websockets`` package: ``pip install "inferencesh-core[live]"`` (the ``inferencesh``
package's ``async`` extra includes it).

Example:
    >>> import asyncio
    >>> from inferencesh import async_inference
    >>> async def main():
    ...     client = async_inference()
    ...     params = {"app": "local/live-echo", "function": "echo", "input": {"label": "heard"}}
    ...     task, session = await client.live(params)
    ...     async with session:
    ...         await session.send(b"\\x00\\x00" * 320)  # 20 ms of silence, 16 kHz mono
    ...         echoed = await session.__anext__()
    ...     done = await client.wait_for_completion(task.id)
    ...     await client.aclose()
    ...     return len(echoed), session.state, done.output["frames"]
    >>> asyncio.run(main())
    (640, <LiveState.ENDED: 'ended'>, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

from inferencesh.core.live_schema import binary_live_field, split_live_schema

__all__ = [
    "CLEAR_KEY",
    "ERROR_KEY",
    "MAX_REDIALS",
    "REDIAL_CODES",
    "AsyncLiveSession",
    "LiveEnd",
    "LiveState",
    "LiveUpdate",
    "access_url",
]

CLEAR_KEY = "$clear"
ERROR_KEY = "$error"
REDIAL_CODES = frozenset({1012, 1013})
"""Close codes that mean "dial again" while waiting: 1012 the relay restarted, 1013 the app did
not come in time."""
MAX_REDIALS = 5
_MAX_FRAME = 16 * 1024 * 1024


class LiveState(str, enum.Enum):
    """Where a session is: ``connecting``, ``waiting`` (for the app), ``live``, ``ended``."""

    CONNECTING = "connecting"
    WAITING = "waiting"
    LIVE = "live"
    ENDED = "ended"


@dataclasses.dataclass(frozen=True)
class LiveEnd:
    """How a session ended."""

    code: int
    """The WebSocket close code (1006 when it ended without one)."""
    reason: str
    by_caller: bool
    """The caller closed it."""
    task_ended: bool
    """The task ended before the app connected, so the session gave up waiting."""


class LiveUpdate(NamedTuple):
    """One thing the app sent, mapped to its output field: an item of a live field (bytes for
    the binary one) or a new value of an ordinary field."""

    field: str
    value: Any


Frame = bytes | str | dict[str, Any] | LiveUpdate
OnState = Callable[[LiveState, "LiveEnd | None"], None]
WsConnect = Callable[[str], Awaitable[Any]]
_DONE = object()


def access_url(access: Mapping[str, Any]) -> str:
    """The URL to dial for a ``SocketAccess``: its ``url`` with the token as ``access_token``.

    >>> from inferencesh.core.live import access_url
    >>> access_url({"url": "ws://127.0.0.1:8200/sockets/s1/connect", "token": "a+b"})
    'ws://127.0.0.1:8200/sockets/s1/connect?access_token=a%2Bb'
    """
    url = str(access["url"])
    return f"{url}{'&' if '?' in url else '?'}access_token={quote(str(access['token']), safe='')}"


async def _dial_websockets(url: str) -> Any:
    try:
        from websockets.asyncio.client import connect
    except ImportError as exc:
        raise ImportError(
            "live sessions need the `websockets` package: "
            'pip install "inferencesh-core[live]" (or "inferencesh[async]")'
        ) from exc
    return await connect(url, compression=None, max_size=_MAX_FRAME, open_timeout=30)


class AsyncLiveSession:
    """The caller's end of a stream task's socket (see the module docstring).

    ``access`` is the run response's ``socket`` (``{id, url, token, expires_at}``); ``renew``
    returns a fresh one for a redial; ``task_watch`` (an awaitable that ends with the task)
    ends a waiting session whose task ended first. ``ws_connect(url)`` dials (default: the
    ``websockets`` package); what it returns needs ``send``, ``close(code, reason)``, async
    iteration and ``close_code``/``close_reason``, as a ``websockets`` connection has.
    """

    def __init__(
        self,
        access: Mapping[str, Any],
        *,
        renew: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        task_watch: Awaitable[Any] | None = None,
        on_state: OnState | None = None,
        on_binary: Callable[[bytes], None] | None = None,
        on_patch: Callable[[dict[str, Any]], None] | None = None,
        on_clear: Callable[[str], None] | None = None,
        on_error: Callable[[str | None, str], None] | None = None,
        on_text: Callable[[str], None] | None = None,
        on_update: Callable[[LiveUpdate], None] | None = None,
        input_schema: Mapping[str, Any] | None = None,
        output_schema: Mapping[str, Any] | None = None,
        ws_connect: WsConnect | None = None,
    ) -> None:
        self._access = dict(access)
        self._renew = renew
        self._task_watch = task_watch
        self._on_state, self._on_binary, self._on_patch = on_state, on_binary, on_patch
        self._on_clear, self._on_error, self._on_text = on_clear, on_error, on_text
        self._on_update = on_update
        self._dial = ws_connect or _dial_websockets
        in_live = split_live_schema(input_schema)[1] if input_schema else []
        out_live = split_live_schema(output_schema)[1] if output_schema else []
        self._input_schema = input_schema
        self._in_binary = getattr(binary_live_field(in_live), "key", None)
        self._mapped = output_schema is not None
        self._out_binary = getattr(binary_live_field(out_live), "key", None)
        self._out_fields = set((output_schema or {}).get("properties") or {})
        self._state = LiveState.CONNECTING
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._frames: asyncio.Queue[Any] = asyncio.Queue()
        self._end: LiveEnd | None = None
        self._ended: asyncio.Future[LiveEnd] | None = None
        self._by_caller = False
        self._redials = 0
        self._ender: asyncio.Future[None] | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self) -> LiveState:
        """The session's state."""
        return self._state

    @property
    def is_open(self) -> bool:
        """Whether frames can be sent now."""
        return self._ws is not None and self._state in (LiveState.WAITING, LiveState.LIVE)

    @property
    def end(self) -> LiveEnd | None:
        """How the session ended, once it has."""
        return self._end

    @property
    def ended(self) -> asyncio.Future[LiveEnd]:
        """A future that resolves to the :class:`LiveEnd`."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
            if self._end is not None:
                self._ended.set_result(self._end)
        return self._ended

    def _set_state(self, state: LiveState, end: LiveEnd | None = None) -> None:
        self._state = state
        if self._on_state is not None:
            self._on_state(state, end)

    # -- connecting --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Dial the socket; returns once the relay accepted it (``waiting``) or it ended."""
        self._set_state(LiveState.CONNECTING)
        try:
            ws = await self._dial(access_url(self._access))
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - refused (403), unreachable, timed out
            await self._finish(LiveEnd(1006, str(exc) or "could not connect", False, False))
            return
        if self._state is LiveState.ENDED:  # the task ended or the caller closed meanwhile
            with contextlib.suppress(Exception):
                await ws.close(1000, "done")
            return
        self._ws = ws
        self._set_state(LiveState.WAITING)
        self._reader = asyncio.ensure_future(self._read(ws))
        if self._task_watch is not None and self._watch is None:
            self._watch = asyncio.ensure_future(self._task_watch)
            self._watch.add_done_callback(self._task_done)

    async def _read(self, ws: Any) -> None:
        try:
            async for message in ws:
                if isinstance(message, str):
                    self._deliver_text(message)
                else:
                    self._deliver_binary(bytes(message))
        except asyncio.CancelledError:
            return
        except Exception:  # noqa: BLE001, S110 - the connection dropped: its close code says how
            pass
        code = getattr(ws, "close_code", None) or 1006
        reason = getattr(ws, "close_reason", None) or ""
        await self._on_close(ws, int(code), str(reason))

    async def _on_close(self, ws: Any, code: int, reason: str) -> None:
        if self._ws is not ws:
            return  # replaced or closed by us: that path ends the session
        self._ws = None
        waiting = self._state is not LiveState.LIVE
        redial = not self._by_caller and waiting and code in REDIAL_CODES
        if redial and self._redials < MAX_REDIALS:
            self._redials += 1
            await self._redial()
            return
        await self._finish(LiveEnd(code, reason, self._by_caller, False))

    async def _redial(self) -> None:
        try:
            if self._renew is not None:
                self._access = dict(await self._renew())
        except Exception as exc:  # noqa: BLE001 - the end says why
            await self._finish(
                LiveEnd(1006, f"could not renew the credential: {exc}", False, False)
            )
            return
        await self.connect()

    def _task_done(self, watch: asyncio.Future[Any]) -> None:
        if watch.cancelled() or self._state in (LiveState.LIVE, LiveState.ENDED):
            if not watch.cancelled():
                watch.exception()  # retrieved: no "never retrieved" warning
            return
        exc = watch.exception()
        if exc is None:
            reason = f"the task ended ({getattr(watch.result(), 'status', 'done')})"
        else:  # a failed task ends the wait the same way
            reason = str(exc) or type(exc).__name__
        self._ender = asyncio.ensure_future(self._task_ended(reason))

    async def _task_ended(self, reason: str) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(1000, "task ended")
        await self._finish(LiveEnd(1000, reason, False, True))

    async def _finish(self, end: LiveEnd) -> None:
        if self._state is LiveState.ENDED:
            return
        self._end = end
        self._set_state(LiveState.ENDED, end)
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(end)
        self._frames.put_nowait(_DONE)
        if self._watch is None and inspect.iscoroutine(self._task_watch):
            self._task_watch.close()  # never started: no "never awaited" warning
        if self._watch is not None and not self._watch.done():
            self._watch.cancel()

    async def close(self) -> None:
        """End the session (close code 1000 "done"); the app's ``recv`` then answers ``None``."""
        if self._state is LiveState.ENDED:
            return
        self._by_caller = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(1000, "done")
        await self._finish(LiveEnd(1000, "done", True, False))
        reader = self._reader
        if reader is not None and not reader.done():
            reader.cancel()

    # -- frames in ---------------------------------------------------------------------------

    def _went_live(self) -> None:
        if self._state is LiveState.WAITING:
            self._set_state(LiveState.LIVE)
            if self._watch is not None:
                self._watch.cancel()  # the app is here: the task's fate now shows on the socket

    def _deliver_binary(self, data: bytes) -> None:
        self._went_live()
        if self._on_binary is not None:
            self._on_binary(data)
        elif self._mapped and self._out_binary:
            self._deliver_update(LiveUpdate(self._out_binary, data))
        else:
            self._frames.put_nowait(data)

    def _deliver_text(self, text: str) -> None:
        self._went_live()
        try:
            patch = json.loads(text)
        except ValueError:
            patch = None
        if not isinstance(patch, dict):
            if self._on_text is not None:
                self._on_text(text)
            else:
                self._frames.put_nowait(text)
            return
        had_keys = bool(patch)
        if self._on_clear is not None and isinstance(patch.get(CLEAR_KEY), str):
            self._on_clear(patch.pop(CLEAR_KEY))
        if self._on_error is not None:
            key = ERROR_KEY if ERROR_KEY in patch else "error" if self._legacy(patch) else None
            if key is not None:
                err = patch.pop(key)
                err = err if isinstance(err, dict) else {"message": str(err)}
                field = err.get("field")
                self._on_error(field if isinstance(field, str) else None, str(err.get("message")))
        if had_keys and not patch:
            return  # control frames only
        if self._on_patch is not None:
            self._on_patch(patch)
        elif self._mapped:
            for key, value in patch.items():
                self._deliver_update(LiveUpdate(key, value))
        else:
            self._frames.put_nowait(patch)

    def _legacy(self, patch: dict[str, Any]) -> bool:
        """``{"error": {"message": ...}}`` from apps on SDKs before 0.10.1, unless the output
        has a real ``error`` field."""
        err = patch.get("error")
        return isinstance(err, dict) and "message" in err and "error" not in self._out_fields

    def _deliver_update(self, update: LiveUpdate) -> None:
        if self._on_update is not None:
            self._on_update(update)
        else:
            self._frames.put_nowait(update)

    def __aiter__(self) -> AsyncLiveSession:
        return self

    async def __anext__(self) -> Frame:
        item = await self._frames.get()
        if item is _DONE:
            self._frames.put_nowait(_DONE)  # later iterations end too
            raise StopAsyncIteration
        frame: Frame = item
        return frame

    async def __aenter__(self) -> AsyncLiveSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- frames out --------------------------------------------------------------------------

    def _open_ws(self) -> Any:
        if self._ws is None or self._state is LiveState.ENDED:
            raise RuntimeError(f"the live session is {self._state.value}, not open")
        return self._ws

    async def send(self, data: bytes | bytearray | memoryview | Mapping[str, Any]) -> None:
        """Send bytes as a binary frame (an item of the input's binary live field) or a mapping
        as a JSON patch (items of live fields, or new values of ordinary fields)."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            await self.send_binary(data)
        elif isinstance(data, Mapping):
            await self.send_patch(data)
        else:
            raise TypeError(f"send takes bytes or a mapping, got {type(data).__name__}")

    async def send_binary(self, data: bytes | bytearray | memoryview) -> None:
        """Send one binary frame."""
        await self._open_ws().send(bytes(data))

    async def send_text(self, text: str) -> None:
        """Send one text frame as it is (``send_patch`` builds one from a mapping)."""
        await self._open_ws().send(str(text))

    async def send_patch(self, patch: Mapping[str, Any]) -> None:
        """Send one JSON object keyed by field name."""
        await self._open_ws().send(json.dumps(dict(patch), separators=(",", ":")))

    async def send_field(self, field: str, value: Any) -> None:
        """Send one field's value: the binary live field's as a binary frame, any other as a
        patch. Needs ``input_schema``."""
        if self._input_schema is None:
            raise ValueError("send_field needs the session's input_schema")
        properties = self._input_schema.get("properties") or {}
        if field not in properties:
            raise KeyError(f"the input has no field {field!r}")
        if field == self._in_binary:
            await self.send_binary(value)
        else:
            await self.send_patch({field: value})

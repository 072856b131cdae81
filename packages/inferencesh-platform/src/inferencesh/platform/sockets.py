"""The live relay: one socket per stream task, joining the caller's WebSocket to the app's.

A stream function's task gets a :class:`RelaySocket` when it is created. The caller dials its
end (``/sockets/{id}/connect?access_token=...``, from the run response's ``socket``), the
worker dials the other (``/sockets/{id}/worker``, from the run request's ``socket``), and the
relay passes frames between them unchanged, counting frames and bytes each way.

Rules:

- Tokens: a wrong, expired or missing token is refused before the WebSocket is accepted (HTTP
  403). ``POST /sockets/{id}/access`` issues a fresh caller token (earlier ones stay valid
  until they expire).
- Waiting: what either end sends before the other is there is held (at most
  ``max_buffered_frames`` frames and ``max_buffered_bytes`` bytes; beyond that the sender is
  closed with 1008) and delivered, in order, once the other end connects.
- Pairing timeout: an end that waits ``pair_timeout`` seconds for its peer is closed with 1013.
  The caller dials again (1013 means "dial again" to it); the app's run ends with the reason,
  so its task never runs forever waiting for a caller.
- Frame size: a frame over ``max_frame_bytes`` closes its sender with 1009.
- Ends: when the app returns, the caller's end is closed with 1000; when the caller hangs up,
  the app's end is closed with the caller's code; when the app's connection drops (its worker
  died) the caller's end is closed with 1011 and the task's error as the reason. When the task
  ends, whatever is still open is closed.

The relay keeps its sockets in memory while the platform runs (the last ``_KEEP_CLOSED``
closed ones stay readable through ``GET /sockets/{id}``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from inferencesh.core.types import SocketAccess, SocketInfo
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.ids import iso, new_id, now_iso
from starlette.websockets import WebSocket, WebSocketDisconnect

__all__ = ["RelaySocket", "SocketHub", "SocketLimits"]

log = logging.getLogger("inferencesh.platform.sockets")

Role = Literal["client", "worker"]
Frame = bytes | str
_KEEP_CLOSED = 1000
_REASON_BYTES = 123  # the WebSocket limit on a close reason


@dataclasses.dataclass(frozen=True)
class SocketLimits:
    """The relay's limits (``inferencesh dev`` options set them)."""

    pair_timeout: float = 60.0
    """Seconds an end waits for its peer before it is closed with 1013."""
    access_ttl: float = 3600.0
    """Seconds a caller token stays valid."""
    max_frame_bytes: int = 1024 * 1024
    max_buffered_frames: int = 1024
    """Frames one end may send before its peer connects."""
    max_buffered_bytes: int = 16 * 1024 * 1024
    worker_lost_grace: float = 3.0
    """Seconds to wait for the task's error when the app's connection drops, to tell the caller."""


@dataclasses.dataclass(eq=False)
class _End:
    ws: WebSocket | None = None
    pending: collections.deque[Frame] = dataclasses.field(default_factory=collections.deque)
    pending_bytes: int = 0
    frames: int = 0
    bytes: int = 0
    waiting: asyncio.TimerHandle | None = None


class RelaySocket:
    """One socket: its two ends, the caller's tokens and the relay's account of it."""

    def __init__(self, socket_id: str, worker_token: str) -> None:
        self.id = socket_id
        self.task_id: str | None = None
        self.created_at = now_iso()
        self.updated_at = self.created_at
        self.status: Literal["pending", "open", "closed"] = "pending"
        self.paired_at: str | None = None
        self.ended_at: str | None = None
        self.outcome: str | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.worker_token = worker_token
        self.client_tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.ends: dict[Role, _End] = {"client": _End(), "worker": _End()}

    def accepts(self, role: Role, token: str | None) -> bool:
        """Whether ``token`` opens this socket's ``role`` end now."""
        if not token:
            return False
        if role == "worker":
            return hmac.compare_digest(token, self.worker_token)
        now = time.monotonic()
        return any(
            hmac.compare_digest(token, known) and expiry > now
            for known, expiry in self.client_tokens.items()
        )

    def info(self) -> SocketInfo:
        """The ``SocketDTO`` of this socket."""
        client, worker = self.ends["client"], self.ends["worker"]
        return SocketInfo(
            id=self.id,
            task_id=self.task_id,
            relay="local",
            status=self.status,
            paired_at=self.paired_at,
            ended_at=self.ended_at,
            outcome=self.outcome,
            close_code=self.close_code,
            close_reason=self.close_reason,
            client_frames=client.frames,
            client_bytes=client.bytes,
            worker_frames=worker.frames,
            worker_bytes=worker.bytes,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def _peer(role: Role) -> Role:
    return "worker" if role == "client" else "client"


def _reason(text: str) -> str:
    encoded = text.encode()[:_REASON_BYTES]
    return encoded.decode(errors="ignore")


async def _close(ws: WebSocket | None, code: int, reason: str) -> None:
    if ws is None:
        return
    with contextlib.suppress(Exception):  # already gone: nothing to tell it
        await ws.close(code, _reason(reason))


async def _send(ws: WebSocket, frame: Frame) -> None:
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    else:
        await ws.send_text(frame)


TaskWait = Callable[[str], Awaitable[Any]]


class SocketHub:
    """Every socket of the platform, and the relay between the ends of each.

    ``task_wait(task_id)`` waits for a task to end and returns its record (``TaskManager.wait``);
    ``base_url`` is the platform's HTTP address, from which the WebSocket URLs are made.
    """

    def __init__(self, base_url: str, limits: SocketLimits, task_wait: TaskWait) -> None:
        self._ws_base = "ws" + base_url[len("http") :] if base_url.startswith("http") else base_url
        self.limits = limits
        self._task_wait = task_wait
        self._sockets: dict[str, RelaySocket] = {}
        self._by_task: dict[str, str] = {}
        self._closed_order: collections.deque[str] = collections.deque()
        # Deleted sockets whose app may still dial: it is told the socket is gone (and
        # returns) instead of being refused (which would fail its task).
        self._deleted: dict[str, str] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- records -----------------------------------------------------------------------------

    def create(self) -> RelaySocket:
        """A new pending socket (attach it to its task with :meth:`attach`)."""
        sock = RelaySocket(new_id("sock_"), secrets.token_urlsafe(32))
        self._sockets[sock.id] = sock
        return sock

    def attach(self, sock: RelaySocket, task_id: str) -> None:
        """Tie ``sock`` to its task: when the task ends, whatever is still open is closed."""
        sock.task_id = task_id
        self._by_task[task_id] = sock.id
        task = asyncio.get_running_loop().create_task(self._follow_task(sock, task_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def get(self, socket_id: str) -> RelaySocket:
        """The socket, or 404."""
        sock = self._sockets.get(socket_id)
        if sock is None:
            raise PlatformError.not_found(f"no socket {socket_id!r}")
        return sock

    def for_task(self, task_id: str) -> RelaySocket | None:
        """The socket of a task, if it has one."""
        socket_id = self._by_task.get(task_id)
        return None if socket_id is None else self._sockets.get(socket_id)

    def all(self) -> list[RelaySocket]:
        """Every socket known, newest first."""
        return sorted(self._sockets.values(), key=lambda s: s.id, reverse=True)

    def access(self, sock: RelaySocket) -> SocketAccess:
        """A fresh caller credential for ``sock`` (earlier ones stay valid until they expire)."""
        if sock.status == "closed":
            raise PlatformError(409, "conflict", f"socket {sock.id} is closed")
        token = secrets.token_urlsafe(32)
        ttl = self.limits.access_ttl
        sock.client_tokens = {
            t: e for t, e in sock.client_tokens.items() if e > time.monotonic()
        }  # forget the expired ones
        sock.client_tokens[token] = time.monotonic() + ttl
        return SocketAccess(
            id=sock.id,
            url=f"{self._ws_base}/sockets/{sock.id}/connect",
            token=token,
            expires_at=iso(time.time() + ttl),
        )

    def worker_access(self, sock: RelaySocket) -> dict[str, str]:
        """What the worker needs to dial the app's end (sent in the run request)."""
        return {
            "id": sock.id,
            "url": f"{self._ws_base}/sockets/{sock.id}/worker",
            "token": sock.worker_token,
        }

    async def delete(self, socket_id: str) -> None:
        """Close both ends of a socket and forget it."""
        sock = self.get(socket_id)
        await self._shut(sock, 1000, "the socket was deleted", "deleted")
        self._sockets.pop(socket_id, None)
        self._deleted[socket_id] = sock.worker_token
        while len(self._deleted) > _KEEP_CLOSED:
            self._deleted.pop(next(iter(self._deleted)))
        if sock.task_id is not None:
            self._by_task.pop(sock.task_id, None)

    async def close(self) -> None:
        """The platform is stopping: close every open end with 1012 (dial again)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for sock in list(self._sockets.values()):
            await self._shut(sock, 1012, "the local platform is restarting", "drained")

    # -- the relay ---------------------------------------------------------------------------

    async def serve(self, ws: WebSocket, socket_id: str, role: Role) -> None:
        """Serve one end's WebSocket until it closes."""
        sock = self._sockets.get(socket_id)
        token = ws.query_params.get("access_token") or _bearer(ws)
        deleted = self._deleted.get(socket_id)
        if (
            sock is None
            and role == "worker"
            and deleted
            and hmac.compare_digest(deleted, token or "")
        ):
            await ws.accept()
            await _close(ws, 1000, "the socket was deleted")
            return
        if sock is None or not sock.accepts(role, token):
            await ws.close(1008)  # before accept: the handshake is answered 403
            return
        end = sock.ends[role]
        if sock.status == "closed":
            await ws.accept()
            await _close(ws, sock.close_code or 1000, sock.close_reason or "the socket is closed")
            return
        if end.ws is not None:
            await ws.accept()
            await _close(ws, 1008, "this end of the socket is already connected")
            return
        await ws.accept()
        end.ws = ws
        peer = sock.ends[_peer(role)]
        if peer.ws is not None:
            await self._pair(sock)
        else:
            self._wait_for_peer(sock, role, ws)
        code, reason = await self._pump(sock, role, ws)
        await self._end_closed(sock, role, ws, code, reason)

    def _wait_for_peer(self, sock: RelaySocket, role: Role, ws: WebSocket) -> None:
        end = sock.ends[role]
        timeout = self.limits.pair_timeout
        who = "no caller connected" if role == "worker" else "the app did not connect"

        def give_up() -> None:
            if end.ws is ws and sock.ends[_peer(role)].ws is None:
                self._spawn(_close(ws, 1013, f"{who} within {timeout:g}s"))

        end.waiting = asyncio.get_running_loop().call_later(timeout, give_up)

    async def _pair(self, sock: RelaySocket) -> None:
        """Both ends are here: deliver what each sent while waiting, then relay directly."""
        for end in sock.ends.values():
            if end.waiting is not None:
                end.waiting.cancel()
                end.waiting = None
        roles: tuple[Role, Role] = ("client", "worker")
        # Until both holds are empty: an end may send more while the other's is delivered.
        # The last check and the status change happen with no await between them.
        while any(sock.ends[r].pending and sock.ends[_peer(r)].ws is not None for r in roles):
            for role in roles:
                source, target = sock.ends[role], sock.ends[_peer(role)]
                while source.pending and target.ws is not None:
                    frame = source.pending.popleft()
                    source.pending_bytes -= len(frame)
                    with contextlib.suppress(Exception):
                        await _send(target.ws, frame)
        if sock.ends["client"].ws is not None and sock.ends["worker"].ws is not None:
            sock.status = "open"
            sock.paired_at = sock.paired_at or now_iso()
            sock.updated_at = now_iso()

    async def _pump(self, sock: RelaySocket, role: Role, ws: WebSocket) -> tuple[int, str]:
        """Relay what ``ws`` sends until it closes; returns its close code and reason."""
        limits = self.limits
        end, peer = sock.ends[role], sock.ends[_peer(role)]
        while True:
            try:
                message = await ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return 1006, ""
            if message["type"] == "websocket.disconnect":
                return int(message.get("code") or 1005), str(message.get("reason") or "")
            frame: Frame | None = message.get("bytes")
            if frame is None:
                frame = message.get("text") or ""
            size = len(frame)
            if size > limits.max_frame_bytes:
                await _close(
                    ws, 1009, f"frame of {size} bytes; the limit is {limits.max_frame_bytes}"
                )
                return 1009, "frame too large"
            end.frames += 1
            end.bytes += size
            target = peer.ws
            if target is not None and sock.status == "open":
                with contextlib.suppress(Exception):  # the peer left; its own pump ends it
                    await _send(target, frame)
                continue
            if (
                len(end.pending) >= limits.max_buffered_frames
                or end.pending_bytes + size > limits.max_buffered_bytes
            ):
                await _close(
                    ws,
                    1008,
                    f"more than {limits.max_buffered_frames} frames or "
                    f"{limits.max_buffered_bytes} bytes sent before the other end connected",
                )
                return 1008, "buffer full"
            end.pending.append(frame)
            end.pending_bytes += size

    async def _end_closed(
        self, sock: RelaySocket, role: Role, ws: WebSocket, code: int, reason: str
    ) -> None:
        end = sock.ends[role]
        if end.ws is not ws:
            return
        end.ws = None
        if end.waiting is not None:
            end.waiting.cancel()
            end.waiting = None
        if sock.status != "open":
            return  # unpaired (or over): the other end may still come; the task's end closes it
        peer = sock.ends[_peer(role)]
        if role == "client":
            await self._finish(sock, code, reason or "the caller closed", "client_closed")
            await _close(peer.ws, 1000 if code in (1005, 1006) else code, "the caller left")
            return
        if code in (1000, 1001):
            await self._finish(sock, 1000, reason or "the app ended the stream", "worker_closed")
            await _close(peer.ws, 1000, reason or "the app ended the stream")
            return
        # The app's connection dropped: its worker died or was killed. Tell the caller why.
        why = await self._task_error(sock) or f"the app's connection was lost (code {code})"
        await self._finish(sock, 1011, why, "worker_closed")
        await _close(peer.ws, 1011, why)

    async def _task_error(self, sock: RelaySocket) -> str | None:
        if sock.task_id is None:
            return None
        try:
            record = await asyncio.wait_for(
                self._task_wait(sock.task_id), self.limits.worker_lost_grace
            )
        except (asyncio.TimeoutError, PlatformError):
            return None
        error = getattr(record, "error", None)
        return str(error) if error else None

    async def _finish(self, sock: RelaySocket, code: int, reason: str, outcome: str) -> None:
        if sock.status == "closed":
            return
        sock.status = "closed"
        sock.close_code, sock.close_reason, sock.outcome = code, _reason(reason), outcome
        sock.ended_at = sock.updated_at = now_iso()
        for end in sock.ends.values():
            end.pending.clear()
            end.pending_bytes = 0
            if end.waiting is not None:
                end.waiting.cancel()
                end.waiting = None
        self._closed_order.append(sock.id)
        while len(self._closed_order) > _KEEP_CLOSED:
            old = self._sockets.pop(self._closed_order.popleft(), None)
            if old is not None and old.task_id is not None:
                self._by_task.pop(old.task_id, None)

    async def _shut(self, sock: RelaySocket, code: int, reason: str, outcome: str) -> None:
        open_ends = [end.ws for end in sock.ends.values() if end.ws is not None]
        if sock.status != "closed":
            never = sock.paired_at is None
            await self._finish(sock, code, reason, "never_paired" if never else outcome)
        for ws in open_ends:
            await _close(ws, code, reason)

    async def _follow_task(self, sock: RelaySocket, task_id: str) -> None:
        try:
            record = await self._task_wait(task_id)
        except PlatformError:
            record = None
        status = int(getattr(record, "status", 0) or 0)
        error = getattr(record, "error", None)
        if status == 10 or not error:
            code, reason = 1000, "the task ended"
        else:
            code, reason = 1011, str(error)
        await self._shut(sock, code, reason, "task_ended")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _bearer(ws: WebSocket) -> str | None:
    header = ws.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None

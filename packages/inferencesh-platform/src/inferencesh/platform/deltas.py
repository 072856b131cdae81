"""The delta channel of a running task: the deltas its app streams, relayed to the task's stream.

A worker's ``{"type": "delta", "delta": {...}}`` event becomes one task-stream line in the shape
of the platform's ``DeltaEvent``, which the published 0.36 client and the JS SDK read::

    {"event": "delta", "data": {"delta": {"response": "Hel"}, "seq": 1}}

Deltas are transient: never written to the database and not part of the task record (the
result is). Each is encoded once and shared by every subscriber. A task keeps the deltas sent
so far (up to ``MAX_REPLAY_BYTES``) while it runs, so a stream opened late (``client.run``
subscribes after creating the task) replays them first and misses nothing; ``seq`` numbers
them from 1 so a client that reconnects can drop the ones it has seen.

A stream opened just after the task ended still gets them (``RecentDeltas``: 30 s).

A delta that is not a non-empty JSON object is dropped with an error line in the task's log.

In the platform, ``TaskManager.events(task_id)`` yields these lines among the task's updates
(``item.get("event") == "delta"``), which is how an in-process consumer (the agent loop) reads a
model task's deltas; over HTTP they are the ``delta`` lines of ``GET /tasks/{id}/stream``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import msgspec

__all__ = ["MAX_REPLAY_BYTES", "DeltaLog", "RecentDeltas", "is_delta_message"]

MAX_REPLAY_BYTES = 8 * 1024 * 1024
"""Bytes of deltas a running task keeps for streams opened late; past it, only live ones."""

_encoder = msgspec.json.Encoder()


class DeltaLog:
    """The deltas of one running task: numbering, and the replay kept for late streams."""

    __slots__ = ("_bytes", "_replay", "seq")

    @property
    def size(self) -> int:
        """Bytes of deltas kept for replay."""
        return self._bytes

    def __init__(self) -> None:
        self.seq = 0
        self._replay: list[dict[str, Any]] = []
        self._bytes = 0

    def accept(self, delta: Any) -> dict[str, Any] | str:
        """The stream message for ``delta``, or why it was dropped (a ``str``)."""
        if not isinstance(delta, dict):
            return f"delta dropped: expected a JSON object, got {type(delta).__name__}"
        if not delta:
            return "delta dropped: it is empty"
        try:
            encoded = _encoder.encode(delta)
        except (TypeError, msgspec.EncodeError) as exc:
            return f"delta dropped: not JSON ({exc})"
        self.seq += 1
        raw = msgspec.Raw(b'{"delta":' + encoded + b',"seq":' + str(self.seq).encode() + b"}")
        message = {"event": "delta", "data": raw}
        if self._bytes + len(raw) <= MAX_REPLAY_BYTES:
            self._replay.append(message)
            self._bytes += len(raw)
        return message

    def replay(self) -> list[dict[str, Any]]:
        """The messages sent so far (a copy), for a stream that opens now."""
        return list(self._replay)


class RecentDeltas:
    """The deltas of tasks that ended a moment ago, for a stream opened just after the end
    (``client.run`` subscribes after creating the task; a fast app may be done by then).

    Kept ``ttl`` seconds, at most ``max_bytes`` in all (the oldest go first).
    """

    def __init__(self, ttl: float = 30.0, max_bytes: int = 4 * MAX_REPLAY_BYTES) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, tuple[float, DeltaLog]] = OrderedDict()
        self._bytes = 0

    def keep(self, task_id: str, log: DeltaLog) -> None:
        """Keep an ended task's deltas for a while."""
        now = time.monotonic()
        self._kept[task_id] = (now + self.ttl, log)
        self._bytes += log.size
        self._expire(now)

    def replay(self, task_id: str) -> list[dict[str, Any]]:
        """The deltas of an ended task, if still kept."""
        self._expire(time.monotonic())
        entry = self._kept.get(task_id)
        return entry[1].replay() if entry is not None else []

    def _expire(self, now: float) -> None:
        while self._kept:
            task_id, (expires, log) = next(iter(self._kept.items()))
            if expires > now and self._bytes <= self.max_bytes:
                return
            del self._kept[task_id]
            self._bytes -= log.size


def is_delta_message(item: Any) -> bool:
    """Whether a task-stream item is a delta line."""
    return isinstance(item, dict) and item.get("event") == "delta"

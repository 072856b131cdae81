"""Token deltas of a chat (``delta`` events) merged per message for ``on_delta``.

The ``LLMDelta`` rules (platform-protocol §2.2) are core's (``inferencesh.core.deltas``):
``response`` and ``reasoning`` joined, ``tool_calls`` merged by ``index``, anything else
replaced; ``None`` values skipped. Servers that send no deltas get them made from the message
snapshots instead (text and reasoning growth).
"""

from __future__ import annotations

from typing import Any

from inferencesh.agents.responses import AgentDelta
from inferencesh.core.chat import ChatMessage
from inferencesh.core.deltas import LLM_DELTA_TAGS, merge_delta, text_growth

_JOINED = ("response", "reasoning")
_MAX_INDEX = 1024


def _well_formed(piece: Any) -> bool:
    """A tool-call piece the merge can take: an object with an index in range and, if any, a
    ``function`` object (anything else from the wire is dropped, not fatal)."""
    if not isinstance(piece, dict):
        return False
    index = piece.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < _MAX_INDEX:
        return False
    return piece.get("function") is None or isinstance(piece.get("function"), dict)


def merge(output: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge ``delta`` into ``output`` in place by the ``LLMDelta`` rules of
    :mod:`inferencesh.core.deltas`, dropping tool-call pieces that are not well formed."""
    if "tool_calls" in delta:
        calls = delta["tool_calls"]
        pieces = (
            [piece for piece in calls if _well_formed(piece)] if isinstance(calls, list) else []
        )
        delta = {**delta, "tool_calls": pieces or None}
    merge_delta(output, delta, LLM_DELTA_TAGS)


class MessageDeltas:
    """The merged deltas of one message, and whether the server sent deltas for it.

    The server's texts are kept apart from what ``on_delta`` was given (``output``): a snapshot
    can show text before the first delta event arrives, and a stream that joins a message part
    way starts with the deltas so far in one event; either way only text beyond what was given
    is passed on, so no text is ever given twice."""

    __slots__ = ("from_server", "made", "output", "seq", "server")

    def __init__(self) -> None:
        self.output: dict[str, Any] = {}
        self.server: dict[str, str] = {}  # the joined texts the server's deltas add up to
        self.seq = 0  # the server's last delta number
        self.made = 0  # deltas made from snapshots (servers that send none)
        self.from_server = False

    def server_delta(self, message_id: str, delta: dict[str, Any], seq: Any) -> AgentDelta | None:
        """A delta event of the server, merged (``None`` if it adds nothing).

        Deltas count up by one; any other ``seq`` marks the deltas so far merged (what a
        stream sends first when it joins a message part way, as after a reconnect)."""
        self.from_server = True
        numbered = isinstance(seq, int) and not isinstance(seq, bool)
        whole = numbered and seq != self.seq + 1
        rest: dict[str, Any] = {}
        for key, value in delta.items():
            if key in _JOINED and isinstance(value, str):
                before = self.server.get(key, "")
                if not whole:
                    self.server[key] = before + value
                elif value.startswith(before):
                    self.server[key] = value
            elif not whole:
                rest[key] = value
        self.seq = seq if numbered else self.seq + 1
        added = {**self._growth(self.server), **rest}
        if not any(v is not None for v in added.values()):
            return None
        merge(self.output, added)
        return AgentDelta(message_id, added, dict(self.output), self.seq)

    def _growth(self, whole: dict[str, Any]) -> dict[str, Any]:
        """What the texts of ``whole`` add at the end of the texts given so far."""
        delta: dict[str, Any] = {}
        for key in _JOINED:
            piece = text_growth(str(self.output.get(key) or ""), whole.get(key))
            if piece:
                delta[key] = piece
        return delta

    def snapshot_delta(self, message: ChatMessage) -> AgentDelta | None:
        """What a message snapshot adds to the deltas so far, as a delta (``None``: nothing).

        While the server streams deltas for the message, only its final snapshot counts (it
        closes a gap, such as deltas missed while reconnecting, at the end of the text)."""
        if self.from_server and not message.is_final:
            return None
        delta = self._growth({"response": message.text, "reasoning": message.reasoning})
        if not delta:
            return None
        merge(self.output, delta)
        self.made += 1
        return AgentDelta(message.id, delta, dict(self.output), self.seq + self.made)

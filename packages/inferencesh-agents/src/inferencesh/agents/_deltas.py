"""Token deltas of a chat (``delta`` events) merged per message for ``on_delta``.

The ``LLMDelta`` rules (platform-protocol §2.2): ``response`` and ``reasoning`` are joined,
``tool_calls`` merged by ``index`` (``id`` and ``type`` replaced, ``function.name`` replaced,
``function.arguments`` joined), anything else replaced; ``None`` values are skipped. Servers that
send no deltas get them made from the message snapshots instead (text and reasoning growth).
"""

from __future__ import annotations

from typing import Any

from inferencesh.agents.responses import AgentDelta
from inferencesh.core.chat import ChatMessage

_JOINED = ("response", "reasoning")
_MAX_INDEX = 1024


def _merge_call(current: dict[str, Any], piece: dict[str, Any]) -> None:
    for key, value in piece.items():
        if value is None or key == "index":
            continue
        if key == "function" and isinstance(value, dict):
            function = current.setdefault("function", {})
            for name, part in value.items():
                if part is None:
                    continue
                if name == "arguments" and isinstance(part, str):
                    function[name] = str(function.get(name) or "") + part
                else:
                    function[name] = part
        else:
            current[key] = value


def merge(output: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge ``delta`` into ``output`` in place (the ``LLMDelta`` rules)."""
    for key, value in delta.items():
        if value is None:
            continue
        if key in _JOINED and isinstance(value, str):
            output[key] = str(output.get(key) or "") + value
        elif key == "tool_calls" and isinstance(value, list):
            calls: list[dict[str, Any]] = output.setdefault("tool_calls", [])
            for piece in value:
                if not isinstance(piece, dict):
                    continue
                index = piece.get("index", 0)
                if not isinstance(index, int) or not 0 <= index < _MAX_INDEX:
                    continue
                found = next((c for c in calls if c.get("index") == index), None)
                if found is None:
                    found = {"index": index}
                    calls.append(found)
                    calls.sort(key=lambda c: int(c["index"]))
                _merge_call(found, piece)
        else:
            output[key] = value


class MessageDeltas:
    """The merged deltas of one message, and whether the server sent deltas for it."""

    __slots__ = ("from_server", "output", "seq")

    def __init__(self) -> None:
        self.output: dict[str, Any] = {}
        self.seq = 0
        self.from_server = False

    def server_delta(self, message_id: str, delta: dict[str, Any], seq: Any) -> AgentDelta | None:
        """A delta event of the server, merged (``None`` if it adds nothing).

        Deltas count up by one; any other ``seq`` marks the deltas so far merged (what a
        stream sends first when it joins a message part way, as after a reconnect): only what
        it adds beyond what this client merged counts."""
        self.from_server = True
        if isinstance(seq, int) and seq != self.seq + 1:
            delta = self._growth(delta)
            if not delta:
                return None
        merge(self.output, delta)
        self.seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else self.seq + 1
        return AgentDelta(message_id, delta, dict(self.output), self.seq)

    def _growth(self, whole: dict[str, Any]) -> dict[str, Any]:
        """What the texts of ``whole`` add at the end of the texts merged so far."""
        delta: dict[str, Any] = {}
        for key in _JOINED:
            now, before = whole.get(key), str(self.output.get(key) or "")
            if isinstance(now, str) and len(now) > len(before) and now.startswith(before):
                delta[key] = now[len(before) :]
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
        self.seq += 1
        return AgentDelta(message.id, delta, dict(self.output), self.seq)

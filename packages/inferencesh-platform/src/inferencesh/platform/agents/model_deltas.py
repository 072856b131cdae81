"""The token deltas of one model call, as the chat stream sends them (``delta`` events).

The loop forwards what the model app streams, in the ``LLMDelta`` shape of the platform
(``platform-protocol.md`` §2.2): ``response`` and ``reasoning`` pieces to append, ``tool_calls``
by ``index`` (the first piece of a call carries its ``id``, ``type`` and ``function.name``, later
ones only ``function.arguments`` fragments), ``usage`` to replace.

The source is one small interface, :class:`ModelDeltas`:

* :meth:`~ModelDeltas.from_event`: a delta the app itself sent on its task stream (a ``delta``
  event), passed on unchanged;
* :meth:`~ModelDeltas.from_output`: the task's growing output, for apps that only report
  cumulative outputs; what it adds to what was sent becomes a delta. Once the app has sent a
  delta of its own, outputs only serve to :meth:`~ModelDeltas.finish`;
* :meth:`~ModelDeltas.finish`: the final output; whatever it adds at the end of what the
  deltas carried is sent as a last delta, so the deltas merged equal the final message.

A text that changes other than by growing at its end (a model moving text from its reply to
its reasoning) cannot be a delta: that step is skipped, and the message's snapshot (sent
beside the deltas) shows the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inferencesh.core.deltas import OutputGrowth

__all__ = ["ModelDeltas"]

Json = dict[str, Any]


def _apply(text: dict[str, str], calls: list[list[str]], delta: Json) -> None:
    """Merge an ``LLMDelta`` into ``text`` and ``calls`` (per index: name, arguments)."""
    for key in ("response", "reasoning"):
        piece = delta.get(key)
        if isinstance(piece, str):
            text[key] += piece
    for call in delta.get("tool_calls") or ():
        if not isinstance(call, dict):
            continue
        index = call.get("index")
        index = index if isinstance(index, int) and 0 <= index < 1024 else 0
        while len(calls) <= index:
            calls.append(["", ""])
        function = call.get("function")
        if isinstance(function, dict):
            if function.get("name"):
                calls[index][0] = str(function["name"])
            piece = function.get("arguments")
            if isinstance(piece, str):
                calls[index][1] += piece


class ModelDeltas:
    """Turns one model call's stream into delta events for ``publish``.

    Example:
        >>> from inferencesh.platform.agents.model_deltas import ModelDeltas
        >>> sent = []
        >>> deltas = ModelDeltas(sent.append)
        >>> deltas.from_output({"response": "Hel"})
        >>> deltas.from_output({"response": "Hello"})
        >>> deltas.finish({"response": "Hello!"})
        >>> sent
        [{'response': 'Hel'}, {'response': 'lo'}, {'response': '!'}]
    """

    __slots__ = ("_app_calls", "_app_text", "_from_app", "_publish", "_sent")

    def __init__(self, publish: Callable[[Json], None]) -> None:
        self._publish = publish
        self._from_app = False
        self._sent = OutputGrowth()  # what was published
        self._app_text = {"response": "", "reasoning": ""}  # what the app's deltas carried
        self._app_calls: list[list[str]] = []

    def from_event(self, delta: Any) -> None:
        """A delta the model app sent itself: published as it came while what was published
        so far is exactly what the app's deltas carried; otherwise (outputs came first and
        were published) only what it adds beyond that."""
        if not isinstance(delta, dict) or not delta:
            return
        self._from_app = True
        sent = self._sent
        synced = self._app_text == sent.texts and self._app_calls == sent.calls
        _apply(self._app_text, self._app_calls, delta)
        if synced:
            sent.texts = dict(self._app_text)
            sent.calls = [list(call) for call in self._app_calls]
            self._publish(delta)
            return
        calls = [{"function": {"name": n, "arguments": a}} for n, a in self._app_calls]
        self._send_growth({**self._app_text, "tool_calls": calls})

    def from_output(self, output: Json) -> None:
        """The task's output so far: what it adds is published, unless the app sends deltas."""
        if not self._from_app:
            self._send_growth(output)

    def finish(self, output: Json) -> None:
        """The final output: what it adds to everything sent so far goes out as a last delta."""
        self._send_growth(output)

    def _send_growth(self, output: Json) -> None:
        delta = self._sent.step(output)
        if delta:
            self._publish(delta)

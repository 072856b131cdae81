"""What the agent client hands back: replies, streamed message updates, tool calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inferencesh.core.chat import ChatMessage, ToolCallFunction, ToolInvocation

__all__ = ["AgentDelta", "AgentResponse", "MessageUpdate", "ToolCallInfo"]


class _ReadsLikeDict:
    """``obj["x"]`` and ``obj.get("x")`` read the public attributes listed in ``_keys``."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        if key in self._keys:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The attribute ``key``, or ``default`` if there is none or it is ``None``."""
        value = getattr(self, key, None) if key in self._keys else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return key in self._keys and getattr(self, str(key)) is not None

    def keys(self) -> tuple[str, ...]:
        """The readable keys."""
        return self._keys


class ToolCallInfo(_ReadsLikeDict):
    """A tool call waiting on you: run it and submit a result, or approve / reject it.

    ``requires_approval`` is true while the platform waits for a person's decision.
    """

    __slots__ = (
        "args",
        "display_name",
        "id",
        "invocation",
        "name",
        "requires_approval",
        "status",
        "type",
    )
    _keys = ("id", "name", "args", "requires_approval", "type", "status", "display_name")

    def __init__(
        self,
        invocation: ToolInvocation | str | None = None,
        name: str | None = None,
        args: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        # 0.36 builds it as ToolCallInfo(id, name, args): make the invocation those describe.
        if not isinstance(invocation, ToolInvocation):
            if invocation is not None and id is not None:
                raise TypeError("ToolCallInfo() got the call id twice")
            call_id = invocation if invocation is not None else id
            if not call_id or name is None:
                raise TypeError("ToolCallInfo() takes an invocation, or an id, name and args")
            function = ToolCallFunction(name=name, arguments=dict(args or {}))
            invocation = ToolInvocation(id=call_id, function=function)
        arguments = invocation.function.arguments
        self.id: str = invocation.id
        self.name: str = invocation.function.name
        self.args: dict[str, Any] = dict(arguments) if isinstance(arguments, dict) else {}
        self.requires_approval: bool = invocation.status == "awaiting_approval"
        self.type: str | None = invocation.type
        self.status: str | None = invocation.status
        self.display_name: str | None = invocation.display_name
        self.invocation = invocation

    def __repr__(self) -> str:
        return (
            f"ToolCallInfo(id={self.id!r}, name={self.name!r}, args={self.args!r}, "
            f"requires_approval={self.requires_approval!r})"
        )


class MessageUpdate(_ReadsLikeDict):
    """An assistant message as it grows: ``content`` is the new text since the last update,
    ``text`` all of it so far, ``message`` the whole snapshot."""

    __slots__ = ("content", "id", "message", "role", "status", "text")
    _keys = ("id", "role", "status", "content", "text", "reasoning")

    def __init__(self, message: ChatMessage, content: str, text: str | None = None) -> None:
        self.id: str = message.id
        self.role: str | None = message.role
        self.status: str | None = message.status
        self.content: str = content
        self.text: str = message.text if text is None else text
        self.message = message

    @property
    def reasoning(self) -> str:
        """The message's reasoning so far."""
        return self.message.reasoning

    @property
    def is_final(self) -> bool:
        """Whether the message is done (ready, failed or cancelled)."""
        return self.message.is_final

    def __repr__(self) -> str:
        return f"MessageUpdate(id={self.id!r}, status={self.status!r}, content={self.content!r})"


class AgentResponse(_ReadsLikeDict):
    """The agent's reply to one message.

    ``text`` is the final assistant message's text; ``message`` that message; ``messages`` every
    message the turn added (assistant and tool); ``tool_invocations`` the tools it called;
    ``status`` is ``ready``, ``cancelled``, or ``awaiting_input`` when the turn paused on
    ``pending_tool_calls`` (submit results or approve, then ``agent.wait()``).
    """

    __slots__ = ("chat_id", "message", "messages", "pending_tool_calls", "status")
    _keys = (
        "text",
        "chat_id",
        "status",
        "message",
        "messages",
        "tool_invocations",
        "pending_tool_calls",
        "id",
        "content",
        "role",
        "order",
    )

    def __init__(
        self,
        *,
        chat_id: str,
        message: ChatMessage,
        messages: list[ChatMessage],
        status: str,
        pending_tool_calls: list[ToolCallInfo],
    ) -> None:
        self.chat_id = chat_id
        self.message = message
        self.messages = messages
        self.status = status
        self.pending_tool_calls = pending_tool_calls

    @property
    def text(self) -> str:
        """The reply's text."""
        return self.message.text

    @property
    def tool_invocations(self) -> list[ToolInvocation]:
        """Every tool invocation of the turn, in message order."""
        return [inv for m in self.messages for inv in m.tool_invocations or ()]

    # The final message's own fields, for code that treated the reply as the message dict.
    @property
    def id(self) -> str:
        """The final assistant message's id."""
        return self.message.id

    @property
    def content(self) -> list[Any]:
        """The final assistant message's content parts."""
        return list(self.message.content)

    @property
    def role(self) -> str | None:
        """``assistant``."""
        return self.message.role

    @property
    def order(self) -> int:
        """The final assistant message's position in the chat."""
        return self.message.order

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"AgentResponse(status={self.status!r}, text={self.text!r})"


class AgentDelta(_ReadsLikeDict):
    """One batch of streamed tokens of a message (``on_delta``), with everything so far.

    ``delta`` is the batch as the platform sent it (an ``LLMDelta``: ``response`` and
    ``reasoning`` pieces, ``tool_calls`` fragments by ``index``); ``output`` all batches of the
    message merged, in the shape of its final output (``output["response"]`` is the text so
    far, ``text`` for short); ``seq`` counts the message's batches from 1. The fields and their
    meaning are those of 0.36's ``AgentDelta``.

    Example:
        >>> from inferencesh import AgentDelta
        >>> d = AgentDelta("msg_1", {"response": "lo"}, {"response": "Hello"}, 2)
        >>> d.text, d["seq"], d.delta
        ('Hello', 2, {'response': 'lo'})
    """

    __slots__ = ("delta", "message_id", "output", "seq")
    _keys = ("message_id", "delta", "output", "seq")

    def __init__(
        self, message_id: str, delta: dict[str, Any], output: dict[str, Any], seq: int
    ) -> None:
        self.message_id = message_id
        self.delta = delta
        self.output = output
        self.seq = seq

    @property
    def text(self) -> str:
        """The message's reply text so far (``output["response"]``)."""
        text = self.output.get("response")
        return text if isinstance(text, str) else ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AgentDelta):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._keys)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AgentDelta(message_id={self.message_id!r}, delta={self.delta!r}, seq={self.seq!r})"

"""The agent loop's records: chats, messages and tool invocations as msgspec structs.

Each record is the core wire type it is sent as (``Chat``, ``ChatMessage``, ``ToolInvocation``
from ``inferencesh.core.chat``) plus the loop's own bookkeeping, in fields whose names start
with ``_`` and that no reply carries. The agent an ad-hoc or template chat runs is a
``LoopConfig``: the shared ``AgentConfig`` (``inferencesh.core.requests``) plus what the local
loop reads besides (model settings given at the top level, ``permissions``, ``max_steps``).

The store keeps each record as its JSON, under the same keys the dict records had, so chats
written before load as these (unknown keys ignored, missing ones at their defaults).
"""

from __future__ import annotations

from typing import Any

import msgspec
from inferencesh.core.chat import (
    AgentRun,
    Chat,
    ChatData,
    ChatMessage,
    ChatMessageContent,
    ToolInvocation,
)
from inferencesh.core.requests import AgentConfig

__all__ = [
    "ChatRecord",
    "InvocationRecord",
    "LoopConfig",
    "MessageRecord",
    "chat_reply",
    "invocation_reply",
    "message_reply",
]


class LoopConfig(AgentConfig, kw_only=True):
    """An agent as the loop runs it: the ``AgentConfig`` plus the model settings given at the
    top level (``temperature``, ...), the template's ``permissions`` and ``max_steps``, and the
    template's ref (``_ref``; ``None`` for an ad-hoc agent)."""

    model_settings: dict[str, Any] | None = None
    permissions: dict[str, Any] | None = None
    max_steps: int | None = None
    _ref: str | None = None


def _agent_data() -> ChatData:
    return ChatData(plan_steps=[], memory={}, always_allowed_tools=[])


class ChatRecord(Chat, kw_only=True):
    """A chat as the loop keeps it. The ``_`` fields: the agent it runs (``_config``), the turn
    in progress (``_run``), model calls made in that turn (``_steps``), the ``finish`` tool's
    status (``_finished``), why a stop was asked (``_stop_reason``) and fetched skill files
    (``_skill_cache``, by URL)."""

    status: str = "idle"
    name: str = ""
    description: str = ""
    children: list[str] = msgspec.field(default_factory=list)
    agent_data: ChatData = msgspec.field(default_factory=_agent_data)
    created_at: str = ""
    updated_at: str = ""
    _config: LoopConfig | None = None
    _run: AgentRun | None = None
    _steps: int = 0
    _finished: str | None = None
    _stop_reason: str | None = None
    _skill_cache: dict[str, str] | None = None
    _injections: list[dict[str, Any]] | None = None
    """Context lifecycle hooks injected for the next model calls (see ``.hooks``)."""


class MessageRecord(ChatMessage, kw_only=True):
    """A chat message as the loop keeps it (its tool invocations are records of their own)."""

    status: str = "pending"
    role: str = "user"
    content: list[ChatMessageContent] = msgspec.field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""


class InvocationRecord(ToolInvocation, kw_only=True):
    """A tool invocation as the loop keeps it: also its chat, whether the loop started running
    it (``_started``; a restart fails a call that was started and never finished) and whether
    a hook tool's POST went out (``_hook_sent``)."""

    chat_id: str = ""
    chat_message_id: str = ""
    status: str = "pending"
    created_at: str = ""
    updated_at: str = ""
    _started: bool = False
    _hook_sent: bool = False


_CHAT_FIELDS = Chat.__struct_fields__
_MESSAGE_FIELDS = ChatMessage.__struct_fields__
_INVOCATION_FIELDS = ToolInvocation.__struct_fields__


def chat_reply(record: ChatRecord) -> Chat:
    """The ``Chat`` (ChatDTO) of a record, without the loop's own fields."""
    return Chat(**{name: getattr(record, name) for name in _CHAT_FIELDS})


def message_reply(record: MessageRecord) -> ChatMessage:
    """The ``ChatMessage`` (ChatMessageDTO) of a record."""
    return ChatMessage(**{name: getattr(record, name) for name in _MESSAGE_FIELDS})


def invocation_reply(record: InvocationRecord) -> ToolInvocation:
    """The ``ToolInvocation`` (ToolInvocationDTO) of a record, without the loop's own fields."""
    return ToolInvocation(**{name: getattr(record, name) for name in _INVOCATION_FIELDS})

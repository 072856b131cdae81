"""In-memory view of live chats over the store, with change notification for streams.

Every change to a chat, message or tool invocation goes through :class:`ChatHub`, which writes it
to SQLite and pushes a full snapshot to the chat's stream subscribers (``chats`` /
``chat_messages`` events carrying the core ``Chat`` / ``ChatMessage`` structs). Records stay
dicts inside (with private ``_`` bookkeeping keys); the ``*_dto`` methods are the one place they
become the core wire types.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import msgspec
from inferencesh.core.chat import AgentRun, Chat, ChatMessage, Interrupt, ToolInvocation
from inferencesh.core.types import ResourceStatus
from inferencesh.platform.ids import new_id, now_iso

from . import wire
from .store import ChatStore, Record

__all__ = ["ChatHub", "LiveChat", "Record", "TransitionError", "can_move"]

ACTIVE_CHAT_STATUSES = ("busy", "awaiting_input")
TERMINAL_INVOCATION = frozenset({"completed", "failed", "cancelled"})

# The tool-invocation status machine (platform-protocol §5.2).
_INVOCATION_MOVES: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "awaiting_approval", *TERMINAL_INVOCATION}),
    "in_progress": frozenset({"awaiting_input", *TERMINAL_INVOCATION}),
    "awaiting_input": frozenset({"in_progress", *TERMINAL_INVOCATION}),
    "awaiting_approval": frozenset({"in_progress", "failed", "cancelled"}),
}


class TransitionError(ValueError):
    """A status change the platform's state machine forbids."""


def can_move(invocation_status: str, target: str) -> bool:
    return target in _INVOCATION_MOVES.get(invocation_status, frozenset())


@dataclass
class LiveChat:
    """One chat's records as the loop sees them."""

    chat: Record
    messages: list[Record] = field(default_factory=list)
    invocations: dict[str, Record] = field(default_factory=dict)
    subscribers: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)

    def message(self, message_id: str) -> Record:
        for message in self.messages:
            if message["id"] == message_id:
                return message
        raise KeyError(message_id)

    def message_invocations(self, message_id: str) -> list[Record]:
        return [i for i in self.invocations.values() if i["chat_message_id"] == message_id]


class ChatHub:
    """Owns the live records; the only writer of chats, messages and invocations."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store
        self._chats: dict[str, LiveChat] = {}
        self._invocation_chat: dict[str, str] = {}

    # -- lookup ---------------------------------------------------------------------------

    def get(self, chat_id: str) -> LiveChat | None:
        live = self._chats.get(chat_id)
        if live is not None:
            return live
        chat = self.store.load_chat(chat_id)
        if chat is None:
            return None
        live = LiveChat(chat=chat, messages=self.store.load_messages(chat_id))
        for invocation in self.store.load_invocations(chat_id):
            live.invocations[invocation["id"]] = invocation
            self._invocation_chat[invocation["id"]] = chat_id
        self._chats[chat_id] = live
        return live

    def find_invocation(self, invocation_id: str) -> tuple[LiveChat, Record] | None:
        chat_id = self._invocation_chat.get(invocation_id) or self.store.find_invocation_chat(
            invocation_id
        )
        if chat_id is None:
            return None
        live = self.get(chat_id)
        if live is None or invocation_id not in live.invocations:
            return None
        return live, live.invocations[invocation_id]

    # -- creation -------------------------------------------------------------------------

    def create_chat(self, **fields: Any) -> LiveChat:
        stamp = now_iso()
        chat: Record = {
            "id": new_id("chat_"),
            "created_at": stamp,
            "updated_at": stamp,
            "status": "idle",
            "name": "",
            "description": "",
            "children": [],
            "agent_data": {"plan_steps": [], "memory": {}, "always_allowed_tools": []},
            **fields,
        }
        live = LiveChat(chat=chat)
        self._chats[chat["id"]] = live
        self.store.save_chat(chat)
        return live

    def add_message(self, live: LiveChat, **fields: Any) -> Record:
        stamp = now_iso()
        order = (live.messages[-1]["order"] + 1) if live.messages else 0
        # Every message of a turn names its run (ChatMessageDTO.agent_run_id).
        run_id = (live.chat.get("_run") or {}).get("id")
        if run_id and "agent_run_id" not in fields:
            fields["agent_run_id"] = run_id
        message: Record = {
            "id": new_id("msg_"),
            "chat_id": live.chat["id"],
            "created_at": stamp,
            "updated_at": stamp,
            "order": order,
            "status": "pending",
            "content": [],
            **fields,
        }
        live.messages.append(message)
        self.store.save_message(message)
        self._publish_message(live, message)
        return message

    def add_invocation(self, live: LiveChat, message: Record, **fields: Any) -> Record:
        stamp = now_iso()
        invocation: Record = {
            "id": new_id("tinv_"),
            "chat_id": live.chat["id"],
            "chat_message_id": message["id"],
            "created_at": stamp,
            "updated_at": stamp,
            "status": "pending",
            **fields,
        }
        live.invocations[invocation["id"]] = invocation
        self._invocation_chat[invocation["id"]] = live.chat["id"]
        self.store.save_invocation(invocation)
        self._publish_message(live, message)
        return invocation

    # -- updates --------------------------------------------------------------------------

    def update_chat(self, live: LiveChat, **fields: Any) -> None:
        live.chat.update(fields, updated_at=now_iso())
        self.store.save_chat(live.chat)
        if live.subscribers:
            self._publish(live, wire.event("chats", self.chat_dto(live, with_messages=False)))

    def update_message(
        self, live: LiveChat, message: Record, *, persist: bool = True, **fields: Any
    ) -> None:
        """Change a message and publish it; ``persist=False`` skips the SQLite write (for
        streamed pieces of a reply, whose final state is saved once at the end)."""
        message.update(fields, updated_at=now_iso())
        if persist:
            self.store.save_message(message)
        self._publish_message(live, message)

    def update_invocation(self, live: LiveChat, invocation: Record, **fields: Any) -> None:
        target = fields.get("status")
        if (
            isinstance(target, str)
            and target != invocation["status"]
            and not can_move(invocation["status"], target)
        ):
            raise TransitionError(
                f"tool invocation {invocation['id']} cannot go from "
                f"{invocation['status']} to {target}"
            )
        invocation.update(fields, updated_at=now_iso())
        self.store.save_invocation(invocation)
        self._publish_message(live, live.message(invocation["chat_message_id"]))

    # -- wire shapes ----------------------------------------------------------------------
    # The one place records become the core wire types: keys the types do not know (private
    # "_" bookkeeping, the invocation's chat_id) stay behind, so the JSON the server sends is
    # exactly what the client's structs decode.

    def invocation_dto(self, invocation: Record) -> ToolInvocation:
        """A ``ToolInvocation`` (ToolInvocationDTO) from an invocation record."""
        return msgspec.convert(invocation, ToolInvocation)

    def message_dto(self, live: LiveChat, message: Record) -> ChatMessage:
        """A ``ChatMessage`` (ChatMessageDTO) with the message's tool invocations."""
        dto = msgspec.convert(message, ChatMessage)
        calls = [self.invocation_dto(i) for i in live.message_invocations(message["id"])]
        if calls:
            dto.tool_invocations = calls
        return dto

    def chat_dto(self, live: LiveChat, *, with_messages: bool = True) -> Chat:
        """A ``Chat`` (ChatDTO): the run, what it waits on and (by default) the messages."""
        chat = live.chat
        dto = msgspec.convert(chat, Chat)
        run = chat.get("_run")
        if run:
            dto.active_run = msgspec.convert(
                {**run, "chat_id": chat["id"], "agent_id": chat.get("agent_id")}, AgentRun
            )
            dto.pending_interrupts = [
                Interrupt(
                    id=f"intr_{inv['id']}",
                    run_id=run["id"],
                    chat_id=chat["id"],
                    reason=reason,
                    resource_id=inv["id"],
                    resource_type="tool_invocation",
                    status="pending",
                    meta={
                        "tool_invocation_id": inv["id"],
                        "tool_name": inv["function"]["name"],
                        "arguments": inv["function"].get("arguments"),
                    },
                )
                for inv in live.invocations.values()
                if (reason := _interrupt_reason(inv)) is not None
            ]
        if with_messages:
            dto.chat_messages = [self.message_dto(live, m) for m in live.messages]
        return dto

    def status_dto(self, live: LiveChat) -> ResourceStatus:
        """The chat's ``ResourceStatus`` (``GET /chats/{id}/status``)."""
        return ResourceStatus(
            id=live.chat["id"], status=live.chat["status"], updated_at=live.chat["updated_at"]
        )

    # -- streaming ------------------------------------------------------------------------

    def subscribe(self, live: LiveChat) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        live.subscribers.add(queue)
        return queue

    def unsubscribe(self, live: LiveChat, queue: asyncio.Queue[dict[str, Any]]) -> None:
        live.subscribers.discard(queue)

    def _publish_message(self, live: LiveChat, message: Record) -> None:
        if live.subscribers:  # built once for every subscriber, and not at all for none
            self._publish(live, wire.event("chat_messages", self.message_dto(live, message)))

    def _publish(self, live: LiveChat, event: dict[str, Any]) -> None:
        for queue in live.subscribers:
            queue.put_nowait(event)


def _interrupt_reason(invocation: Record) -> str | None:
    if invocation["status"] == "awaiting_approval":
        return "tool_approval"
    if invocation["status"] == "awaiting_input" and invocation.get("type") == "client":
        return "client_tool"
    return None

"""In-memory view of live chats over the store, with change notification for streams.

Every change to a chat, message or tool invocation goes through :class:`ChatHub`, which writes it
to SQLite and pushes a full snapshot to the chat's stream subscribers (``chats`` /
``chat_messages`` events carrying the core ``Chat`` / ``ChatMessage`` structs). The records are
structs (``.records``); the ``*_dto`` methods are the one place they become the core wire types.

A change is written first, on a copy, and only then made to the live record (in place: the loop
holds on to its records while it waits). A failed write leaves the record as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from inferencesh.core.chat import Chat, ChatMessage, Interrupt, ToolInvocation
from inferencesh.core.types import ResourceStatus
from inferencesh.platform.ids import new_id, now_iso

from . import wire
from .records import (
    ChatRecord,
    InvocationRecord,
    MessageRecord,
    chat_reply,
    invocation_reply,
    message_reply,
)
from .store import ChatStore

__all__ = [
    "ChatHub",
    "ChatRecord",
    "InvocationRecord",
    "LiveChat",
    "MessageRecord",
    "TransitionError",
    "can_move",
]

_R = TypeVar("_R", bound=msgspec.Struct)


def _record(cls: type[_R], **fields: Any) -> _R:
    """A new record of ``cls`` from ``fields`` (typed values or their JSON builtins)."""
    return msgspec.convert(fields, cls)


def _changed(record: _R, fields: dict[str, Any]) -> _R:
    """A copy of ``record`` with ``fields`` set and a new ``updated_at`` (unknown names raise)."""
    return msgspec.structs.replace(record, **fields, updated_at=now_iso())


def _apply(record: msgspec.Struct, changed: msgspec.Struct, names: list[str]) -> None:
    """Make ``record`` equal to ``changed`` in ``names`` (and ``updated_at``), in place."""
    for name in (*names, "updated_at"):
        setattr(record, name, getattr(changed, name))


ACTIVE_CHAT_STATUSES = ("busy", "awaiting_input")
STREAM_QUEUE_LIMIT = 2048
"""Events queued for one chat stream before its reader counts as gone: the stream is then ended
(the client reconnects and reads a fresh snapshot) instead of buffering without bound
(``INFERENCESH_CHAT_STREAM_BUFFER``)."""
DROPPED: dict[str, Any] = {"event": "", "data": None}
"""Put in a subscriber's queue (emptied first) when it fell :data:`STREAM_QUEUE_LIMIT` behind."""
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

    chat: ChatRecord
    messages: list[MessageRecord] = field(default_factory=list)
    invocations: dict[str, InvocationRecord] = field(default_factory=dict)
    subscribers: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    streams: int = 0
    """Chat streams open on this chat (a subscriber dropped for reading too slowly included,
    until its client leaves)."""
    delta_seq: dict[str, int] = field(default_factory=dict)
    """The last delta event's ``seq`` per message."""
    delta_output: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The deltas of each message still streaming, merged (a new stream's first delta)."""

    def message(self, message_id: str) -> MessageRecord:
        for message in self.messages:
            if message.id == message_id:
                return message
        raise KeyError(message_id)

    def message_invocations(self, message_id: str) -> list[InvocationRecord]:
        return [i for i in self.invocations.values() if i.chat_message_id == message_id]


class ChatHub:
    """Owns the live records; the only writer of chats, messages and invocations."""

    def __init__(self, store: ChatStore, *, queue_limit: int = STREAM_QUEUE_LIMIT) -> None:
        self.store = store
        self.queue_limit = queue_limit
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
            live.invocations[invocation.id] = invocation
            self._invocation_chat[invocation.id] = chat_id
        self._chats[chat_id] = live
        return live

    def find_invocation(self, invocation_id: str) -> tuple[LiveChat, InvocationRecord] | None:
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
        """A new chat (``idle``) with ``fields`` set, saved."""
        stamp = now_iso()
        chat = _record(ChatRecord, id=new_id("chat_"), created_at=stamp, updated_at=stamp, **fields)
        self.store.save_chat(chat)
        live = LiveChat(chat=chat)
        self._chats[chat.id] = live
        return live

    def add_message(self, live: LiveChat, **fields: Any) -> MessageRecord:
        """A new message (``pending``, last in order) with ``fields`` set, saved and published."""
        stamp = now_iso()
        order = (live.messages[-1].order + 1) if live.messages else 0
        # Every message of a turn names its run (ChatMessageDTO.agent_run_id).
        run = live.chat._run
        if run is not None and run.id and "agent_run_id" not in fields:
            fields["agent_run_id"] = run.id
        message = _record(
            MessageRecord,
            id=new_id("msg_"),
            chat_id=live.chat.id,
            created_at=stamp,
            updated_at=stamp,
            order=order,
            **fields,
        )
        self.store.save_message(message)
        live.messages.append(message)
        self._publish_message(live, message)
        return message

    def add_invocation(
        self, live: LiveChat, message: MessageRecord, **fields: Any
    ) -> InvocationRecord:
        """A new tool invocation (``pending``) of ``message``, saved and published."""
        stamp = now_iso()
        invocation = _record(
            InvocationRecord,
            id=new_id("tinv_"),
            chat_id=live.chat.id,
            chat_message_id=message.id,
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )
        self.store.save_invocation(invocation)
        live.invocations[invocation.id] = invocation
        self._invocation_chat[invocation.id] = live.chat.id
        self._publish_message(live, message)
        return invocation

    # -- updates --------------------------------------------------------------------------

    def update_chat(self, live: LiveChat, **fields: Any) -> None:
        """Change the chat's ``fields``, save and publish it."""
        changed = _changed(live.chat, fields)
        self.store.save_chat(changed)
        _apply(live.chat, changed, list(fields))
        # Private bookkeeping (the config, step counts) is not on the wire; the run is.
        shown = any(not name.startswith("_") or name == "_run" for name in fields)
        if live.subscribers and shown:
            self._publish(live, wire.event("chats", self.chat_dto(live, with_messages=False)))

    def update_message(
        self, live: LiveChat, message: MessageRecord, *, persist: bool = True, **fields: Any
    ) -> None:
        """Change a message and publish it; ``persist=False`` skips the SQLite write (for
        streamed pieces of a reply, whose final state is saved once at the end)."""
        changed = _changed(message, fields)
        if persist:
            self.store.save_message(changed)
        _apply(message, changed, list(fields))
        if message.status != "pending":
            live.delta_output.pop(message.id, None)  # no more deltas for it
        self._publish_message(live, message)

    def update_invocation(
        self, live: LiveChat, invocation: InvocationRecord, **fields: Any
    ) -> None:
        """Change a tool invocation (its status only as the status machine allows), save and
        publish its message."""
        target = fields.get("status")
        if (
            isinstance(target, str)
            and target != invocation.status
            and not can_move(invocation.status, target)
        ):
            raise TransitionError(
                f"tool invocation {invocation.id} cannot go from {invocation.status} to {target}"
            )
        changed = _changed(invocation, fields)
        self.store.save_invocation(changed)
        _apply(invocation, changed, list(fields))
        self._publish_message(live, live.message(invocation.chat_message_id))

    # -- wire shapes ----------------------------------------------------------------------
    # The one place records become the core wire types: keys the types do not know (private
    # "_" bookkeeping, the invocation's chat_id) stay behind, so the JSON the server sends is
    # exactly what the client's structs decode.

    def invocation_dto(self, invocation: InvocationRecord) -> ToolInvocation:
        """A ``ToolInvocation`` (ToolInvocationDTO) from an invocation record."""
        return invocation_reply(invocation)

    def message_dto(self, live: LiveChat, message: MessageRecord) -> ChatMessage:
        """A ``ChatMessage`` (ChatMessageDTO) with the message's tool invocations."""
        dto = message_reply(message)
        calls = [self.invocation_dto(i) for i in live.message_invocations(message.id)]
        if calls:
            dto.tool_invocations = calls
        return dto

    def chat_dto(self, live: LiveChat, *, with_messages: bool = True) -> Chat:
        """A ``Chat`` (ChatDTO): the run, what it waits on and (by default) the messages."""
        chat = live.chat
        dto = chat_reply(chat)
        run = chat._run
        if run is not None:
            dto.active_run = msgspec.structs.replace(run, chat_id=chat.id, agent_id=chat.agent_id)
            dto.pending_interrupts = [
                Interrupt(
                    id=f"intr_{inv.id}",
                    run_id=run.id,
                    chat_id=chat.id,
                    reason=reason,
                    resource_id=inv.id,
                    resource_type="tool_invocation",
                    status="pending",
                    meta={
                        "tool_invocation_id": inv.id,
                        "tool_name": inv.function.name,
                        "arguments": inv.function.arguments,
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
            id=live.chat.id, status=live.chat.status, updated_at=live.chat.updated_at
        )

    # -- streaming ------------------------------------------------------------------------

    def subscribe(self, live: LiveChat) -> asyncio.Queue[dict[str, Any]]:
        """A queue of the chat's events from now on; :meth:`unsubscribe` it when done."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.queue_limit)
        live.subscribers.add(queue)
        live.streams += 1
        return queue

    def unsubscribe(self, live: LiveChat, queue: asyncio.Queue[dict[str, Any]]) -> None:
        live.subscribers.discard(queue)
        live.streams -= 1

    def publish_delta(self, live: LiveChat, message: MessageRecord, delta: dict[str, Any]) -> None:
        """A token delta of ``message`` (an ``LLMDelta`` as JSON) as a ``delta`` event:
        ``{"delta", "seq", "resource_id"}`` (``DeltaEvent``), ``seq`` counting per message."""
        seq = live.delta_seq.get(message.id, 0) + 1
        live.delta_seq[message.id] = seq
        _merge_delta(live.delta_output.setdefault(message.id, {}), delta)
        if live.subscribers:
            data = {"delta": delta, "seq": seq, "resource_id": message.id}
            self._publish(live, {"event": "delta", "data": data})

    def catch_up(self, live: LiveChat) -> list[dict[str, Any]]:
        """For a new stream: one ``delta`` event per message still streaming, carrying its
        deltas so far merged, with the ``seq`` of the last (a client that saw them all skips
        it; one that joined late gets the start of the text)."""
        return [
            {
                "event": "delta",
                "data": {"delta": dict(output), "seq": live.delta_seq[message_id],
                         "resource_id": message_id},
            }
            for message_id, output in live.delta_output.items()
            if output
        ]  # fmt: skip

    def _publish_message(self, live: LiveChat, message: MessageRecord) -> None:
        if live.subscribers:  # built once for every subscriber, and not at all for none
            self._publish(live, wire.event("chat_messages", self.message_dto(live, message)))

    def _publish(self, live: LiveChat, event: dict[str, Any]) -> None:
        for queue in list(live.subscribers):
            if queue.full():
                # Its reader stopped reading: end its stream rather than buffer without bound.
                live.subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(DROPPED)
                continue
            queue.put_nowait(event)


def _merge_delta(output: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge an ``LLMDelta`` into ``output``: texts joined, tool calls by ``index`` (their
    ``arguments`` joined), anything else replaced."""
    for key, value in delta.items():
        if key in ("response", "reasoning") and isinstance(value, str):
            output[key] = str(output.get(key) or "") + value
        elif key == "tool_calls" and isinstance(value, list):
            calls: list[dict[str, Any]] = output.setdefault("tool_calls", [])
            for piece in value:
                index = piece.get("index") if isinstance(piece, dict) else None
                if not isinstance(index, int) or not 0 <= index < 1024:
                    continue
                call = next((c for c in calls if c["index"] == index), None)
                if call is None:
                    call = {"index": index}
                    calls.append(call)
                for name, part in piece.items():
                    if name == "function" and isinstance(part, dict):
                        function = call.setdefault("function", {})
                        for fname, fpart in part.items():
                            if fname == "arguments" and isinstance(fpart, str):
                                function[fname] = str(function.get(fname) or "") + fpart
                            elif fpart is not None:
                                function[fname] = fpart
                    elif part is not None:
                        call[name] = part
        elif value is not None:
            output[key] = value


def _interrupt_reason(invocation: InvocationRecord) -> str | None:
    if invocation.status == "awaiting_approval":
        return "tool_approval"
    if invocation.status == "awaiting_input" and invocation.type == "client":
        return "client_tool"
    return None

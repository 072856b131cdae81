"""The chat protocol, written once, free of I/O.

Each procedure here is a generator that yields the core client's *effects* (send a request,
read the next stream event, call a user callback, ...; ``inferencesh.core.protocol``) and
receives their results. ``Agent`` runs them with core's sync driver, ``AsyncAgent`` with its
async one, so the two clients share every protocol decision.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import IO, Any, NamedTuple, TypeVar

import msgspec
from inferencesh.agents._config import AgentSpec
from inferencesh.agents._deltas import MessageDeltas
from inferencesh.agents.errors import AgentError, AgentTurnFailedError
from inferencesh.agents.responses import AgentDelta, AgentResponse, MessageUpdate, ToolCallInfo
from inferencesh.core.chat import AgentRunResponse, Chat, ChatMessage, ToolInvocation
from inferencesh.core.errors import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    RateLimitError,
    ServerError,
)
from inferencesh.core.files import is_existing_file
from inferencesh.core.protocol import (
    EOF,
    NEXT,
    AsyncCallbackInSyncError,
    Blocking,
    Call,
    Callback,
    Emit,
    Op,
    OpenStream,
    Sleep,
    id_path,
    parse_rfc3339,
    upload_file,
)
from inferencesh.core.reconnect import MAX_RECONNECT_DELAY, Reconnect

_log = logging.getLogger("inferencesh.agents")
_T = TypeVar("_T")

# Tool types whose `awaiting_input` waits on this client: its own tools, and the platform's
# interactive widgets. (A webhook tool also waits in `awaiting_input`, for its hook's callback.)
_ANSWERED_HERE = frozenset({"client", "internal", None})


def waits_on_client(inv: ToolInvocation) -> bool:
    """Whether a tool invocation waits for this client: a result, or a person's decision."""
    if inv.status == "awaiting_approval":
        return True
    return inv.status == "awaiting_input" and inv.type in _ANSWERED_HERE


_UNFINISHED = frozenset({"pending", "queued"})
_TRANSIENT = (APIConnectionError, ServerError, RateLimitError)
_RUN_STATE_TO_STATUS = {
    "submitted": "busy",
    "working": "busy",
    "input_required": "awaiting_input",
    "auth_required": "awaiting_input",
    "completed": "idle",
    "failed": "idle",
    "canceled": "idle",
    "rejected": "idle",
}


class Callbacks(NamedTuple):
    """The callbacks a turn reports to."""

    on_message: Callable[[MessageUpdate], Any] | None = None
    on_tool_call: Callable[[ToolCallInfo], Any] | None = None
    on_delta: Callable[[AgentDelta], Any] | None = None


# ---- state -------------------------------------------------------------------------------------


def _timestamp(value: str) -> datetime | None:
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def _older(new: str | None, old: str | None) -> bool:
    """Whether timestamp ``new`` is strictly before ``old`` (unknown -> not older)."""
    if not new or not old or new == old:
        return False
    if len(new) == len(old) and new[-1] == old[-1] == "Z":
        return new < old  # same RFC 3339 layout in UTC: text order is time order
    a, b = _timestamp(new), _timestamp(old)
    return a is not None and b is not None and a < b


class Store:
    """The latest snapshot of a chat and of each of its messages."""

    __slots__ = ("chat", "messages")

    def __init__(self) -> None:
        self.chat: Chat | None = None
        self.messages: dict[str, ChatMessage] = {}

    def apply_message(self, msg: ChatMessage) -> bool:
        """Upsert a message snapshot; False if it is stale or changes nothing."""
        old = self.messages.get(msg.id)
        if old is not None:
            if old == msg:
                return False
            # A snapshot that left a final state or predates ours arrived late: keep ours.
            if (old.is_final and not msg.is_final) or _older(msg.updated_at, old.updated_at):
                return False
        self.messages[msg.id] = msg
        return True

    def apply_chat(self, chat: Chat) -> tuple[bool, list[ChatMessage]]:
        """Take a chat snapshot; returns whether its status changed and the messages that did."""
        old = self.chat
        if old is not None and _older(chat.updated_at, old.updated_at):
            return False, []
        changed = [m for m in chat.chat_messages or () if self.apply_message(m)]
        # The chat event carries metadata and status; its message list (if any) went above.
        self.chat = msgspec.structs.replace(chat, chat_messages=None)
        return old is None or status_of(old) != status_of(chat), changed

    def ordered(self) -> list[ChatMessage]:
        """Messages by ``order`` (ties by arrival)."""
        return sorted(self.messages.values(), key=lambda m: m.order)


def status_of(chat: Chat | None) -> str | None:
    """The chat's status, read from the active run when the chat has none."""
    if chat is None:
        return None
    if chat.status:
        return chat.status
    if chat.active_run is not None and chat.active_run.state:
        return _RUN_STATE_TO_STATUS.get(chat.active_run.state)
    return None


class _CallState:
    __slots__ = ("decided", "deferred", "notified", "result_sent")

    def __init__(self) -> None:
        self.notified = False  # handed to on_tool_call
        self.result_sent = False
        self.decided = False  # approved or rejected
        self.deferred: str | None = None  # a result to send once an approved call waits for it


class Turn:
    """One user message and what the agent does about it."""

    __slots__ = ("assistant_id", "deltas", "seen", "user_order")

    def __init__(self, user: ChatMessage, assistant: ChatMessage) -> None:
        self.user_order = user.order
        self.assistant_id = assistant.id
        # message id -> (text, status, reasoning) last reported to on_message
        self.seen: dict[str, tuple[str, str | None, str]] = {}
        # message id -> the token deltas reported to on_delta
        self.deltas: dict[str, MessageDeltas] = {}

    def message_deltas(self, message_id: str) -> MessageDeltas:
        """The deltas of one message of the turn."""
        found = self.deltas.get(message_id)
        if found is None:
            found = self.deltas[message_id] = MessageDeltas()
        return found

    def contains(self, msg: ChatMessage) -> bool:
        """Whether ``msg`` belongs to this turn (it follows the user's message)."""
        return msg.id == self.assistant_id or msg.order > self.user_order


class ChatState:
    """Everything an agent remembers about its chat between calls."""

    def __init__(self, spec: AgentSpec) -> None:
        self.spec = spec
        self.chat_id: str | None = None
        # The chat a reset forgot: what get_chat() shows until the next message starts one.
        self.last_chat_id: str | None = None
        self.store = Store()
        self.turn: Turn | None = None
        self.calls: dict[str, _CallState] = {}
        self.pending: list[Call] = []
        # Paths of queued answers whose last send was cut off before its reply: it may have
        # arrived, so a 409 to the next send means it did.
        self.unconfirmed: set[str] = set()

    def reset(self, chat_id: str | None = None) -> None:
        """Forget the chat (the next message starts a new one, or continues ``chat_id``)."""
        self.last_chat_id = chat_id or self.chat_id or self.last_chat_id
        self.chat_id = chat_id
        self.store = Store()
        self.turn = None
        self.calls = {}
        self.pending = []
        self.unconfirmed = set()

    def call(self, invocation_id: str) -> _CallState:
        """The client-side state of one tool invocation."""
        state = self.calls.get(invocation_id)
        if state is None:
            state = self.calls[invocation_id] = _CallState()
        return state

    def invocation(self, invocation_id: str) -> ToolInvocation | None:
        """The latest snapshot of a tool invocation, if any message carried it."""
        for msg in self.store.messages.values():
            for inv in msg.tool_invocations or ():
                if inv.id == invocation_id:
                    return inv
        return None

    # -- resolving tool calls (queued; the running procedure or the caller sends them) --------

    def _queue(self, call: Call) -> None:
        # An answer given again after its request failed replaces the unsent one (no double
        # POST, which the platform would refuse with a 409).
        self.pending = [c for c in self.pending if c.path != call.path]
        self.pending.append(call)

    def queue_result(
        self, invocation_id: str, result: Any, attachments: list[dict[str, Any]] | None = None
    ) -> None:
        """Queue a tool result; on a call still awaiting approval, approve or reject instead.
        ``attachments`` (FileRef dicts) go with the result in the request body."""
        _check_id(invocation_id)
        call = self.call(invocation_id)
        inv = self.invocation(invocation_id)
        if inv is not None and inv.status == "awaiting_approval" and not call.decided:
            # The seed's pattern: answer an approval with a result. A denial rejects the call;
            # anything else approves it and the result follows once the call waits for it.
            if isinstance(result, Mapping) and "error" in result:
                self.queue_reject(invocation_id, str(result["error"]))
            else:
                self.queue_approve(invocation_id)
                call.deferred = encode_result(result)
            return
        answer: dict[str, Any] = {"result": encode_result(result)}
        if attachments:
            answer["attachments"] = attachments
        self._queue(Call("POST", f"/tools/{invocation_id}", answer))
        call.result_sent = True

    def queue_approve(self, invocation_id: str) -> None:
        """Queue approving a call that waits for a person's decision."""
        _check_id(invocation_id)
        self._queue(Call("POST", f"/tools/{invocation_id}/invoke"))
        self.call(invocation_id).decided = True

    def queue_reject(self, invocation_id: str, reason: str | None) -> None:
        """Queue rejecting a call that waits for a person's decision."""
        _check_id(invocation_id)
        body = {"reason": reason} if reason else {}
        self._queue(Call("POST", f"/tools/{invocation_id}/reject", body))
        self.call(invocation_id).decided = True

    def queue_always_allow(self, invocation_id: str, tool_name: str | None) -> None:
        """Queue approving a call and every later call of the same tool in this chat."""
        _check_id(invocation_id)
        if not self.chat_id:
            raise AgentError("no chat yet: send a message first")
        if tool_name is None:
            inv = self.invocation(invocation_id)
            if inv is None:
                raise AgentError(
                    f"unknown tool invocation {invocation_id!r}: pass tool_name= as well"
                )
            tool_name = inv.function.name
        tool = id_path("/tools", invocation_id, "invocation_id", "/always-allow")
        path = id_path("/chats", self.chat_id, "chat_id", tool)
        self._queue(Call("POST", path, {"tool_name": tool_name}))
        self.call(invocation_id).decided = True

    # -- turn outcome ---------------------------------------------------------------------------

    def turn_messages(self) -> list[ChatMessage]:
        """The current turn's messages, in order."""
        turn = self.turn
        return [m for m in self.store.ordered() if turn is not None and turn.contains(m)]

    def waiting_calls(self) -> list[ToolInvocation]:
        """Tool calls of this turn that wait on the client and have no answer yet."""
        waiting = []
        for msg in self.turn_messages():
            for inv in msg.tool_invocations or ():
                call = self.calls.get(inv.id)
                answered = call is not None and (
                    call.result_sent or (inv.status == "awaiting_approval" and call.decided)
                )
                if not answered and waits_on_client(inv):
                    waiting.append(inv)
        return waiting

    def outcome(self) -> str | None:
        """``done`` or ``paused`` when the turn stopped, else ``None``."""
        status = status_of(self.store.chat)
        if status in ("idle", "completed"):
            unfinished = any(
                m.role == "assistant" and m.status in _UNFINISHED for m in self.turn_messages()
            )
            return None if unfinished else "done"
        if status == "awaiting_input" and self.waiting_calls():
            return "paused"
        return None

    def response(self, outcome: str) -> AgentResponse:
        """The reply for a stopped turn; raises ``AgentTurnFailedError`` if it failed."""
        assert self.turn is not None and self.chat_id is not None
        messages = self.turn_messages()
        replies = [m for m in messages if m.role == "assistant"]
        final = replies[-1] if replies else self.store.messages[self.turn.assistant_id]
        pending = [ToolCallInfo(inv) for inv in self.waiting_calls()] if outcome == "paused" else []
        status = "awaiting_input" if outcome == "paused" else (final.status or "ready")
        response = AgentResponse(
            chat_id=self.chat_id,
            message=final,
            messages=messages,
            status=status,
            pending_tool_calls=pending,
        )
        if status == "failed":
            errors = [c.error for c in final.content if c.error]
            detail = errors[0] if errors else "the assistant message failed"
            raise AgentTurnFailedError(
                f"agent turn failed in chat {self.chat_id}: {detail}", response
            )
        return response


def _check_id(invocation_id: object) -> None:
    if not isinstance(invocation_id, str) or not invocation_id:
        raise AgentError(f"a tool invocation id is a non-empty string, got {invocation_id!r}")


def encode_result(result: Any) -> str:
    """A tool result as the platform takes it: strings as they are, anything else as JSON."""
    if isinstance(result, str):
        return result
    try:
        return msgspec.json.encode(result).decode()
    except (TypeError, msgspec.EncodeError) as exc:
        raise AgentError(
            f"a tool result must be a string or JSON-serializable, got {type(result).__name__}: "
            f"{exc}"
        ) from None


# ---- decoding stream events -------------------------------------------------------------------


def _convert(data: Any, kind: type[_T], what: str) -> _T:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise AgentError(f"malformed {what} from the server: {exc}") from None


def ingest(store: Store, event: Any) -> tuple[bool, list[ChatMessage]]:
    """Apply one chat-stream event; returns (chat status changed, messages that changed)."""
    kind = getattr(event, "event", None)
    data = getattr(event, "data", None)
    fields = getattr(event, "fields", None)
    if kind == "chat_messages" and isinstance(data, dict):
        if fields and data.get("id") in store.messages:
            # A partial update: only `fields` changed; merge it into what we have.
            base = store.messages[data["id"]].to_dict()
            data = {**base, **{f: data[f] for f in fields if f in data}}
        msg = _convert(data, ChatMessage, "chat message")
        return False, [msg] if store.apply_message(msg) else []
    if kind == "chats" and isinstance(data, dict):
        if fields and store.chat is not None:
            data = {**store.chat.to_dict(), **{f: data[f] for f in fields if f in data}}
        return store.apply_chat(_convert(data, Chat, "chat"))
    return False, []


# ---- procedures ------------------------------------------------------------------------------


def flush(state: ChatState) -> Op[None]:
    """Send the queued tool answers, in order.

    An answer whose request fails for a passing reason (connection, server error, rate limit)
    or is stopped in flight (a cancelled task, Ctrl-C) stays queued and the error is raised:
    the next flush (``wait()``, another answer) sends it again. Dropping it would leave the
    call marked answered while the platform still waits. Such an answer may have arrived
    after all: a 409 to its next send says it did, and is not an error.
    """
    while state.pending:
        # Taken off first, so a second flush (another thread answering) never sends it twice.
        call = state.pending.pop(0)
        try:
            yield call
        except (*_TRANSIENT, GeneratorExit):
            # GeneratorExit: the driver stopped this procedure while the request was out.
            state.pending.insert(0, call)
            state.unconfirmed.add(call.path)
            raise
        except ConflictError as exc:
            if call.path not in state.unconfirmed:
                raise
            state.unconfirmed.discard(call.path)
            _log.info("%s was already taken by an earlier, interrupted send: %s", call.path, exc)
        else:
            state.unconfirmed.discard(call.path)


def _react(state: ChatState, messages: Iterable[ChatMessage], cb: Callbacks) -> Op[None]:
    """Report turn messages to ``on_message``; hand waiting tool calls to callbacks/handlers."""
    turn = state.turn
    if turn is None:
        return
    for msg in messages:
        if not turn.contains(msg):
            continue
        if msg.role == "assistant" and cb.on_delta is not None:
            # Made from snapshots only for a server that sends no deltas (or to close a gap).
            made = turn.message_deltas(msg.id).snapshot_delta(msg)
            if made is not None:
                yield Callback(cb.on_delta, made)
        if msg.role == "assistant":
            text = msg.text
            previous = turn.seen.get(msg.id)
            state_now = (text, msg.status, msg.reasoning)
            turn.seen[msg.id] = state_now
            if previous != state_now:
                old = previous[0] if previous else ""
                delta = text[len(old) :] if text.startswith(old) else text
                if cb.on_message is not None:
                    yield Callback(cb.on_message, MessageUpdate(msg, delta, text))
                    if state.pending:
                        yield from flush(state)
        for inv in msg.tool_invocations or ():
            if waits_on_client(inv):
                yield from _dispatch(state, inv, cb)


def _delta(state: ChatState, data: Any, cb: Callbacks) -> Op[None]:
    """A ``delta`` event (``{delta, seq, resource_id}``) for ``on_delta``; one that names no
    message or carries no delta is dropped (the message's snapshots still carry its text)."""
    if cb.on_delta is None or state.turn is None or not isinstance(data, dict):
        return
    message_id, delta = data.get("resource_id"), data.get("delta")
    if not isinstance(message_id, str) or not message_id or not isinstance(delta, dict):
        return
    if not delta:
        return
    made = state.turn.message_deltas(message_id).server_delta(message_id, delta, data.get("seq"))
    if made is not None:
        yield Callback(cb.on_delta, made)


def _take_up_calls(state: ChatState, cb: Callbacks) -> Op[None]:
    """Dispatch every waiting call of the turn, changed or not: one whose handler or callback
    a stopped follow left part way (a cancelled task, Ctrl-C) is run or told again. Calls
    already answered or told are skipped by ``_dispatch``."""
    for msg in state.turn_messages():
        for inv in msg.tool_invocations or ():
            if waits_on_client(inv):
                yield from _dispatch(state, inv, cb)


def _dispatch(state: ChatState, inv: ToolInvocation, cb: Callbacks) -> Op[None]:
    call = state.call(inv.id)
    if not call.notified:
        call.notified = True
        if cb.on_tool_call is not None:
            try:
                yield Callback(cb.on_tool_call, ToolCallInfo(inv))
            except GeneratorExit:
                call.notified = False  # stopped mid-way (cancelled): tell the next wait() again
                raise
            if state.pending:
                yield from flush(state)
    if inv.status != "awaiting_input" or call.result_sent:
        return
    if call.deferred is not None:
        state._queue(Call("POST", f"/tools/{inv.id}", {"result": call.deferred}))
        call.result_sent = True
        yield from flush(state)
        return
    handler = state.spec.handlers.get(inv.function.name)
    if handler is None or inv.type not in (None, "client"):
        return
    args = ToolCallInfo(inv).args
    try:
        result = encode_result((yield Callback(handler, args)))
    except AsyncCallbackInSyncError:
        raise  # a misuse of the client, not the tool's failure: the caller must see it
    except Exception as exc:  # noqa: BLE001 - the model is told the tool failed, and it is logged
        # A result that is not JSON is the handler's fault too: the call must not stay open.
        _log.warning("tool handler %r failed", inv.function.name, exc_info=True)
        result = encode_result({"error": f"{type(exc).__name__}: {exc}"})
    state.queue_result(inv.id, result)
    try:
        yield from flush(state)
    except ConflictError as exc:
        # The call stopped waiting meanwhile: another client following the chat answered it
        # first, or the turn was stopped. The turn goes on without this answer.
        _log.info("the result of tool call %s was not taken: %s", inv.id, exc)


class Deadline:
    """An optional overall time limit for following a chat."""

    __slots__ = ("at", "seconds", "what")

    def __init__(self, seconds: float | None, what: str) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {seconds!r}")
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds
        self.what = what

    def remaining(self) -> float | None:
        """Seconds left (``None`` without a limit); raises ``APITimeoutError`` once passed."""
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise APITimeoutError(f"{self.what} did not finish within {self.seconds:g} s")
        return left


NO_DEADLINE = Deadline(None, "")
_MAX_RECONNECTS = 5  # an agent's default (``Agent(max_reconnects=)``)
_RECONNECT_DELAY = 0.2  # seconds before reopening a chat stream, doubled per fruitless try


def _session(
    chat_id: str,
    on_snapshot: Callable[[Any], Op[bool]],
    on_event: Callable[[Any], Op[bool]],
    reconnect: Reconnect,
    deadline: Deadline = NO_DEADLINE,
) -> Op[None]:
    """Follow a chat until a handler says done: GET it, then stream; on a drop, do it again.

    The GET before each connection catches up on whatever happened while not connected, so a
    dropped stream resumes without losing an update (repeats are filtered by the store).
    Without ``reconnect.enabled`` the first drop (or close) ends it with an error instead.
    """
    max_reconnects = reconnect.attempts(_MAX_RECONNECTS)
    delay = reconnect.first_delay(_RECONNECT_DELAY)
    cap = max(MAX_RECONNECT_DELAY, delay)
    failures = 0
    reached = False  # a GET succeeded once: the platform exists, a later outage is a drop
    chat_path = id_path("/chats", chat_id, "chat_id")
    while True:
        deadline.remaining()
        progressed = False
        error: APIConnectionError | None = None
        try:
            snapshot = yield Call("GET", chat_path)
        except APIConnectionError as exc:
            if not reached:
                raise
            error = exc  # still away after a drop (a restart): counts like a failed reconnect
        else:
            reached = True
            if (yield from on_snapshot(snapshot)):
                return
            yield OpenStream(f"{chat_path}/stream", deadline.remaining())
            try:
                while True:
                    event = yield NEXT
                    if event is EOF:
                        break
                    progressed = True
                    if (yield from on_event(event)):
                        return
                    if deadline.at is not None:
                        deadline.remaining()
            except APITimeoutError:
                deadline.remaining()  # our deadline passed: that error, not a reconnect
                raise
            except APIConnectionError as exc:
                error = exc
        if not reconnect.enabled:
            if error is not None:
                raise error
            raise AgentError(
                f"the stream of chat {chat_id} closed before the turn ended "
                "(reconnecting is off: auto_reconnect=False)"
            )
        failures = 0 if progressed else failures + 1
        if failures > max_reconnects:
            if error is not None:
                raise error
            raise AgentError(
                f"the stream of chat {chat_id} closed {failures} times in a row without news"
            )
        _log.info("chat %s stream ended (%s); reconnecting", chat_id, error or "closed")
        pause = min(delay * 2**failures, cap)
        left = deadline.remaining()
        yield Sleep(pause if left is None else min(pause, left))


def _adopt_turn(state: ChatState, chat_id: str) -> Op[None]:
    """Take up the chat's latest turn: an agent given a ``chat_id`` (a new process continuing a
    chat) follows the turn that is waiting on tool calls, whoever sent its message."""
    chat = _convert((yield Call("GET", id_path("/chats", chat_id, "chat_id"))), Chat, "chat")
    messages = sorted(chat.chat_messages or (), key=lambda m: m.order)
    users = [m for m in messages if m.role == "user"]
    replies = [m for m in messages if m.role == "assistant" and users and m.order > users[-1].order]
    if not replies:
        raise AgentError(f"no turn in chat {chat_id}: send a message first")
    # The store stays empty: the session's first snapshot then reports every message of the
    # turn, so its waiting calls reach on_tool_call and the handlers.
    state.turn = Turn(users[-1], replies[0])


def follow_turn(
    state: ChatState, cb: Callbacks, reconnect: Reconnect, deadline: Deadline = NO_DEADLINE
) -> Op[AgentResponse]:
    """Stream the current turn until it finishes or pauses on a tool call nobody answered."""
    if state.chat_id is None:
        raise AgentError("no turn in progress: send a message first")
    if state.turn is None:
        yield from _adopt_turn(state, state.chat_id)

    first = True

    def on_snapshot(data: Any) -> Op[bool]:
        nonlocal first
        _, changed = state.store.apply_chat(_convert(data, Chat, "chat"))
        yield from _react(state, sorted(changed, key=lambda m: m.order), cb)
        if first:
            first = False
            yield from _take_up_calls(state, cb)
        return state.outcome() is not None

    def on_event(event: Any) -> Op[bool]:
        if getattr(event, "event", None) == "delta":
            yield from _delta(state, getattr(event, "data", None), cb)
            return False
        _, changed = ingest(state.store, event)
        if changed:
            yield from _react(state, changed, cb)
        return state.outcome() is not None

    yield from flush(state)
    yield from _session(state.chat_id, on_snapshot, on_event, reconnect, deadline)
    outcome = state.outcome()
    assert outcome is not None
    return state.response(outcome)


def _attachment(item: Any) -> Op[dict[str, Any]]:
    """A file to attach, as a ``FileRef`` dict; local data is uploaded first."""
    if isinstance(item, Mapping) and item.get("uri"):
        return {
            k: item[k] for k in ("id", "uri", "filename", "content_type", "size") if item.get(k)
        }
    if isinstance(item, str) and item.startswith(("http://", "https://")):
        return {"uri": item}
    if isinstance(item, (str, os.PathLike)):
        path = os.fsdecode(item)
        # A disk check: the async driver runs it in a worker thread, off the event loop.
        if not path.startswith("data:") and not (yield Blocking(lambda: is_existing_file(path))):
            raise AgentError(f"attachment {str(item)[:200]!r} is not a file, a URL or a data URI")
    elif getattr(item, "uri", None):
        return _file_ref(item)
    elif not isinstance(item, (bytes, bytearray, memoryview)) and not hasattr(item, "read"):
        raise AgentError(
            f"cannot attach {type(item).__name__}: use bytes, a path, a data URI, a URL or a file"
        )
    # bytes, data URIs, paths and file objects: core's upload operation (streaming from disk).
    return _file_ref((yield from upload_file(item)))


def _file_ref(uploaded: Any) -> dict[str, Any]:
    ref = {k: getattr(uploaded, k, None) for k in ("id", "uri", "filename", "content_type", "size")}
    return {k: v for k, v in ref.items() if v}


Attachment = str | bytes | bytearray | memoryview | os.PathLike[str] | IO[bytes] | Mapping[str, Any]
"""One file to attach: a path, raw bytes, a ``data:`` URI, a URL, an open binary file, or a file
already uploaded (a ``client.upload_file(...)`` result or a ``{"uri": ...}`` dict)."""
Attachments = Attachment | Iterable[Attachment] | None
"""One attachment, or several (``send_message(..., files=...)``)."""


def send_message(
    state: ChatState,
    text: str,
    files: Attachments,
    cb: Callbacks,
    context: Mapping[str, str] | None,
    reconnect: Reconnect,
    deadline: Deadline = NO_DEADLINE,
) -> Op[AgentResponse]:
    """Post the user's message (uploading attachments first), then follow the turn."""
    if not isinstance(text, str):
        raise AgentError(f"send_message() takes the message text as a string, got {text!r}")
    # One attachment may be passed bare; a file object, bytes, a file reference (a dict or an
    # uploaded file, which read like dicts) is not a list of attachments.
    items: Iterable[Any]
    if (
        isinstance(files, (str, bytes, bytearray, memoryview, os.PathLike, Mapping))
        or hasattr(files, "read")
        or getattr(files, "uri", None)
    ):
        items = [files]
    else:
        items = files or ()
    attachments = []
    for item in items:
        attachments.append((yield from _attachment(item)))
    message: dict[str, Any] = {"text": text, "role": "user"}
    if attachments:
        message["attachments"] = attachments
    body: dict[str, Any] = {}
    if state.chat_id:
        body["chat_id"] = state.chat_id
    body.update(state.spec.run_fields())
    body["input"] = message
    if context:
        body["context"] = dict(context)
    data = yield Call("POST", "/agents/run", body)
    if not data:
        raise AgentError("empty response from POST /agents/run")
    reply = _convert(data, AgentRunResponse, "POST /agents/run response")
    chat_id = reply.assistant_message.chat_id or reply.user_message.chat_id or state.chat_id
    if not chat_id:
        raise AgentError("POST /agents/run returned messages without a chat_id")
    if chat_id != state.chat_id:
        state.reset(chat_id)
    state.store.apply_message(reply.user_message)
    state.store.apply_message(reply.assistant_message)
    state.turn = Turn(reply.user_message, reply.assistant_message)
    return (yield from follow_turn(state, cb, reconnect, deadline))


def watch(chat_id: str | None, what: str, follow: bool, reconnect: Reconnect) -> Op[None]:
    """Emit a chat's messages (``what="messages"``) or chat snapshots (``"chat"``) as they change.

    Starts with the current state; ends when the chat is not busy unless ``follow``.
    """
    if not chat_id:
        raise AgentError("no chat yet: send a message first")
    store = Store()

    def emit(status_changed: bool, changed: list[ChatMessage]) -> Op[bool]:
        if what == "messages":
            for msg in changed:
                yield Emit(msg)
        elif status_changed or changed:
            assert store.chat is not None
            yield Emit(msgspec.structs.replace(store.chat, chat_messages=store.ordered()))
        if follow or status_of(store.chat) in (None, "busy"):
            return False
        # The chat may go idle just before its last message snapshot: wait for that too.
        return not any(m.status in _UNFINISHED for m in store.messages.values())

    def on_snapshot(data: Any) -> Op[bool]:
        status_changed, changed = store.apply_chat(_convert(data, Chat, "chat"))
        return (yield from emit(status_changed, sorted(changed, key=lambda m: m.order)))

    def on_event(event: Any) -> Op[bool]:
        return (yield from emit(*ingest(store, event)))

    yield from _session(chat_id, on_snapshot, on_event, reconnect)

"""A turn stopped part way (a cancelled task, Ctrl-C) loses nothing the next ``wait()`` needs.

The drivers stop a procedure by closing it (``GeneratorExit`` at the effect in flight), so
these tests drive the chat procedures the same way: take the effect, then close. The same
scenarios against the local platform, through the real clients, are in
``tests/e2e/test_cancellation.py``.
"""

from __future__ import annotations

import pytest
from inferencesh.agents import _protocol as p
from inferencesh.agents._config import normalize_agent
from inferencesh.core.chat import ToolInvocation
from inferencesh.core.errors import ConflictError
from inferencesh.core.protocol import Call, Callback
from inferencesh.core.reconnect import Reconnect
from msgspec import convert


def state() -> p.ChatState:
    chat = p.ChatState(normalize_agent({"core_app": {"ref": "local/scripted-model"}}))
    chat.chat_id = "c1"
    return chat


def conflict() -> ConflictError:
    return ConflictError(409, "tool invocation i1 is completed, not waiting for a result")


def test_an_answer_stopped_in_flight_stays_queued() -> None:
    chat = state()
    chat.queue_result("i1", "sunny")
    flush = p.flush(chat)
    sent = next(flush)
    assert isinstance(sent, Call) and sent.path == "/tools/i1"
    flush.close()  # the driver was cancelled while the POST was out
    assert chat.pending == [sent]
    # The next flush (wait(), another answer) sends it again; it completes.
    again = p.flush(chat)
    assert next(again) == sent
    with pytest.raises(StopIteration):
        again.send({"id": "m1"})
    assert chat.pending == [] and chat.unconfirmed == set()


def test_a_conflict_after_an_interrupted_send_means_it_arrived() -> None:
    chat = state()
    chat.queue_result("i1", "sunny")
    first = p.flush(chat)
    next(first)
    first.close()
    again = p.flush(chat)
    next(again)
    with pytest.raises(StopIteration):  # the platform has it already: not an error
        again.throw(conflict())
    assert chat.pending == [] and chat.unconfirmed == set()


def test_a_conflict_on_a_first_send_is_still_raised() -> None:
    chat = state()
    chat.queue_result("i1", "sunny")
    flush = p.flush(chat)
    next(flush)
    with pytest.raises(ConflictError):
        flush.throw(conflict())


def test_a_tool_call_callback_stopped_part_way_is_called_again() -> None:
    chat = state()
    invocation = convert(
        {
            "id": "i1",
            "type": "client",
            "status": "awaiting_input",
            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        },
        ToolInvocation,
    )
    seen: list[str] = []
    callbacks = p.Callbacks(on_tool_call=lambda call: seen.append(call.id))
    dispatch = p._dispatch(chat, invocation, callbacks)
    effect = next(dispatch)
    assert isinstance(effect, Callback)
    dispatch.close()  # cancelled while the callback ran (an awaited prompt to a person)
    dispatch = p._dispatch(chat, invocation, callbacks)
    assert isinstance(next(dispatch), Callback)  # the next wait() tells it again


def test_wait_runs_a_handler_a_stopped_turn_left_part_way() -> None:
    # The chat has not changed since the stop, so no message is "new": wait() must still
    # take up the call its handler never answered (as an agent given a chat_id does).
    calls: list[object] = []
    spec = {"core_app": {"ref": "local/scripted-model"}}
    chat = p.ChatState(normalize_agent(spec, {"weather": calls.append}))
    chat.chat_id = "c1"
    invocation = {
        "id": "i1",
        "type": "client",
        "status": "awaiting_input",
        "function": {"name": "weather", "arguments": {"city": "Paris"}},
    }
    user = {"id": "u1", "chat_id": "c1", "order": 1, "role": "user", "status": "ready"}
    reply = {
        "id": "a1",
        "chat_id": "c1",
        "order": 2,
        "role": "assistant",
        "status": "pending",
        "tool_invocations": [invocation],
    }
    snapshot = {"id": "c1", "status": "awaiting_input", "chat_messages": [user, reply]}
    turn = p.send_message(chat, "Weather?", None, p.Callbacks(), None, Reconnect(0))
    assert next(turn).path == "/agents/run"
    assert next_call(turn.send({"user_message": user, "assistant_message": reply})) == "GET"
    handler = turn.send(snapshot)
    assert isinstance(handler, Callback) and handler.arg == {"city": "Paris"}
    turn.close()  # stopped while the handler ran

    follow = p.follow_turn(chat, p.Callbacks(), Reconnect(max_reconnects=0))
    assert next_call(next(follow)) == "GET"
    again = follow.send(snapshot)  # the same snapshot: nothing changed
    assert isinstance(again, Callback) and again.arg == {"city": "Paris"}
    assert isinstance(follow.send("sunny"), Call)  # then its answer is sent


def next_call(effect: object) -> str:
    assert isinstance(effect, Call), effect
    return effect.method

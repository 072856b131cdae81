"""``on_delta`` on the wire: the server's ``delta`` events reach it merged per message, a
server that sends none gets batches made from the message snapshots (the fallback), a final
snapshot closes a gap at the end, and malformed delta events are dropped."""

from __future__ import annotations

from typing import Any

from inferencesh.agents import AgentDelta
from inferencesh.agents._deltas import merge
from inferencesh.core import Inference


def _turn(script: Any, *events: Any) -> None:
    user = {"id": "u1", "order": 0, "role": "user", "status": "ready", "chat_id": "c1"}
    pending = {"id": "a1", "order": 1, "role": "assistant", "status": "pending", "chat_id": "c1"}
    script.run(user, pending)
    script.get_chat(script.chat("busy", [user, pending]))
    script.stream(script.ndjson(*events))


def _delta(seq: int, message: str = "a1", **delta: Any) -> tuple[str, dict[str, Any]]:
    return ("delta", {"delta": delta, "seq": seq, "resource_id": message})


def test_server_deltas_are_merged_per_message(client: Inference, script: Any) -> None:
    _turn(
        script,
        _delta(1, response="Hel", reasoning="r"),
        _delta(2, response="lo"),
        (
            "chat_messages",
            script.msg("a1", 1, status="pending", text="Hello"),
        ),  # no batch made from this
        ("delta", {"delta": {}, "seq": 3, "resource_id": "a1"}),  # empty: dropped
        ("delta", {"delta": {"response": "x"}, "seq": 3}),  # no message named: dropped
        ("delta", {"delta": "junk", "seq": 3, "resource_id": "a1"}),  # not a delta: dropped
        ("chat_messages", script.msg("a1", 1, text="Hello")),
        ("chats", script.chat("idle")),
    )
    seen: list[AgentDelta] = []
    response = client.agent("ns/a").send_message("hi", on_delta=seen.append)
    assert response.text == "Hello"
    assert seen == [
        AgentDelta(
            "a1", {"response": "Hel", "reasoning": "r"}, {"response": "Hel", "reasoning": "r"}, 1
        ),
        AgentDelta("a1", {"response": "lo"}, {"response": "Hello", "reasoning": "r"}, 2),
    ]


def test_without_server_deltas_snapshots_make_them(client: Inference, script: Any) -> None:
    _turn(
        script,
        ("chat_messages", script.msg("a1", 1, status="pending", text="He")),
        ("chat_messages", script.msg("a1", 1, status="pending", text="Hell")),
        ("chat_messages", script.msg("a1", 1, text="Hello")),
        ("chats", script.chat("idle")),
    )
    seen: list[AgentDelta] = []
    client.agent("ns/a").send_message("hi", on_delta=seen.append)
    assert [(d.delta, d.text, d.seq) for d in seen] == [
        ({"response": "He"}, "He", 1),
        ({"response": "ll"}, "Hell", 2),
        ({"response": "o"}, "Hello", 3),
    ]


def test_the_final_snapshot_closes_a_gap_at_the_end(client: Inference, script: Any) -> None:
    _turn(
        script,
        _delta(1, response="Hel"),
        ("chat_messages", script.msg("a1", 1, text="Hello!")),
        ("chats", script.chat("idle")),
    )
    seen: list[AgentDelta] = []
    client.agent("ns/a").send_message("hi", on_delta=seen.append)
    assert [d.delta for d in seen] == [{"response": "Hel"}, {"response": "lo!"}]
    assert seen[-1].text == "Hello!" and seen[-1].seq == 2


def test_merge_follows_the_llm_delta_rules() -> None:
    out: dict[str, Any] = {}
    merge(
        out,
        {
            "response": "a",
            "usage": {"n": 1},
            "tool_calls": [{"index": 1, "id": "c", "function": {"name": "f", "arguments": "{"}}],
        },
    )
    merge(
        out,
        {
            "response": "b",
            "usage": {"n": 2},
            "reasoning": None,
            "tool_calls": [
                {"index": 1, "function": {"arguments": "}"}},
                {"index": 0, "id": "z"},
                {"index": -1},
                {"index": 10**9},
                "junk",
            ],
        },
    )
    assert out == {
        "response": "ab",
        "usage": {"n": 2},
        "tool_calls": [
            {"index": 0, "id": "z"},
            {"index": 1, "id": "c", "function": {"name": "f", "arguments": "{}"}},
        ],
    }


def test_merge_drops_tool_calls_that_are_not_a_list() -> None:
    out: dict[str, Any] = {"response": "a"}
    merge(out, {"response": "b", "tool_calls": "junk"})
    merge(out, {"tool_calls": {"index": 0}})
    assert out == {"response": "ab"}


def test_a_repeated_seq_counts_only_for_what_it_adds(client: Inference, script: Any) -> None:
    # A stream joining part way (a reconnect) starts with the deltas so far, merged.
    _turn(
        script,
        _delta(1, response="He"),
        _delta(2, response="l"),
        _delta(2, response="Hel"),  # the catch-up of a new stream: nothing new
        _delta(4, response="Hello"),  # one after deltas were missed: only "lo" is new
        _delta(5, response="!"),
        ("chat_messages", script.msg("a1", 1, text="Hello!")),
        ("chats", script.chat("idle")),
    )
    seen: list[AgentDelta] = []
    client.agent("ns/a").send_message("hi", on_delta=seen.append)
    assert [(d.delta, d.seq) for d in seen] == [
        ({"response": "He"}, 1),
        ({"response": "l"}, 2),
        ({"response": "lo"}, 4),
        ({"response": "!"}, 5),
    ]
    assert seen[-1].text == "Hello!"


def test_text_a_snapshot_showed_before_the_first_delta_is_not_given_twice(
    client: Inference, script: Any
) -> None:
    # The snapshot shows "Hel" first; then the stream's catch-up event (the deltas so far, with
    # the last seq, here 2) and the next increment: on_delta gets each character once.
    _turn(
        script,
        ("chat_messages", script.msg("a1", 1, text="Hel", status="pending")),
        _delta(2, response="Hel"),
        _delta(3, response="lo"),
        ("chat_messages", script.msg("a1", 1, text="Hello")),
        ("chats", script.chat("idle")),
    )
    seen: list[AgentDelta] = []
    client.agent("ns/a").send_message("hi", on_delta=seen.append)
    assert "".join(d.delta.get("response", "") for d in seen) == "Hello"
    assert seen[-1].text == "Hello"

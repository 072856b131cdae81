"""Cumulative outputs turned into LLMDelta increments (``OutputGrowth``), the one mechanism
behind the OpenAI adapter's chunks, the agent loop's delta events and the agent client's
snapshot deltas."""

from __future__ import annotations

from typing import Any

import pytest
from inferencesh.core.deltas import LLM_DELTA_TAGS, OutputGrowth, merge_delta, text_growth


@pytest.mark.parametrize(
    ("before", "after", "piece"),
    [
        ("Hel", "Hello", "lo"),
        ("", "Hi", "Hi"),
        ("Hello", "Hello", None),
        ("Hello", "Help", None),
        ("Hello", "Hell", None),
        ("Hi", None, None),
        ("Hi", 42, None),
    ],
)
def test_text_growth_is_only_an_append(before: str, after: Any, piece: str | None) -> None:
    assert text_growth(before, after) == piece


def test_a_rewrite_gives_nothing_and_growth_resumes_from_what_was_given() -> None:
    growth = OutputGrowth()
    steps = [
        growth.step(output)
        for output in (
            {"response": "Hel"},
            {"response": "Hex"},  # rewritten: no delta, "Hel" stays the base
            {"response": "Hello"},
            {"response": "Hello", "reasoning": "greeting"},
        )
    ]
    assert steps == [{"response": "Hel"}, {}, {"response": "lo"}, {"reasoning": "greeting"}]


def test_merged_increments_equal_the_final_output_tool_calls_included() -> None:
    outputs: list[dict[str, Any]] = [
        {"response": "Let me"},
        {
            "response": "Let me look",
            "tool_calls": [{"id": "c1", "function": {"name": "search", "arguments": '{"q"'}}],
        },
        {
            "response": "Let me look.",
            "tool_calls": [
                {"id": "c1", "function": {"name": "search", "arguments": '{"q": "cats"}'}},
                {"id": "c2", "function": {"name": "time", "arguments": {"tz": "UTC"}}},
            ],
        },
    ]
    growth, merged = OutputGrowth(), {}
    for output in outputs:
        merge_delta(merged, growth.step(output), LLM_DELTA_TAGS)
    assert merged["response"] == "Let me look."
    calls = merged["tool_calls"]
    assert [c["id"] for c in calls] == ["c1", "c2"]
    assert calls[0]["function"] == {"name": "search", "arguments": '{"q": "cats"}'}
    assert calls[1]["function"] == {"name": "time", "arguments": '{"tz": "UTC"}'}


def test_a_call_piece_is_first_whole_then_only_its_appended_arguments() -> None:
    growth = OutputGrowth()
    first = growth.step({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{"}}]})
    later = growth.step(
        {"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}
    )
    assert first == {
        "tool_calls": [
            {
                "index": 0,
                "id": "c1",
                "type": "function",
                "function": {"name": "f", "arguments": "{"},
            }
        ]
    }
    assert later == {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}
    # Ill-formed calls from an app are skipped, not fatal.
    assert growth.step({"tool_calls": ["junk", {"function": None}]}) == {}
    assert growth.step({"tool_calls": "junk"}) == {}

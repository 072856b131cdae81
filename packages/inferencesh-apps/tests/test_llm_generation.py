"""``stream_generate`` and ``ResponseTransformer`` over an OpenAI-style chunk stream.

The model stands in for llama-cpp-python's ``Llama``: the only contract is
``create_chat_completion(stream=True, ...)`` returning an iterator of chunk dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from inferencesh.models.llm import LLMOutput, ResponseTransformer, stream_generate


class ChunkModel:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks
        self.calls: list[dict[str, Any]] = []

    def create_chat_completion(self, **params: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(params)
        return iter(self.chunks)


def text(piece: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"delta": {"content": piece}, "finish_reason": finish}]}


def test_cumulative_text_and_reasoning() -> None:
    model = ChunkModel(
        [
            text("<think>let me"),
            text(" see</think>"),
            text("Hello"),
            text(" world<|im_end|>", finish="stop"),
            {
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
            },
        ]
    )
    outputs = list(stream_generate(model, [{"role": "user", "content": "hi"}], temperature=None))
    assert [o.response for o in outputs] == [
        "",
        "",
        "Hello",
        "Hello world",
        "Hello world",
        "Hello world",
    ]
    assert outputs[0].reasoning == "let me"
    assert outputs[-1].reasoning == "let me see"
    usage = outputs[-1].usage
    assert usage is not None
    assert (usage.stop_reason, usage.prompt_tokens, usage.completion_tokens) == ("stop", 5, 4)
    assert usage.total_tokens == 9
    assert all(o.usage is None for o in outputs[:-1])
    assert model.calls[0]["stream"] is True
    assert "temperature" not in model.calls[0]  # None is not sent
    assert model.calls[0]["top_p"] == 0.95


def test_tool_call_fragments_merge_by_index() -> None:
    model = ChunkModel(
        [
            {
                "choices": [
                    {
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "call_1",
                                    "function": {"name": "get", "arguments": '{"ci'},
                                }
                            ]
                        }
                    }
                ]
            },
            {
                "choices": [
                    {
                        "delta": {
                            "tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]
                        }
                    }
                ]
            },
            {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        ]
    )
    outputs = list(
        stream_generate(model, [], tools=[{"type": "function", "function": {"name": "get"}}])
    )
    final = outputs[-1]
    assert final.tool_calls == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get", "arguments": '{"city": "Oslo"}'},
        }
    ]
    assert outputs[0].tool_calls is not None
    assert outputs[0].tool_calls[0]["function"]["arguments"] == '{"ci'  # earlier snapshot unchanged
    assert model.calls[0]["tools"][0]["function"]["name"] == "get"


def test_each_call_gets_a_fresh_transformer() -> None:
    first = list(stream_generate(ChunkModel([text("<think>hmm</think>a")]), []))
    second = list(stream_generate(ChunkModel([text("b")]), []))
    assert first[-1].reasoning == "hmm"
    assert second[-1].reasoning is None
    assert second[-1].response == "b"


def test_transformer_hooks_and_output_class() -> None:
    class Custom(LLMOutput):
        pass

    class Upper(ResponseTransformer):
        def additional_cleaning(self, text: str) -> str:
            return text.upper()

    outputs = list(stream_generate(ChunkModel([text("abc")]), [], transformer=Upper(Custom)))
    assert isinstance(outputs[-1], Custom)
    assert outputs[-1].response == "ABC"


class SlowThinker:
    """Streams a ``<think>`` that never closes, pausing inside it."""

    def create_chat_completion(self, **params: Any) -> Iterator[dict[str, Any]]:
        yield text("<think>step one")
        time.sleep(0.02)
        yield text(" and step two", finish="length")


def test_unclosed_think_still_counts_reasoning_time_and_tokens() -> None:
    outputs = list(stream_generate(SlowThinker(), []))
    final = outputs[-1]
    assert final.reasoning == "step one and step two"
    assert final.response == ""
    assert final.usage is not None
    assert final.usage.reasoning_time >= 0.015
    assert final.usage.reasoning_tokens == len("step one and step two") // 4

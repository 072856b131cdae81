"""``stream_generate`` and ``ResponseTransformer`` over an OpenAI-style chunk stream.

The model stands in for llama-cpp-python's ``Llama``: the only contract is
``create_chat_completion(stream=True, ...)`` returning an iterator of chunk dicts.
"""

from __future__ import annotations

import random
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


class WholeText(ResponseTransformer):
    """The reference: a subclass with a cleaning hook cleans the whole text on every call."""

    def additional_cleaning(self, text: str) -> str:
        return text


def reasoning_open(buffer: str) -> bool:
    """The plain definition of ``in_reasoning`` over the whole buffer."""
    opened = buffer.rfind("<think>")
    return opened != -1 and buffer.find("</think>", opened) == -1


# Tokens, halves of tokens that earlier removals can join into tokens, tags, and plain runs long
# enough (over twice the longest token) for the cleaned text to settle.
FRAGMENTS = [
    *ResponseTransformer.SPECIAL_TOKENS,
    "<think>",
    "</think>",
    "<|im_",
    "end|>",
    "start|>",
    "<end_of",
    "_turn>",
    "<start_of",
    "<",
    "eos>",
    "<|",
    "|>",
    "a<b",
    " é ",
    "\n",
    "x",
    "a plain run of text long enough to settle ",
]


def test_streamed_cleaning_matches_cleaning_the_whole_text() -> None:
    rng = random.Random(20261122)
    settled_streams = 0
    for _ in range(300):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
        fast, whole = ResponseTransformer(), WholeText()
        position = 0
        while position < len(text):
            piece = text[position : position + rng.randint(1, 16)]
            position += len(piece)
            fast.feed(piece)
            whole.feed(piece)
            assert fast._cleaned() == fast.clean_text(fast.buffer), fast.buffer
            assert fast.build_output() == whole.build_output(), fast.buffer
            assert fast.in_reasoning() == reasoning_open(fast.buffer), fast.buffer
        settled_streams += fast._settled_raw > 0
    assert settled_streams > 100  # the settled path was really taken


def test_a_token_formed_by_an_earlier_removal_is_removed_across_chunks() -> None:
    # Removing <|im_start|> joins "<end_of" and "_turn>" into a token removed after it.
    for cut in range(1, 26):
        stream = "<end_of<|im_start|>_turn>" + " done"
        transformer = ResponseTransformer()
        transformer.feed(stream[:cut])
        transformer.build_output()
        transformer.feed(stream[cut:])
        assert transformer.build_output().response == " done"  # as the whole text cleans


def test_a_cleaning_hook_sees_the_whole_text_and_a_new_buffer_starts_over() -> None:
    class NoAB(ResponseTransformer):
        def additional_cleaning(self, text: str) -> str:
            return text.replace("AB", "")

    transformer = NoAB()
    for piece in ["xA", "By " * 20, "A", "B!"]:
        transformer.feed(piece)
        transformer.build_output()
    assert transformer.build_output().response == "xy " + "By " * 19 + "!"
    plain = ResponseTransformer()
    plain.feed("some text that settles, long enough to pass the zone <eos>")
    assert plain.build_output().response == "some text that settles, long enough to pass the zone "
    plain.buffer = "<think>again"
    assert plain.in_reasoning() and plain.build_output().reasoning == "again"
    assert plain.build_output().response == ""

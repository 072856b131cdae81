"""``stream_generate``'s work per chunk stays proportional to the chunk, counted, not timed.

The default ``ResponseTransformer`` must not hand the whole text to a hook on every output (that
turns a long stream quadratic), and its incremental ``<think>`` split must give what the plain
whole-text split gives, whatever the chunking.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from inferencesh.models.llm import LLMOutput, ResponseTransformer, stream_generate


class Model:
    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    def create_chat_completion(self, **params: Any) -> Iterator[dict[str, Any]]:
        for piece in self.pieces:
            yield {"choices": [{"delta": {"content": piece}}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


def long_stream(thoughts: int = 1_000, words: int = 4_000) -> list[str]:
    # As bench/llm_stream.py: a reasoning block, then the answer, one short piece per chunk.
    pieces = ["<think>", *(f" step{i}" for i in range(thoughts)), "</think>"]
    return pieces + [f" word{i % 97}" for i in range(words)] + ["<|im_end|>"]


class WholeText(ResponseTransformer):
    """Overrides the split with its plain definition: every output re-splits the whole text."""

    def split_reasoning(self, text: str) -> tuple[str | None, str]:
        return super().split_reasoning(text)


def spy(target: ResponseTransformer, name: str, cost: Callable[..., int]) -> list[int]:
    """Wrap ``target.name`` on the instance; returns the list of each call's cost."""
    costs: list[int] = []
    original = getattr(target, name)

    def wrapper(*args: Any) -> Any:
        costs.append(cost(*args))
        return original(*args)

    setattr(target, name, wrapper)
    return costs


def test_default_transformer_hands_no_hook_the_whole_text_per_chunk() -> None:
    pieces = long_stream()
    total = len("".join(pieces))
    transformer = ResponseTransformer()
    whole_text_steps = (
        "transform_chunk",
        "handle_reasoning",
        "handle_function_calls",
        "handle_tool_calls",
        "split_reasoning",
        "clean_text",
        "additional_cleaning",
        "_find_tags",
    )
    seen = {name: spy(transformer, name, lambda text, *_: len(text)) for name in whole_text_steps}
    outputs = list(stream_generate(Model(pieces), [], transformer=transformer))
    assert len(outputs) == len(pieces) + 2
    assert outputs[-1].response.startswith("word0 word1") and outputs[-1].reasoning
    # Only the final usage splits the whole text once (split_reasoning -> _find_tags); one
    # call per chunk would add up to about len(pieces) * total / 2. (Slicing the cumulative
    # output out of the text is not counted: every output holds the whole text anyway.)
    handed = sum(sum(costs) for costs in seen.values())
    assert handed <= 3 * total, {name: len(costs) for name, costs in seen.items()}


def test_think_tags_are_searched_in_new_text_only() -> None:
    pieces = long_stream()
    total = len("".join(pieces))
    transformer = ResponseTransformer()
    scanned = spy(transformer, "_search", lambda text, tag, start: len(text) - start)
    list(stream_generate(Model(pieces), [], transformer=transformer))
    # Each chunk's text is searched about once (plus a tag's length of look-back); searching
    # the whole text again per chunk would be about len(pieces) * total / 2.
    assert sum(scanned) <= 2 * total + 16 * len(pieces)


def test_an_overridden_hook_still_sees_the_whole_text_for_every_output() -> None:
    class Counting(ResponseTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def handle_tool_calls(self, text: str) -> None:
            self.seen.append(text)

    transformer = Counting()
    outputs = list(stream_generate(Model(["<think>a</think>", "b", "c"]), [], transformer))
    assert transformer.seen == ["", "b", "bc", "bc", "bc"]  # the last: for the final usage
    assert outputs[-1].response == "bc"


TEXTS = [
    "<think>plan it</think>The answer<|im_end|>",
    "lead <think> a <b> c </think> tail <think>again</think> end<eos>",
    "<th<|im_end|>ink>formed by a removal</th<eos>ink>after",
    "<think>never closed <|im_start|> still thinking",
    "no tags at all, only <|im_start|>tokens<|im_end|> and <html> tags",
    "<<think>></think><</think>>",
    "[think]square tags[/think] that may straddle a settled cut [think]x",
    "<think>x is a token here</think>then <think>xy",
    "",
]


class SquareTags(ResponseTransformer):
    # Tags without the tokens' "<": a tag may straddle the end of the settled text.
    THINK_OPEN = "[think]"
    THINK_CLOSE = "[/think]"


class TagInToken(ResponseTransformer):
    # A token that swallows a tag once it completes: a tag in the unsettled end may vanish.
    SPECIAL_TOKENS = ("<think>x", "<|im_end|>")


def outputs_of(transformer: ResponseTransformer, pieces: list[str]) -> list[tuple[Any, ...]]:
    got: list[tuple[Any, ...]] = []
    for output in stream_generate(Model(pieces), [], transformer=transformer):
        assert isinstance(output, LLMOutput)
        got.append((output.response, output.reasoning))
    got.append(tuple(sorted(transformer.state.state_changes.items())))
    return got


@pytest.mark.parametrize("cls", [ResponseTransformer, SquareTags, TagInToken])
def test_incremental_split_matches_the_whole_text_split_for_any_chunking(
    cls: type[ResponseTransformer],
) -> None:
    whole = type("Whole" + cls.__name__, (WholeText, cls), {})
    chooser = random.Random(36)
    for text in TEXTS:
        for _ in range(40):
            cuts = sorted(chooser.sample(range(1, max(len(text), 2)), k=min(len(text) // 3, 8)))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            pieces = [piece for piece in pieces if piece]
            assert outputs_of(cls(), pieces) == outputs_of(whole(), pieces), pieces
        assert outputs_of(cls(), list(text)) == outputs_of(whole(), list(text)), text


def test_a_fresh_buffer_starts_the_incremental_split_over() -> None:
    transformer = ResponseTransformer()
    buffer = ""
    for piece in ("<think>old", "</think>", "first answer"):
        buffer, output, _ = transformer(piece, buffer)
    assert (output.response, output.reasoning) == ("first answer", "old")
    buffer, output, _ = transformer("new</think>then", "<think>")
    assert (output.response, output.reasoning) == ("then", "new")
    buffer, output, _ = transformer(" more", buffer)
    assert buffer == "<think>new</think>then more"
    assert (output.response, output.reasoning) == ("then more", "new")

"""``stream_generate`` CPU per streamed generation, side by side with cleaning the whole text.

    .venv/bin/python bench/llm_stream.py [tokens ...]

A stand-in model streams a reasoning block (a quarter of the tokens), then the answer, one short
piece per chunk, as llama-cpp-python does. Each run yields one cumulative ``LLMOutput`` per
chunk. Two transformers, same outputs (checked):

- ours: the default ``ResponseTransformer`` (cleans only the text after the settled part, and
  updates the ``<think>`` state from new text);
- whole text: a subclass that overrides a cleaning hook and the ``<think>`` check with their
  plain definitions, so every chunk re-cleans and re-scans everything (what the transformer did
  before, and what a subclass with its own cleaning hook still does).

Prints CPU seconds (best of 3) and the whole/ours ratio for each size.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

from inferencesh.models.llm import LLMOutput, ResponseTransformer, stream_generate


class WholeText(ResponseTransformer):
    def additional_cleaning(self, text: str) -> str:
        return text  # an overridden hook: the whole text is cleaned on every chunk

    def in_reasoning(self) -> bool:
        opened = self.buffer.rfind(self.THINK_OPEN)
        return opened != -1 and self.buffer.find(self.THINK_CLOSE, opened) == -1


class Model:
    def __init__(self, tokens: int) -> None:
        self.tokens = tokens

    def create_chat_completion(self, **params: Any) -> Iterator[dict[str, Any]]:
        def piece(text: str) -> dict[str, Any]:
            return {"choices": [{"delta": {"content": text}}]}

        yield piece("<think>")
        for i in range(self.tokens // 4):
            yield piece(f" step{i}")
        yield piece("</think>")
        for i in range(self.tokens):
            yield piece(f" word{i % 97}")
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


def measure(tokens: int, transformer: type[ResponseTransformer]) -> tuple[float, LLMOutput]:
    best = float("inf")
    last: LLMOutput | None = None
    for _ in range(3):
        started = time.process_time()
        for output in stream_generate(Model(tokens), [], transformer=transformer()):
            last = output
        best = min(best, time.process_time() - started)
    assert last is not None
    return best, last


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [5_000, 20_000, 40_000]
    print(f"{'tokens':>8}{'chunks':>9}{'ours s':>9}{'whole text s':>14}{'whole/ours':>12}")
    for tokens in sizes:
        ours, out = measure(tokens, ResponseTransformer)
        whole, reference = measure(tokens, WholeText)
        assert out.response == reference.response and out.reasoning == reference.reasoning
        chunks = tokens + tokens // 4 + 3
        print(f"{tokens:>8}{chunks:>9}{ours:>9.2f}{whole:>14.2f}{whole / ours:>11.1f}x")


if __name__ == "__main__":
    main()

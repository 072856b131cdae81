"""Streaming generation helpers for apps that run a local model with an OpenAI-style chat API
(llama-cpp-python's ``create_chat_completion``): :func:`stream_generate`,
:class:`ResponseTransformer` and :func:`timing_context`.

Every output :func:`stream_generate` yields is cumulative (the whole response so far), which is
what the platform expects from a streaming LLM app.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from inferencesh.models.llm import LLMOutput, LLMUsage

__all__ = ["ResponseTransformer", "TimingInfo", "stream_generate", "timing_context"]


class TimingInfo:
    """Timings of one generation, filled in as it runs (see :func:`timing_context`)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_token: float | None = None
        self.reasoning_started: float | None = None
        self.reasoning_time = 0.0
        self.reasoning_tokens = 0

    def mark_first_token(self) -> None:
        """Record the first token's arrival (later calls do nothing)."""
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def start_reasoning(self) -> None:
        """Reasoning output began."""
        if self.reasoning_started is None:
            self.reasoning_started = time.perf_counter()

    def end_reasoning(self, token_count: int = 0) -> None:
        """Reasoning output ended after about ``token_count`` tokens."""
        if self.reasoning_started is not None:
            self.reasoning_time += time.perf_counter() - self.reasoning_started
            self.reasoning_started = None
        self.reasoning_tokens += token_count

    @property
    def stats(self) -> dict[str, float]:
        """``time_to_first_token``, ``generation_time``, ``reasoning_time``, ``reasoning_tokens``."""
        now = time.perf_counter()
        first = self.first_token
        return {
            "time_to_first_token": (first - self.start) if first is not None else 0.0,
            "generation_time": (now - first) if first is not None else 0.0,
            "reasoning_time": self.reasoning_time,
            "reasoning_tokens": float(self.reasoning_tokens),
        }


@contextmanager
def timing_context() -> Iterator[TimingInfo]:
    """Measure one generation: ``with timing_context() as timing: ... timing.stats``."""
    yield TimingInfo()


class ResponseTransformer:
    """Turns the streamed text of a local model into ``response`` and ``reasoning``.

    It strips chat-template tokens and splits ``<think>...</think>`` into reasoning. Subclass and
    override :meth:`additional_cleaning` or :meth:`split_reasoning` for other model families.
    Each :func:`stream_generate` call uses a fresh instance unless you pass one.
    """

    SPECIAL_TOKENS: tuple[str, ...] = (
        "<|im_end|>",
        "<|im_start|>",
        "<start_of_turn>",
        "<end_of_turn>",
        "<eos>",
    )
    THINK_OPEN = "<think>"
    THINK_CLOSE = "</think>"

    def __init__(self, output_cls: type[LLMOutput] = LLMOutput) -> None:
        self.output_cls = output_cls
        self.buffer = ""

    def clean_text(self, text: str) -> str:
        """Remove template tokens, then apply :meth:`additional_cleaning`."""
        for token in self.SPECIAL_TOKENS:
            text = text.replace(token, "")
        return self.additional_cleaning(text)

    def additional_cleaning(self, text: str) -> str:
        """A hook for model-specific cleanup; returns ``text`` unchanged."""
        return text

    def split_reasoning(self, text: str) -> tuple[str | None, str]:
        """``(reasoning, response)`` of the text so far; an unclosed ``<think>`` is all reasoning."""
        start = text.find(self.THINK_OPEN)
        if start == -1:
            return None, text
        before = text[:start]
        rest = text[start + len(self.THINK_OPEN) :]
        end = rest.find(self.THINK_CLOSE)
        if end == -1:
            return rest.strip() or None, before.strip()
        reasoning = rest[:end].strip() or None
        return reasoning, (before + rest[end + len(self.THINK_CLOSE) :]).strip()

    def in_reasoning(self) -> bool:
        """True while the model is inside an unclosed ``<think>`` block."""
        opened = self.buffer.rfind(self.THINK_OPEN)
        return opened != -1 and self.buffer.find(self.THINK_CLOSE, opened) == -1

    def feed(self, piece: str) -> None:
        """Append one streamed piece of text."""
        self.buffer += piece

    def build_output(
        self,
        *,
        usage: LLMUsage | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> LLMOutput:
        """The cumulative output for the text received so far."""
        reasoning, response = self.split_reasoning(self.clean_text(self.buffer))
        return self.output_cls(
            response=response, reasoning=reasoning, tool_calls=tool_calls or None, usage=usage
        )


def _merge_tool_call(calls: list[dict[str, Any]], delta: Mapping[str, Any]) -> None:
    # OpenAI-style streams send the id and name once, then argument fragments keyed by index.
    index = delta.get("index")
    if not isinstance(index, int):
        index = len(calls) if delta.get("id") else max(len(calls) - 1, 0)
    while len(calls) <= index:
        calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    call = calls[index]
    if delta.get("id"):
        call["id"] = delta["id"]
    function = delta.get("function") or {}
    if function.get("name"):
        call["function"]["name"] = function["name"]
    arguments = function.get("arguments")
    if arguments:
        call["function"]["arguments"] += arguments


def stream_generate(
    model: Any,
    messages: list[dict[str, Any]],
    transformer: ResponseTransformer | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: Any = None,
    temperature: float | None = 0.7,
    top_p: float | None = 0.95,
    stop: list[str] | None = None,
    verbose: bool = False,
    output_cls: type[LLMOutput] = LLMOutput,
    kwargs: Mapping[str, Any] | None = None,
    response_format: Any = None,
) -> Iterator[LLMOutput]:
    """Stream a chat completion from ``model.create_chat_completion(stream=True, ...)``.

    Yields a cumulative ``output_cls`` after every chunk that changes something (text, tool-call
    fragments, finish reason, usage) and a last one carrying the usage and timings. Tool-call
    fragments merge by ``index``, so arguments arrive whole even when only the first fragment has
    an ``id``. ``None`` sampling values are not sent.
    """
    transformer = transformer if transformer is not None else ResponseTransformer(output_cls)
    params: dict[str, Any] = {"messages": messages, "stream": True}
    for name, value in (("temperature", temperature), ("top_p", top_p), ("stop", stop)):
        if value is not None:
            params[name] = value
    if tools:
        params["tools"] = tools
    if tool_choice is not None:
        params["tool_choice"] = tool_choice
    if response_format is not None:
        params["response_format"] = response_format
    params.update(kwargs or {})

    tool_calls: list[dict[str, Any]] = []
    stop_reason = ""
    reported: Mapping[str, Any] = {}
    reasoning = transformer.in_reasoning()  # scans the buffer: once per chunk, not per check
    with timing_context() as timing:
        for chunk in model.create_chat_completion(**params):
            changed = False
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or choice.get("message") or {}
                content = delta.get("content")
                if content:
                    timing.mark_first_token()
                    transformer.feed(content)
                    was_reasoning, reasoning = reasoning, transformer.in_reasoning()
                    if reasoning and not was_reasoning:
                        timing.start_reasoning()
                    elif was_reasoning and not reasoning:
                        timing.end_reasoning()
                    changed = True
                for fragment in delta.get("tool_calls") or []:
                    timing.mark_first_token()
                    _merge_tool_call(tool_calls, fragment)
                    changed = True
                if choice.get("finish_reason"):
                    stop_reason = str(choice["finish_reason"])
                    changed = True
            if chunk.get("usage"):
                reported = chunk["usage"]
                changed = True
            if verbose and changed:
                print(chunk)
            if changed:
                yield transformer.build_output(tool_calls=_copy_calls(tool_calls))
        if reasoning:
            timing.end_reasoning()  # the stream ended inside an unclosed <think>
        yield transformer.build_output(
            usage=_usage(reported, stop_reason, timing, transformer),
            tool_calls=_copy_calls(tool_calls),
        )


def _copy_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "function": dict(c["function"])} for c in calls]


def _usage(
    reported: Mapping[str, Any],
    stop_reason: str,
    timing: TimingInfo,
    transformer: ResponseTransformer,
) -> LLMUsage:
    stats = timing.stats
    completion = int(reported.get("completion_tokens") or 0)
    reasoning, _ = transformer.split_reasoning(transformer.clean_text(transformer.buffer))
    reasoning_tokens = len(reasoning) // 4 if reasoning else 0  # about four characters a token
    generation_time = stats["generation_time"]
    return LLMUsage(
        stop_reason=stop_reason,
        time_to_first_token=stats["time_to_first_token"],
        tokens_per_second=completion / generation_time if generation_time > 0 else 0.0,
        prompt_tokens=int(reported.get("prompt_tokens") or 0),
        completion_tokens=completion,
        total_tokens=int(reported.get("total_tokens") or 0),
        reasoning_tokens=reasoning_tokens,
        reasoning_time=stats["reasoning_time"],
    )

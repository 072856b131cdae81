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

    Streaming re-reads only what is new: text already cleaned is not cleaned again when no
    template token can reach back into it (see :meth:`_cleaned`), and the ``<think>`` state is
    updated from the new text. A subclass that overrides :meth:`clean_text` or
    :meth:`additional_cleaning` gets its hook called on the whole text every time, as before.
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

    @property
    def buffer(self) -> str:
        """The raw text received so far."""
        return self._buffer

    @buffer.setter
    def buffer(self, value: str) -> None:
        # Replaced from outside: nothing of the old text can be trusted, start over.
        self._buffer = value
        self._settled_raw = 0  # buffer[:_settled_raw] ...
        self._settled_clean = ""  # ... cleans to this, whatever text follows it
        self._think_at = -1  # where the last THINK_OPEN starts (-1: none yet)
        self._think_closed = False  # whether a THINK_CLOSE follows it
        self._think_scanned = 0  # how much of the buffer the think state has seen

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
        inside = start + len(self.THINK_OPEN)
        end = text.find(self.THINK_CLOSE, inside)
        if end == -1:
            return text[inside:].strip() or None, before.strip()
        reasoning = text[inside:end].strip() or None
        return reasoning, (before + text[end + len(self.THINK_CLOSE) :]).strip()

    def in_reasoning(self) -> bool:
        """True while the model is inside an unclosed ``<think>`` block."""
        buffer, opening, closing = self._buffer, self.THINK_OPEN, self.THINK_CLOSE
        # A tag may straddle what was scanned and what is new: look back one tag length.
        start = max(0, self._think_scanned - max(len(opening), len(closing)) + 1)
        opened = buffer.rfind(opening, start)
        if opened > self._think_at:
            self._think_at = opened
            self._think_closed = buffer.find(closing, opened) != -1
        elif self._think_at != -1 and not self._think_closed:
            self._think_closed = buffer.find(closing, max(self._think_at, start)) != -1
        self._think_scanned = len(buffer)
        return self._think_at != -1 and not self._think_closed

    def feed(self, piece: str) -> None:
        """Append one streamed piece of text."""
        self._buffer += piece  # not through the setter: what is settled stays settled

    def build_output(
        self,
        *,
        usage: LLMUsage | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> LLMOutput:
        """The cumulative output for the text received so far."""
        reasoning, response = self.split_reasoning(self._cleaned())
        return self.output_cls(
            response=response, reasoning=reasoning, tool_calls=tool_calls or None, usage=usage
        )

    def _cleaned(self) -> str:
        """``clean_text(buffer)``, cleaning only the text after the settled part.

        Removing tokens one after another only deletes characters, and every default token
        holds its first character (``<``) once, at its start. If the last ``2 * longest``
        characters before a cut hold no ``<``, no token occurrence can reach across the cut,
        not even one formed by earlier removals joining text: at most ``longest - 1`` of those
        characters can be deleted, and the ``longest + 1`` left are too many for a token to
        span. So the text before such a cut cleans the same whatever follows, and is settled.
        Custom tokens of another shape, or an overridden cleaning hook, clean the whole text.
        """
        anchor = self._anchor()
        buffer = self._buffer
        if anchor is None:
            return self.clean_text(buffer)
        zone = 2 * max(map(len, self.SPECIAL_TOKENS))
        end = len(buffer)
        settled = self._settled_raw
        tail = buffer[settled:] if settled else buffer
        for token in self.SPECIAL_TOKENS:
            tail = tail.replace(token, "")
        if buffer.rfind(anchor, max(0, end - zone), end) != -1:
            return self._settled_clean + tail  # a token may still be forming at the end
        self._settled_clean += tail
        self._settled_raw = end
        return self._settled_clean

    def _anchor(self) -> str | None:
        # The character every token starts with and holds nowhere else (None: no such one, or a
        # cleaning hook is overridden, so there is no safe cut).
        cls = type(self)
        if (
            cls.clean_text is not ResponseTransformer.clean_text
            or cls.additional_cleaning is not ResponseTransformer.additional_cleaning
        ):
            return None
        tokens = self.SPECIAL_TOKENS
        if not tokens or not all(tokens):
            return None
        first = tokens[0][0]
        if all(token[0] == first and first not in token[1:] for token in tokens):
            return first
        return None


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
    reasoning, _ = transformer.split_reasoning(transformer._cleaned())
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

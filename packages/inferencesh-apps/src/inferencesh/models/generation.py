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
from typing import TYPE_CHECKING, Any, Literal, overload

from inferencesh.models.llm import LLMOutput, LLMUsage

if TYPE_CHECKING:
    from inferencesh.models.deltas import LLMDelta

__all__ = [
    "ResponseState",
    "ResponseTransformer",
    "StreamResponse",
    "TimingInfo",
    "stream_generate",
    "timing_context",
]


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


class ResponseState:
    """What a :class:`ResponseTransformer` has made of the text so far (``transformer.state``).

    ``buffer`` is the cleaned text, ``response`` and ``reasoning`` its two parts, ``tool_calls``
    (OpenAI-style dicts) and ``function_calls`` (legacy ``{"name", "arguments"}`` dicts) what the
    parsing hooks found in the text; both reach the output's ``tool_calls``. ``state_changes``
    records whether reasoning (and, for hooks that set them, function or tool calls) started
    and ended. ``usage`` is the last usage given to the transformer.
    """

    def __init__(self) -> None:
        self.buffer = ""
        self.response = ""
        self.reasoning: str | None = None
        self.function_calls: list[dict[str, Any]] | None = None
        self.tool_calls: list[dict[str, Any]] | None = None
        self.current_tool_call: dict[str, Any] | None = None
        self.usage: LLMUsage | None = None
        self.state_changes: dict[str, bool] = dict.fromkeys(
            (
                "reasoning_started",
                "reasoning_ended",
                "function_call_started",
                "function_call_ended",
                "tool_call_started",
                "tool_call_ended",
            ),
            False,
        )


class ResponseTransformer:
    """Turns the streamed text of a local model into ``response`` and ``reasoning``.

    It strips chat-template tokens and splits ``<think>...</think>`` into reasoning. Subclass and
    override :meth:`additional_cleaning` or :meth:`split_reasoning` for other model families.
    Each :func:`stream_generate` call uses a fresh instance unless you pass one.

    Every output runs the parse steps of the published SDK 0.36 on :attr:`state`, each a hook
    to override: :meth:`transform_chunk` (clean the text), :meth:`handle_reasoning` (split off
    the reasoning), then :meth:`handle_function_calls` and :meth:`handle_tool_calls` (find calls
    a model writes as text, for example ``<tool_call>{...}</tool_call>``; they do nothing by
    default). Calling the transformer, ``transformer(piece, buffer, usage)``, is the 0.36 form
    of :meth:`feed` plus :meth:`build_output`.

    Streaming re-reads only what is new: text already cleaned is not cleaned again when no
    template token can reach back into it (see :meth:`_cleaned`), the ``<think>`` tags are
    looked for in the new text only, and a hook that is not overridden is not called (the
    defaults of :meth:`transform_chunk` and :meth:`handle_reasoning` are done incrementally;
    the tool-call hooks do nothing). A subclass that overrides one of these hooks, or
    :meth:`clean_text`, :meth:`additional_cleaning` or :meth:`split_reasoning`, gets it called
    on the whole text for every output, as in 0.36.
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
        self.timing: TimingInfo | None = None
        self.buffer = ""
        # Looked up once: an overridden hook runs on the whole text for every output; the
        # defaults are replaced by incremental work proportional to each chunk.
        cls = type(self)
        self._overridden = frozenset(
            name
            for name in _PARSE_HOOKS
            if getattr(cls, name) is not getattr(ResponseTransformer, name)
        )

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
        # The <think> tags in the cleaned text, found incrementally (see _split_incrementally).
        self._open_at = -1  # the first THINK_OPEN, once it lies in the settled text
        self._open_searched = 0  # settled text before this holds no THINK_OPEN start
        self._close_at = -1  # the first THINK_CLOSE after it, once settled
        self._close_searched = 0
        self._settled_reasoning: str | None = None  # the reasoning, once its end is settled
        self.state = ResponseState()

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
        return self._split_at(text, *self._find_tags(text))

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
        """The cumulative output for the text received so far: runs the parse hooks on
        :attr:`state`, then builds ``output_cls`` from it. ``tool_calls`` (streamed by the
        model) come first, then any the hooks found in the text."""
        state, overridden = self.state, self._overridden
        if "transform_chunk" in overridden:
            self.transform_chunk(self._buffer)
            self.handle_reasoning(state.buffer)  # arbitrary text: nothing carries over
        else:
            state.buffer = state.response = self._cleaned()
            if overridden & {"handle_reasoning", "split_reasoning"}:
                self.handle_reasoning(state.buffer)
            else:
                self._split_incrementally(state.buffer, len(self._settled_clean))
        # Skipped when not overridden: the defaults do nothing, and a call per chunk adds up.
        if "handle_function_calls" in overridden:
            self.handle_function_calls(state.response)
        if "handle_tool_calls" in overridden:
            self.handle_tool_calls(state.response)
        if usage is not None:
            state.usage = usage
        calls = list(tool_calls or [])
        if state.tool_calls:
            calls += state.tool_calls
        if state.function_calls:
            calls += [{"type": "function", "function": dict(f)} for f in state.function_calls]
        return self.output_cls(
            response=state.response,
            reasoning=state.reasoning,
            tool_calls=calls or None,
            usage=usage,
        )

    def transform_chunk(self, chunk: str) -> None:
        """Parse step 1: the raw text so far, cleaned (:meth:`clean_text`), becomes
        ``state.buffer`` and ``state.response``. Override to clean differently."""
        self.state.buffer = self.state.response = self.clean_text(chunk)

    def handle_reasoning(self, text: str) -> None:
        """Parse step 2: split ``text`` (the cleaned text so far) with :meth:`split_reasoning`
        into ``state.reasoning`` and ``state.response``, and note in ``state.state_changes``
        when a ``<think>`` block has started and ended."""
        state = self.state
        opened, closed = self._find_tags(text)
        if "split_reasoning" in self._overridden:
            state.reasoning, state.response = self.split_reasoning(text)
        else:  # the same split, from the tags just found (one scan, not two)
            state.reasoning, state.response = self._split_at(text, opened, closed)
        self._note_reasoning(opened, closed)

    def _note_reasoning(self, opened: int, closed: int) -> None:
        changes = self.state.state_changes
        if opened != -1:
            changes["reasoning_started"] = True
            if closed != -1:
                changes["reasoning_ended"] = True

    def _find_tags(self, text: str) -> tuple[int, int]:
        # Where the first THINK_OPEN and the first THINK_CLOSE after it start (-1: absent).
        opened = text.find(self.THINK_OPEN)
        if opened == -1:
            return -1, -1
        return opened, text.find(self.THINK_CLOSE, opened + len(self.THINK_OPEN))

    def _split_at(self, text: str, opened: int, closed: int) -> tuple[str | None, str]:
        # split_reasoning's result, given where its tags are (-1: absent).
        if opened == -1:
            return None, text
        before = text[:opened]
        inside = opened + len(self.THINK_OPEN)
        if closed == -1:
            return text[inside:].strip() or None, before.strip()
        reasoning = text[inside:closed].strip() or None
        return reasoning, (before + text[closed + len(self.THINK_CLOSE) :]).strip()

    def _search(self, text: str, tag: str, start: int) -> int:
        # The one scan of the incremental split (its own method so tests can count its work).
        return text.find(tag, start)

    def _split_incrementally(self, text: str, settled: int) -> None:
        """The default :meth:`handle_reasoning` on ``text``, the cleaned text so far, whose
        first ``settled`` characters only ever grow (``_settled_clean``).

        A tag found inside the settled text stays where it is, and settled text searched
        without finding one is not searched again (less one tag length, for a tag that
        straddles the end of the search), so each chunk scans only its own text. A tag in
        the unsettled end is looked for again every time: removing a forming token may move
        it. Once ``</think>`` is settled, the reasoning is too and is kept, not sliced again.
        """
        state = self.state
        opening, closing = self.THINK_OPEN, self.THINK_CLOSE
        opened = self._open_at
        if opened == -1:
            opened = self._search(text, opening, self._open_searched)
            if opened != -1 and opened + len(opening) <= settled:
                self._open_at = opened
                self._close_searched = opened + len(opening)
            else:
                self._open_searched = max(self._open_searched, settled - len(opening) + 1)
        if opened == -1:
            state.reasoning, state.response = None, text
            return
        inside = opened + len(opening)
        closed = self._close_at
        if closed == -1:
            start = max(self._close_searched, inside)
            closed = self._search(text, closing, start)
            if closed != -1 and closed + len(closing) <= settled and self._open_at != -1:
                self._close_at = closed
            elif self._open_at != -1:
                self._close_searched = max(start, settled - len(closing) + 1)
        self._note_reasoning(opened, closed)
        if closed == -1:
            state.reasoning, state.response = self._split_at(text, opened, closed)
            return
        if self._close_at == -1:  # the tag is not settled: nothing to keep yet
            state.reasoning, state.response = self._split_at(text, opened, closed)
            return
        if self._settled_reasoning is None:
            self._settled_reasoning = text[inside:closed].strip() or None
        state.reasoning = self._settled_reasoning
        state.response = (text[:opened] + text[closed + len(closing) :]).strip()

    def handle_function_calls(self, text: str) -> None:
        """Parse step 3, a hook: find legacy function calls in ``text`` (the response so far)
        and put them in ``state.function_calls`` as ``{"name", "arguments"}`` dicts (and the
        response without them in ``state.response``). Does nothing by default."""

    def handle_tool_calls(self, text: str) -> None:
        """Parse step 4, a hook: find tool calls a model writes as text in ``text`` (the
        response so far) and put them in ``state.tool_calls`` as OpenAI-style dicts (and the
        response without them in ``state.response``). Does nothing by default."""

    def __call__(
        self, piece: str, buffer: str, usage: LLMUsage | None = None
    ) -> tuple[str, LLMOutput, dict[str, bool]]:
        """The published SDK 0.36's form: add ``piece`` to ``buffer`` (the raw text so far)
        and return ``(new buffer, output, state.state_changes)``."""
        current = self._buffer
        if buffer is current or buffer == current:
            self.feed(piece)  # the usual case: the caller passes back what it was given
        else:
            self.buffer = buffer + piece
        return self._buffer, self.build_output(usage=usage), self.state.state_changes

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


_PARSE_HOOKS = (
    "transform_chunk",
    "handle_reasoning",
    "handle_function_calls",
    "handle_tool_calls",
    "split_reasoning",
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


class StreamResponse:
    """What one chunk of an OpenAI-style stream brought, and the tool calls so far: the
    published SDK 0.36's per-chunk accumulator, which :func:`stream_generate` uses too.

    ``update_from_chunk(chunk, timing)`` reads a chunk: ``content`` is its text, tool-call
    fragments merge into ``tool_calls`` by ``index`` (the id and name arrive once, the
    arguments in pieces), ``finish_reason`` and reported ``usage_stats`` are kept.
    ``has_updates()`` says whether the chunk changed anything, and
    ``to_output(buffer, transformer)`` gives ``(output, new buffer)`` for it.
    """

    def __init__(self) -> None:
        self.content = ""
        self.tool_calls: list[dict[str, Any]] | None = None
        self.finish_reason: str | None = None
        self.usage_stats: dict[str, Any] = {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "stop_reason": "",
        }
        self.timing: TimingInfo | None = None
        self._reported: Mapping[str, Any] = {}
        self._changed = False

    @property
    def timing_stats(self) -> dict[str, float]:
        """The timings so far (:attr:`TimingInfo.stats`; zeros before the first chunk)."""
        if self.timing is None:
            return TimingInfo().stats
        return self.timing.stats

    def update_from_chunk(self, chunk: Mapping[str, Any], timing: TimingInfo | None) -> None:
        """Read one streamed chunk (``{"choices": [{"delta": ...}], "usage"?: ...}``)."""
        self.timing = timing
        content = ""
        changed = arrived = False
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            piece = delta.get("content")
            if piece:
                content += piece
                changed = arrived = True
            fragments = delta.get("tool_calls")
            if fragments:
                calls = self.tool_calls if self.tool_calls is not None else []
                for fragment in fragments:
                    _merge_tool_call(calls, fragment)
                self.tool_calls = calls
                changed = arrived = True
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
                self.usage_stats["stop_reason"] = self.finish_reason
                changed = True
        usage = chunk.get("usage")
        if usage:
            self._reported = usage
            for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage_stats[key] = int(usage.get(key) or 0)
            changed = True
        if arrived and timing is not None:
            timing.mark_first_token()
        self.content = content
        self._changed = changed

    def has_updates(self) -> bool:
        """Whether the last chunk brought text, tool calls, a finish reason or usage."""
        return self._changed

    def to_output(self, buffer: str, transformer: ResponseTransformer) -> tuple[LLMOutput, str]:
        """``(output, new buffer)``: the last chunk's text added to ``buffer`` (the raw text so
        far) through ``transformer``, with the tool calls so far and, once the stream finished
        or reported usage, the usage and timings."""
        usage = None
        if self.finish_reason or self._reported:
            timing = self.timing if self.timing is not None else TimingInfo()
            usage = _usage(self._reported, self.finish_reason or "", timing, transformer)
        new_buffer, output, _ = transformer(self.content, buffer, usage)
        if self.tool_calls:
            output.tool_calls = _copy_calls(self.tool_calls) + list(output.tool_calls or [])
        return output, new_buffer


@overload
def stream_generate(
    model: Any,
    messages: list[dict[str, Any]],
    transformer: ResponseTransformer | None = ...,
    tools: list[dict[str, Any]] | None = ...,
    tool_choice: Any = ...,
    temperature: float | None = ...,
    top_p: float | None = ...,
    stop: list[str] | None = ...,
    verbose: bool = ...,
    output_cls: type[LLMOutput] = ...,
    kwargs: Mapping[str, Any] | None = ...,
    response_format: Any = ...,
    with_deltas: Literal[False] = ...,
) -> Iterator[LLMOutput]: ...


@overload
def stream_generate(
    model: Any,
    messages: list[dict[str, Any]],
    transformer: ResponseTransformer | None = ...,
    tools: list[dict[str, Any]] | None = ...,
    tool_choice: Any = ...,
    temperature: float | None = ...,
    top_p: float | None = ...,
    stop: list[str] | None = ...,
    verbose: bool = ...,
    output_cls: type[LLMOutput] = ...,
    kwargs: Mapping[str, Any] | None = ...,
    response_format: Any = ...,
    *,
    with_deltas: Literal[True],
) -> Iterator[tuple[LLMOutput, LLMDelta | None]]: ...


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
    with_deltas: bool = False,
) -> Iterator[LLMOutput] | Iterator[tuple[LLMOutput, LLMDelta | None]]:
    """Stream a chat completion from ``model.create_chat_completion(stream=True, ...)``.

    Yields a cumulative ``output_cls`` after every chunk that changes something (text, tool-call
    fragments, finish reason, usage) and a last one carrying the usage and timings. Tool-call
    fragments merge by ``index``, so arguments arrive whole even when only the first fragment has
    an ``id``. ``None`` sampling values are not sent.

    With ``with_deltas=True`` each item is ``(output, delta)``: the :class:`LLMDelta` from the
    previous output (``None`` when nothing grew), for apps that yield both.
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
    outputs = _generate(model, params, transformer, verbose)
    return _with_deltas(outputs) if with_deltas else outputs


def _generate(
    model: Any, params: dict[str, Any], transformer: ResponseTransformer, verbose: bool
) -> Iterator[LLMOutput]:
    stream = StreamResponse()
    reasoning = transformer.in_reasoning()  # scans the buffer: once per chunk, not per check
    with timing_context() as timing:
        transformer.timing = timing
        for chunk in model.create_chat_completion(**params):
            stream.update_from_chunk(chunk, timing)
            if not stream.has_updates():
                continue
            if stream.content:
                transformer.feed(stream.content)
                was_reasoning, reasoning = reasoning, transformer.in_reasoning()
                if reasoning and not was_reasoning:
                    timing.start_reasoning()
                elif was_reasoning and not reasoning:
                    timing.end_reasoning()
            if verbose:
                print(chunk)
            yield transformer.build_output(tool_calls=_copy_calls(stream.tool_calls or []))
        if reasoning:
            timing.end_reasoning()  # the stream ended inside an unclosed <think>
        yield transformer.build_output(
            usage=_usage(stream._reported, stream.finish_reason or "", timing, transformer),
            tool_calls=_copy_calls(stream.tool_calls or []),
        )


def _with_deltas(outputs: Iterator[LLMOutput]) -> Iterator[tuple[LLMOutput, LLMDelta | None]]:
    from inferencesh.models.deltas import OutputDiffer  # deltas imports llm: import on use

    differ = OutputDiffer()
    for output in outputs:
        yield output, differ.step(output)


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

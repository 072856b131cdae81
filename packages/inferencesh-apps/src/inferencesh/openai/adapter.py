"""The Chat Completions adapter: a chat app answers ``POST /v1/chat/completions`` requests.

Mix :class:`OpenAIChatMixin` into a chat app and it gains an ``openai`` function: it takes a
:class:`~inferencesh.openai.ChatCompletionInput`, runs the app's own ``run`` on the translated
input, and answers with :class:`~inferencesh.openai.ChatCompletionChunk`\\ s (on the delta
channel) and a final :class:`~inferencesh.openai.ChatCompletion`::

    class App(OpenAIChatMixin, BaseApp):
        async def run(self, input_data: ChatInput) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
            ...
"""

from __future__ import annotations

import inspect
import sys
import time
import typing
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from inferencesh.apps.file import File, resolve_files
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.output_meta import TextMeta
from inferencesh.models.deltas import LLMDelta, OutputDiffer
from inferencesh.models.llm import (
    ContextMessage,
    ContextMessageRole,
    LLMInput,
    LLMOutput,
    ResponseFormat,
    ResponseFormatType,
    ToolChoice,
    ToolChoiceMode,
)
from inferencesh.openai.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionInput,
    ChatCompletionMessage,
    ChatMessage,
    Choice,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    FinishReason,
    NamedToolChoice,
    PromptTokensDetails,
    ResponseToolCall,
)
from pydantic import BaseModel

__all__ = ["OpenAIChatMixin", "UnsupportedParameterError", "to_llm_input"]

_EFFORT = {"none": "none", "minimal": "low", "low": "low", "medium": "medium", "high": "high"}
_EFFORT["xhigh"] = "high"
_REJECTED = ("logprobs", "top_logprobs", "logit_bias", "audio", "prediction")
_REJECTED_TOO = ("web_search_options", "moderation")


class UnsupportedParameterError(ValueError):
    """A request parameter the adapter cannot honour (``n`` other than 1, ``logprobs``, ...)."""

    def __init__(self, param: str, detail: str = "") -> None:
        self.param = param
        super().__init__(f"unsupported parameter {param!r}" + (f": {detail}" if detail else ""))


def _reject_unsupported(req: ChatCompletionInput) -> None:
    if req.n not in (None, 1):
        raise UnsupportedParameterError("n", "only one choice is generated")
    for name in (*_REJECTED, *_REJECTED_TOO):
        if getattr(req, name) not in (None, False):
            raise UnsupportedParameterError(name)
    if req.modalities and any(m != "text" for m in req.modalities):
        raise UnsupportedParameterError("modalities", "only text is generated")
    if req.functions and req.tools:
        raise UnsupportedParameterError("functions", "give tools or functions, not both")


def _content(msg: ChatMessage) -> tuple[str, list[File], list[File]]:
    """The text, images and files of a message."""
    if msg.content is None:
        return "", [], []
    if isinstance(msg.content, str):
        return msg.content, [], []
    texts: list[str] = []
    images: list[File] = []
    files: list[File] = []
    for part in msg.content:
        if part.type == "text":
            texts.append(part.text)
        elif part.type == "image_url":
            images.append(File(uri=part.image_url.url))
        elif part.file.file_data:
            files.append(File(uri=part.file.file_data, filename=part.file.filename))
        elif part.file.file_id:
            raise UnsupportedParameterError("file.file_id", "pass file_data (URL or data URI)")
    return "\n".join(texts), images, files


def _context_message(msg: ChatMessage) -> ContextMessage:
    text, images, files = _content(msg)
    calls = [call.model_dump() for call in msg.tool_calls] if msg.tool_calls else None
    return ContextMessage(
        role=ContextMessageRole(msg.role),
        text=text,
        reasoning=msg.reasoning,
        images=images or None,
        files=files or None,
        tool_calls=calls,
        tool_call_id=msg.tool_call_id,
    )


def _tools(req: ChatCompletionInput) -> list[dict[str, Any]] | None:
    if req.tools:
        return [tool.model_dump(exclude_none=True) for tool in req.tools]
    if req.functions:
        return [{"type": "function", "function": dict(f)} for f in req.functions]
    return None


def _tool_choice(req: ChatCompletionInput) -> ToolChoice | None:
    choice: Any = req.tool_choice if req.tool_choice is not None else req.function_call
    if choice is None:
        return None
    if isinstance(choice, str):
        return ToolChoice(mode=ToolChoiceMode(choice))
    name = choice.function.name if isinstance(choice, NamedToolChoice) else choice.name
    return ToolChoice(mode=ToolChoiceMode.FUNCTION, name=name)


def _response_format(req: ChatCompletionInput) -> ResponseFormat | None:
    fmt = req.response_format
    if fmt is None:
        return None
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        spec = fmt.json_schema
        return ResponseFormat(
            type=ResponseFormatType.JSON_SCHEMA,
            name=spec.name,
            json_schema=spec.schema_,
            strict=spec.strict,
        )
    return ResponseFormat(type=ResponseFormatType(fmt.type))


def _settings(req: ChatCompletionInput, input_cls: type[BaseModel]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if req.model is not None and "model" in input_cls.model_fields:
        kwargs["model"] = req.model  # a router app's own `model` input
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "seed"):
        if getattr(req, name) is not None:
            kwargs[name] = getattr(req, name)
    if req.stop is not None:
        kwargs["stop"] = [req.stop] if isinstance(req.stop, str) else list(req.stop)
    most = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    if most is not None:
        kwargs["max_tokens"] = most
    if req.reasoning_effort is not None:
        kwargs["reasoning_effort"] = _EFFORT[req.reasoning_effort]
    tools, choice = _tools(req), _tool_choice(req)
    if tools and not (choice is not None and choice.mode == "none"):
        kwargs["tools"] = tools
        if choice is not None:
            kwargs["tool_choice"] = choice
    fmt = _response_format(req)
    if fmt is not None:
        kwargs["response_format"] = fmt
    return kwargs


def to_llm_input(req: ChatCompletionInput, input_cls: type[BaseModel] = LLMInput) -> Any:
    """The app's input (``input_cls``) for a Chat Completions request.

    ``system``/``developer`` messages join into ``system_prompt``; the last other message is
    the current turn and the earlier ones the ``context`` (a trailing assistant message with
    tool calls is a prefill, kept in the context). Only parameters the request sets are
    passed: the rest keep the app's defaults. Raises :class:`UnsupportedParameterError`.

    Example:
        >>> from inferencesh.openai import ChatCompletionInput, to_llm_input
        >>> req = ChatCompletionInput(messages=[
        ...     {"role": "system", "content": "Be brief."},
        ...     {"role": "user", "content": "Hi"},
        ...     {"role": "assistant", "content": "Hello!"},
        ...     {"role": "user", "content": "And now?"}], max_completion_tokens=64)
        >>> llm = to_llm_input(req)
        >>> llm.system_prompt, [m.text for m in llm.context], llm.text, llm.max_tokens
        ('Be brief.', ['Hi', 'Hello!'], 'And now?', 64)
    """
    _reject_unsupported(req)
    if not req.messages:
        raise ValueError("messages must not be empty")
    system: list[str] = []
    turns: list[ChatMessage] = []
    for msg in req.messages:
        if msg.role in ("system", "developer"):
            text = _content(msg)[0]
            if text:
                system.append(text)
        else:
            turns.append(msg)
    if not turns:
        raise ValueError("messages must contain at least one non-system message")
    *history, current = turns
    text, images, files = _content(current)
    kwargs: dict[str, Any] = {
        "context": [_context_message(m) for m in history],
        "text": text,
        "role": current.role,
    }
    if system:
        kwargs["system_prompt"] = "\n\n".join(system)
    for name, value in (
        ("images", images),
        ("files", files),
        ("reasoning", current.reasoning),
        ("tool_call_id", current.tool_call_id),
    ):
        if value:
            kwargs[name] = value
    if current.tool_calls:
        kwargs["context"].append(_context_message(current))
        kwargs["text"] = ""
    return input_cls(**kwargs, **_settings(req, input_cls))


class _Chunks:
    """Builds the reply's chunks and completion, all with one id, time and model."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self._first = True

    def chunk(self, delta: ChoiceDelta, finish: FinishReason | None = None) -> ChatCompletionChunk:
        if self._first:
            delta.role = "assistant"
            self._first = False
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish)
        return self.frame(choices=[choice])

    def frame(self, **fields: Any) -> ChatCompletionChunk:
        # `object` (and each choice's `index`, the usage frame's empty `choices`) set explicitly:
        # deltas carry the fields set, and Chat Completions clients require them.
        return ChatCompletionChunk(
            id=self.id,
            object="chat.completion.chunk",
            created=self.created,
            model=self.model,
            **fields,
        )

    def from_delta(self, delta: LLMDelta) -> ChatCompletionChunk | None:
        calls = [
            ChoiceDeltaToolCall(
                index=call.index,
                id=call.id,
                type="function" if call.type else None,
                function=ChoiceDeltaFunctionCall(
                    name=call.function.name or None, arguments=call.function.arguments or None
                )
                if call.function is not None
                else None,
            )
            for call in delta.tool_calls or []
        ]
        if not (delta.response or delta.reasoning or calls):
            return None
        return self.chunk(
            ChoiceDelta(
                content=delta.response or None, reasoning=delta.reasoning, tool_calls=calls or None
            )
        )

    def completion(self, out: LLMOutput) -> ChatCompletion:
        message = ChatCompletionMessage(
            content=out.response or None, reasoning=out.reasoning, tool_calls=_tool_calls(out)
        )
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[Choice(message=message, finish_reason=_finish_reason(out))],
            usage=_usage(out),
            output_meta=out.output_meta,
        )


def _finish_reason(out: LLMOutput) -> FinishReason:
    if out.tool_calls:
        return "tool_calls"
    reason = out.usage.stop_reason if out.usage is not None else ""
    if reason in ("length", "max_tokens"):
        return "length"
    return "content_filter" if reason == "content_filter" else "stop"


def _usage(out: LLMOutput) -> CompletionUsage | None:
    usage = out.usage
    if usage is not None and (usage.total_tokens or usage.prompt_tokens or usage.completion_tokens):
        return CompletionUsage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
            completion_tokens_details=CompletionTokensDetails(
                reasoning_tokens=usage.reasoning_tokens
            ),
            prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cached_tokens),
        )
    items = [m for m in (out.output_meta.inputs if out.output_meta else []) or []]
    texts = [m for m in [*items, *((out.output_meta.outputs if out.output_meta else []) or [])]]
    tokens = [getattr(m, "tokens", 0) or 0 for m in texts if isinstance(m, TextMeta)]
    if not any(tokens):
        return None
    prompt = sum(getattr(m, "tokens", 0) or 0 for m in items if isinstance(m, TextMeta))
    total = sum(tokens)
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=total - prompt, total_tokens=total
    )


def _tool_calls(out: LLMOutput) -> list[ResponseToolCall] | None:
    calls = out.tool_calls or []
    return [ResponseToolCall.model_validate(call) for call in calls] or None


def _input_class(app: Any) -> type[BaseModel]:
    """The model of the app's ``run`` input: the hint on ``input_data``/``input``/``app_input``,
    else on the first parameter that is not the metadata."""
    run = type(app).run
    hints = typing.get_type_hints(run, globalns=vars(sys.modules.get(run.__module__, sys)))
    params = [p for p in inspect.signature(run).parameters if p != "self"]
    names: list[str] = [n for n in ("input_data", "input", "app_input") if n in params]
    names += [n for n in params if n not in ("metadata", "meta")]
    for name in names:
        hint = hints.get(name)
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            return hint
    return LLMInput


def _model_name(app: Any, req: ChatCompletionInput) -> str:
    if req.model:
        return req.model
    module = sys.modules.get(type(app).__module__)
    return str(getattr(module, "DEFAULT_MODEL", "") or "")


async def _items(result: Any) -> AsyncGenerator[Any, None]:
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    elif inspect.isgenerator(result):
        for item in result:
            yield item
    else:
        yield result


class OpenAIChatMixin:
    """Adds an ``openai`` function (Chat Completions in and out) to a chat app.

    List the mixin before ``BaseApp``: ``class App(OpenAIChatMixin, BaseApp)``.
    """

    async def openai(
        self, input_data: ChatCompletionInput
    ) -> AsyncGenerator[ChatCompletionChunk | ChatCompletion, None]:
        """Answer a Chat Completions request with the app's own ``run``."""
        llm_input = to_llm_input(input_data, _input_class(self))
        await resolve_files(llm_input)
        chunks = _Chunks(_model_name(self, input_data))
        run: Any = self.run  # type: ignore[attr-defined]  # the app class's own run
        kwargs: dict[str, Any] = {}
        if "metadata" in inspect.signature(run).parameters:
            context = getattr(self, "context", None)
            kwargs["metadata"] = getattr(context, "metadata", None) or Metadata()
        differ: OutputDiffer | None = OutputDiffer()
        final: LLMOutput | None = None
        async for item in _items(run(llm_input, **kwargs)):
            if isinstance(item, LLMDelta):
                differ = None  # the app streams deltas: they are the chunks
                chunk = chunks.from_delta(item)
            elif isinstance(item, BaseModel):
                final = LLMOutput.model_validate(item.model_dump())
                step = differ.step(final) if differ is not None else None
                chunk = chunks.from_delta(step) if step is not None else None
            else:
                continue
            if chunk is not None:
                yield chunk
        final = final or LLMOutput()
        yield chunks.chunk(ChoiceDelta(), _finish_reason(final))
        stream_options = input_data.stream_options
        usage = _usage(final)
        if stream_options is not None and stream_options.include_usage and usage is not None:
            yield chunks.frame(choices=[], usage=usage)
        yield chunks.completion(final)


# The runtime serves the mixin's method as a function of the app it is mixed into.
OpenAIChatMixin.openai.__inferencesh_function__ = {}  # type: ignore[attr-defined]

"""Chat Completions wire types (the subset that maps onto ``LLMInput``/``LLMOutput``).

Field names follow the OpenAI API. :class:`ChatCompletionChunk` is a ``StreamDelta``: a chat
app's ``openai`` function yields chunks on the delta channel, and a ``DeltaAccumulator`` folds
them back into a completion by their ``_field_tags``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from inferencesh.apps.app import BaseAppInput, BaseAppOutput
from inferencesh.models.deltas import StreamDelta
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionInput",
    "ChatCompletionMessage",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "CompletionUsage",
    "ToolDefinition",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class TextContentPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageContentPart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageURL


class FileData(BaseModel):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FileContentPart(BaseModel):
    type: Literal["file"]
    file: FileData


ContentPart = TextContentPart | ImageContentPart | FileContentPart


class RequestFunctionCall(BaseModel):
    name: str
    arguments: str


class RequestToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: RequestFunctionCall


class ChatMessage(BaseModel):
    """One message of the request's conversation."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[RequestToolCall] | None = None
    tool_call_id: str | None = None
    reasoning: str | None = None  # an OpenRouter / DeepSeek extension


class FunctionDefinition(BaseModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(BaseModel):
    """A tool offered to the model: ``{"type": "function", "function": {...}}``."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedToolChoiceFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedToolChoiceFunction


class FunctionCallByName(BaseModel):
    name: str


class StreamOptions(BaseModel):
    include_usage: bool | None = None


class JSONSchemaSpec(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaSpec | None = None


class ChatCompletionInput(BaseAppInput):
    """The ``POST /v1/chat/completions`` request body."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage]
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    functions: list[dict[str, Any]] | None = None  # the deprecated functions API
    function_call: Literal["none", "auto"] | FunctionCallByName | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # Accepted, no effect on generation.
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    parallel_tool_calls: bool | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    safety_identifier: str | None = None
    verbosity: str | None = None
    # Declared to be refused with a clear error when set (see UnsupportedParameterError).
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    moderation: dict[str, Any] | None = None


class CompletionTokensDetails(BaseModel):
    reasoning_tokens: int | None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int | None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None


class ChoiceDeltaFunctionCall(BaseModel):
    name: str | None = None
    arguments: str | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "name": {"merge": "replace"},
        "arguments": {"merge": "concat"},
    }


class ChoiceDeltaToolCall(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaFunctionCall | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "id": {"merge": "replace"},
        "type": {"merge": "replace"},
        "function": {"merge": "nested"},
    }


class ChoiceDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "role": {"merge": "replace"},
        "content": {"merge": "concat"},
        "reasoning": {"merge": "concat"},
        "refusal": {"merge": "concat"},
        "tool_calls": {"merge": "indexed"},
    }


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "delta": {"merge": "nested"},
        "finish_reason": {"merge": "replace"},
    }


class ChatCompletionChunk(StreamDelta):
    """One frame of a ``stream: true`` reply; rides the delta channel."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None

    _field_tags: ClassVar[dict[str, Any]] = {
        "id": {"merge": "replace"},
        "object": {"merge": "replace"},
        "created": {"merge": "replace"},
        "model": {"merge": "replace"},
        "choices": {"merge": "indexed"},
        "usage": {"merge": "replace"},
        "system_fingerprint": {"merge": "replace"},
    }


class ResponseFunctionCall(BaseModel):
    name: str
    arguments: str

    @field_validator("arguments", mode="before")
    @classmethod
    def _as_json_text(cls, value: Any) -> str:
        # The wire carries JSON text; app outputs may hold the decoded object.
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)


class ResponseToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ResponseFunctionCall


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[ResponseToolCall] | None = None


class Choice(BaseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: FinishReason = "stop"


class ChatCompletion(BaseAppOutput):
    """The ``POST /v1/chat/completions`` reply body."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None

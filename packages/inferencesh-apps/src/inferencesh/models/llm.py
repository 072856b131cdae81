"""Types for LLM and chat apps, and ``build_messages`` (OpenAI-format messages from an input).

New apps subclass :class:`ChatInput`: the conversation on the input, sampling parameters in one
nested, all-optional :class:`ModelSettings`. Older apps use :class:`LLMInput` with flat
``temperature``, ``top_p`` and ``max_tokens``. The capability mixins add one group of fields each to
a custom input or output class.

Schemas of subclasses are those the published SDK 0.36 gives: the app's class name as title, its
own new fields first, a redeclared field in its inherited place.

Example:
    >>> from inferencesh.models import LLMInput, LLMOutput
    >>> class AppInput(LLMInput):
    ...     context_size: int = 8192
    >>> schema = AppInput.model_json_schema()
    >>> schema["title"], list(schema["properties"])[:3]
    ('AppInput', ['text', 'images', 'files'])
    >>> AppInput(text="hi", context=[{"role": "compaction", "text": "summary"}]).context[0].role
    <ChatMessageRole.COMPACTION: 'compaction'>
    >>> class AppOutput(LLMOutput):
    ...     citations: list[str] = []
    >>> list(AppOutput.model_json_schema()["properties"])[:3]
    ['citations', 'output_meta', 'response']
"""

from __future__ import annotations

import base64
import copy
import enum
import json
import mimetypes
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, cast

from inferencesh.apps.app import BaseAppInput, BaseAppOutput
from inferencesh.apps.file import File
from inferencesh.core.types import WireEnum
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

if TYPE_CHECKING:
    from inferencesh.images import ImageLimits

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "BaseLLMInput",
    "BaseLLMOutput",
    "ChatInput",
    "ChatMessageRole",
    "ContextMessage",
    "ContextMessageRole",
    "FileCapabilityMixin",
    "ImageCapabilityMixin",
    "ImagesMixin",
    "LLMInput",
    "LLMOutput",
    "LLMUsage",
    "LLMUsageMixin",
    "Message",
    "ModelSettings",
    "ModelSettingsCapabilityMixin",
    "ReasoningCapabilityMixin",
    "ReasoningEffortEnum",
    "ReasoningMixin",
    "ResponseFormat",
    "ResponseFormatType",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolCallsMixin",
    "ToolChoice",
    "ToolChoiceMode",
    "ToolFunction",
    "ToolsCapabilityMixin",
    "build_messages",
    "build_openai_messages",
    "build_tools",
]

# Local-model streaming helpers live in `generation`, the provider-format helpers in
# `provider_formats`; both are importable from here too, as apps written for the published SDK do
# (`from inferencesh.models.llm import stream_generate`).
_ELSEWHERE = {
    **dict.fromkeys(
        [
            "ResponseState",
            "ResponseTransformer",
            "StreamResponse",
            "TimingInfo",
            "stream_generate",
            "timing_context",
        ],
        "inferencesh.models.generation",
    ),
    **dict.fromkeys(
        [
            "file_to_base64_data_uri",
            "image_to_base64_data_uri",
            "llamacpp_response_format",
            "merge_reasoning_details",
            "openai_response_format",
            "openai_tool_choice",
        ],
        "inferencesh.models.provider_formats",
    ),
    # The delta types live in `deltas` (which builds on this module); 0.36 apps import
    # `LLMDelta` from here.
    **dict.fromkeys(
        ["LLMDelta", "StreamDelta", "ToolCallDelta", "ToolCallFunctionDelta"],
        "inferencesh.models.deltas",
    ),
}


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_SYSTEM_PROMPT = "you are a helpful assistant that can answer questions and help with tasks."


class ChatMessageRole(WireEnum):
    """Who wrote a message of the conversation.

    ``system``, ``user``, ``assistant`` and ``tool`` reach the provider; ``injection``,
    ``compaction`` and ``event`` are the platform's internal roles (injected context, a compacted
    summary, an event note), accepted on input as the published SDK 0.36 accepts them.
    """

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    INJECTION = "injection"
    COMPACTION = "compaction"
    EVENT = "event"


ContextMessageRole = ChatMessageRole
"""The role enum under the name apps import (one class: ``ContextMessageRole is ChatMessageRole``)."""


class ReasoningEffortEnum(WireEnum):
    """How hard a reasoning model should think."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    NONE = "none"


# -- tools --------------------------------------------------------------------------------


class ToolFunction(BaseModel):
    """A function the model may call: name, description and JSON Schema parameters."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the arguments (an object schema)"
    )


class Tool(BaseModel):
    """A tool offered to the model, OpenAI style: ``{"type": "function", "function": {...}}``."""

    type: Literal["function"] = "function"
    function: ToolFunction


class ToolCallFunction(BaseModel):
    """The function part of a tool call. ``arguments`` accepts an object or a JSON string;
    ``""``, ``"{}"`` and ``null`` all mean no arguments."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    @field_validator("arguments", mode="before")
    @classmethod
    def _decode_arguments(cls, value: Any) -> Any:
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"tool call arguments are not valid JSON: {exc}") from exc
        return value


class ToolCall(BaseModel):
    """A tool call the model made."""

    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ToolChoiceMode(WireEnum):
    """Whether the model may, must or must not call tools, or must call one function."""

    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"
    FUNCTION = "function"


class ToolChoice(BaseModel):
    """Whether and which tool the model must call."""

    mode: ToolChoiceMode
    name: str | None = Field(
        default=None, description="The function to call when mode is 'function'"
    )


class ResponseFormatType(WireEnum):
    """The kinds of reply shape a model can be held to."""

    TEXT = "text"
    JSON_OBJECT = "json_object"
    JSON_SCHEMA = "json_schema"


class ResponseFormat(BaseModel):
    """The shape the model's reply must take."""

    type: ResponseFormatType
    name: str | None = None
    json_schema: Any | None = None
    strict: bool | None = None


# -- shared field definitions -------------------------------------------------------------
# One definition per field, reused by every class that has it (pydantic copies them), so the
# descriptions and defaults cannot drift apart between ChatInput, LLMInput and the mixins.

_TEXT = Field(default="", description="The current message")
_IMAGES = Field(default=None, description="Images sent with the message")
_FILES = Field(default=None, description="Files sent with the message")
_ATTACHMENTS = Field(default=None, description="Attachments of the message (any file type)")
_REASONING_STATE = Field(
    default=None,
    description="Opaque per-provider reasoning state (signatures, encrypted reasoning) kept "
    "under a key the app chooses",
)
_CONTEXT: Any = Field(default_factory=list, description="Earlier messages, oldest first")
_ROLE = Field(default=ContextMessageRole.USER, description="Who wrote the current message")
_REASONING = Field(default=None, description="Reasoning carried into this turn")
_TOOL_CALL_ID = Field(default=None, description="For a tool result turn: the call it answers")
_TOOLS = Field(
    default=None,
    description="Tools the model may call: {type: 'function', function: {name, description, "
    "parameters}}",
)
_TOOL_CHOICE = Field(default=None, description="Whether and which tool must be called")
_RESPONSE_FORMAT = Field(default=None, description="The shape the reply must take")
_REASONING_EFFORT = Field(
    default=ReasoningEffortEnum.NONE, description="How hard a reasoning model should think"
)
_REASONING_MAX_TOKENS = Field(default=None, ge=0, description="Token budget for reasoning")
_TOOL_CALLS = Field(
    default=None,
    description="Tool calls: {id, type: 'function', function: {name, arguments}}",
)
_USAGE = Field(default=None, description="Token counts and timings")
_RESPONSE = Field(default="", description="The generated text")
_TOP_K = Field(default=None, ge=-1, description="Sample from the k likeliest tokens")
_MIN_P = Field(default=None, ge=0, le=1, description="Minimum token probability")
_FREQUENCY_PENALTY = Field(default=None, ge=-2, le=2)
_PRESENCE_PENALTY = Field(default=None, ge=-2, le=2)
_REPETITION_PENALTY = Field(default=None, gt=0)
# LLMInput's flat fields take what the published SDK 0.36 takes (no bounds); ModelSettings keeps
# its bounds, as 0.36's does.
_FLAT_TOP_K = Field(default=None, description="Sample from the k likeliest tokens")
_FLAT_MIN_P = Field(default=None, description="Minimum token probability")
_SEED = Field(default=None, description="Seed for reproducible sampling")
_STOP = Field(default=None, description="Stop sequences")


def _one_stop(value: Any) -> Any:
    # A single stop sequence may be sent as a bare string.
    return [value] if isinstance(value, str) else value


# -- messages -----------------------------------------------------------------------------


class Message(BaseAppInput):
    """A plain role and content pair (kept for older apps)."""

    role: ContextMessageRole
    content: str


class ContextMessage(BaseAppInput):
    """One earlier message of the conversation."""

    role: ContextMessageRole = Field(description="Who wrote the message")
    text: str | None = Field(default=None, description="The message text")
    reasoning: str | None = Field(default=None, description="The model's reasoning, if any")
    reasoning_state: dict[str, Any] | None = _REASONING_STATE
    images: list[File] | None = Field(default=None, description="Images attached to the message")
    files: list[File] | None = Field(default=None, description="Files attached to the message")
    tools: list[dict[str, Any]] | None = Field(
        default=None, description="Tools offered at this point of the conversation"
    )
    tool_calls: list[dict[str, Any]] | None = _TOOL_CALLS
    tool_call_id: str | None = Field(
        default=None, description="For a tool message: the call it answers"
    )


# -- model settings -----------------------------------------------------------------------


class ModelSettings(BaseModel):
    """Sampling parameters, all optional.

    Only the fields a caller set are sent on: dumping leaves unset fields out, so each model app
    keeps its own defaults for the rest. :meth:`as_kwargs` gives the set, non-null values.
    """

    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temperature")
    top_p: float | None = Field(default=None, ge=0, le=1, description="Nucleus sampling mass")
    top_k: int | None = _TOP_K
    min_p: float | None = _MIN_P
    frequency_penalty: float | None = _FREQUENCY_PENALTY
    presence_penalty: float | None = _PRESENCE_PENALTY
    repetition_penalty: float | None = _REPETITION_PENALTY
    seed: int | None = _SEED
    stop: list[str] | None = _STOP
    max_tokens: int | None = Field(default=None, ge=1, description="Most tokens to generate")
    reasoning_effort: ReasoningEffortEnum | None = Field(
        default=None, description="How hard a reasoning model should think"
    )
    reasoning_max_tokens: int | None = _REASONING_MAX_TOKENS

    _stop_list = field_validator("stop", mode="before")(_one_stop)

    @model_serializer(mode="wrap")
    def _only_set(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if key in self.model_fields_set}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The serializer above only drops keys, so the fields describe the dumped form too;
        # without this, serialization-mode schemas would show a bare object.
        fields_only = cast(
            core_schema.CoreSchema, {k: v for k, v in schema.items() if k != "serialization"}
        )
        return handler(fields_only)

    def as_kwargs(self) -> dict[str, Any]:
        """The set, non-null settings as JSON values, ready to pass to a provider.

        Example:
            >>> from inferencesh.models import ChatInput
            >>> value = ChatInput.model_validate({"text": "Summarize this", "temperature": 0.3})
            >>> value.model_settings.as_kwargs()  # a flat setting is folded into model_settings
            {'temperature': 0.3}
            >>> {"temperature": 0.7, "max_tokens": 512, **value.model_settings.as_kwargs()}
            {'temperature': 0.3, 'max_tokens': 512}
        """
        return self.model_dump(mode="json", exclude_none=True)


def _fold_flat_settings(cls: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    flat = [
        key for key in ModelSettings.model_fields if key in data and key not in cls.model_fields
    ]
    if not flat:
        return data
    nested = data.get("model_settings")
    if isinstance(nested, ModelSettings):
        nested = nested.model_dump()
    if nested is not None and not isinstance(nested, dict):
        return data  # let field validation report the bad value
    merged = {key: data[key] for key in flat} | (nested or {})
    rest = {key: value for key, value in data.items() if key not in flat}
    return rest | {"model_settings": merged}


_MODEL_SETTINGS = Field(
    default=None, description="Sampling parameters; omitted ones keep the model's defaults"
)


class ModelSettingsCapabilityMixin(BaseModel):
    """Adds ``model_settings``. Flat setting keys a caller sends (``temperature``, ...) that the
    class does not declare itself are folded into it; a nested value wins over a flat one."""

    model_settings: ModelSettings | None = _MODEL_SETTINGS

    _fold_flat = model_validator(mode="before")(classmethod(_fold_flat_settings))  # type: ignore[arg-type]


# -- capability mixins --------------------------------------------------------------------


class ImageCapabilityMixin(BaseModel):
    """Adds ``images``: images sent with the current message."""

    images: list[File] | None = _IMAGES


class FileCapabilityMixin(BaseModel):
    """Adds ``files``: files sent with the current message."""

    files: list[File] | None = _FILES


class ReasoningCapabilityMixin(BaseModel):
    """Adds reasoning controls."""

    reasoning: str | None = _REASONING
    reasoning_effort: ReasoningEffortEnum = _REASONING_EFFORT
    reasoning_max_tokens: int | None = _REASONING_MAX_TOKENS


class ToolsCapabilityMixin(BaseModel):
    """Adds tool calling: the offered ``tools`` and, for a tool result turn, ``tool_call_id``."""

    tools: list[dict[str, Any]] | None = _TOOLS
    tool_call_id: str | None = _TOOL_CALL_ID
    tool_choice: ToolChoice | None = _TOOL_CHOICE


class LLMUsage(BaseModel):
    """Token counts and timings of one generation."""

    stop_reason: str = ""
    time_to_first_token: float = 0.0
    tokens_per_second: float = 0.0
    prompt_tokens: int = Field(default=0, description="Prompt tokens, cached ones included")
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    reasoning_time: float = 0.0


class LLMUsageMixin(BaseModel):
    """Adds ``usage`` to an output."""

    usage: LLMUsage | None = _USAGE


class ReasoningMixin(BaseModel):
    """Adds ``reasoning`` to an output."""

    reasoning: str | None = Field(default=None, description="The model's reasoning")


class ToolCallsMixin(BaseModel):
    """Adds ``tool_calls`` to an output."""

    tool_calls: list[dict[str, Any]] | None = _TOOL_CALLS


class ImagesMixin(BaseModel):
    """Adds ``images`` to an output (images the model produced)."""

    images: list[File] | None = Field(default=None, description="Images produced")


# -- inputs -------------------------------------------------------------------------------


class ChatInput(BaseAppInput):
    """The input of a chat model app: the current message, the conversation so far, and the
    sampling parameters in one nested ``model_settings`` object.

    Callers send ``{"text": "...", "model_settings": {"temperature": 0.7}}``.
    """

    text: str = _TEXT
    images: list[File] | None = _IMAGES
    files: list[File] | None = _FILES
    context: list[ContextMessage] = _CONTEXT
    system_prompt: str = Field(default="", description="Instructions for the model")
    role: ContextMessageRole = _ROLE
    reasoning: str | None = _REASONING
    tool_call_id: str | None = _TOOL_CALL_ID
    tools: list[dict[str, Any]] | None = _TOOLS
    tool_choice: ToolChoice | None = _TOOL_CHOICE
    response_format: ResponseFormat | None = _RESPONSE_FORMAT
    # Declared here rather than inherited from ModelSettingsCapabilityMixin, so that it stays
    # last in the forms of subclasses (inherited fields come first).
    model_settings: ModelSettings | None = _MODEL_SETTINGS

    _fold_flat = model_validator(mode="before")(classmethod(_fold_flat_settings))  # type: ignore[arg-type]


_SYSTEM_PROMPT = Field(default=DEFAULT_SYSTEM_PROMPT, description="Instructions for the model")
# 0.36 caps temperature at 1; OpenAI-style providers take up to 2, so this accepts up to 2.
_TEMPERATURE = Field(default=0.7, ge=0, le=2, description="Sampling temperature")
_TOP_P = Field(default=0.95, ge=0, le=1, description="Nucleus sampling mass")
_CONTEXT_SIZE = Field(default=4096, description="Context window in tokens")
_MAX_TOKENS = Field(default=64000, description="Most tokens to generate")
_FLAT_REASONING_MAX_TOKENS = Field(default=None, description="Token budget for reasoning")


class LLMInput(BaseAppInput):
    """The flat LLM input (the platform's agent loop sends it): the current turn, the
    conversation, then every sampling setting on the input itself, with defaults.

    Fields, their order and what they accept are those of the published SDK 0.36's
    ``LLMInput`` (``BaseLLMInput`` is the same class); a subclass that redeclares one (say
    ``context_size``) keeps it in its place in the form (the module's docstring shows one).
    """

    text: str = _TEXT
    images: list[File] | None = _IMAGES
    files: list[File] | None = _FILES
    attachments: list[File] | None = _ATTACHMENTS
    context: list[ContextMessage] = Field(default=[], description="Earlier messages, oldest first")
    role: ContextMessageRole = _ROLE
    reasoning: str | None = _REASONING
    tool_call_id: str | None = _TOOL_CALL_ID
    system_prompt: str = _SYSTEM_PROMPT
    context_size: int = _CONTEXT_SIZE
    temperature: float = _TEMPERATURE
    top_p: float = _TOP_P
    top_k: int | None = _FLAT_TOP_K
    min_p: float | None = _FLAT_MIN_P
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = _SEED
    stop: list[str] | None = _STOP
    max_tokens: int = _MAX_TOKENS
    reasoning_effort: ReasoningEffortEnum = _REASONING_EFFORT
    reasoning_max_tokens: int | None = _FLAT_REASONING_MAX_TOKENS
    tools: list[dict[str, Any]] | None = _TOOLS
    tool_choice: ToolChoice | None = _TOOL_CHOICE
    response_format: ResponseFormat | None = _RESPONSE_FORMAT

    _stop_list = field_validator("stop", mode="before")(_one_stop)


BaseLLMInput = LLMInput
"""The same class as :class:`LLMInput` (as in the published SDK 0.36)."""


# -- outputs ------------------------------------------------------------------------------


class BaseLLMOutput(BaseAppOutput):
    """An LLM reply: ``response`` text, reasoning (and its opaque ``reasoning_state``), tool
    calls and usage. Streaming apps yield cumulative snapshots: each carries the full
    ``response`` so far."""

    response: str = _RESPONSE
    reasoning: str | None = Field(default=None, description="The model's reasoning")
    reasoning_state: dict[str, Any] | None = _REASONING_STATE
    tool_calls: list[dict[str, Any]] | None = _TOOL_CALLS
    usage: LLMUsage | None = _USAGE


class LLMOutput(BaseLLMOutput):
    """An LLM reply (see :class:`BaseLLMOutput`); subclass it for an app's own output."""


# -- OpenAI message building --------------------------------------------------------------

_MediaMode = Literal["url", "base64"]


class _Turn:
    """A message being assembled; never shares mutable state with the input."""

    __slots__ = (
        "files",
        "images",
        "reasoning",
        "reasoning_states",
        "role",
        "text",
        "tool_call_id",
        "tool_calls",
    )

    def __init__(self, source: Any, role: str, text: str | None) -> None:
        self.role = role
        self.text = [text] if text else []
        self.images: list[File] = list(getattr(source, "images", None) or [])
        self.files: list[File] = list(getattr(source, "files", None) or [])
        reasoning = getattr(source, "reasoning", None)
        self.reasoning = [reasoning] if reasoning else []
        state = getattr(source, "reasoning_state", None)
        self.reasoning_states: list[dict[str, Any]] = [state] if isinstance(state, dict) else []
        self.tool_calls = copy.deepcopy(list(getattr(source, "tool_calls", None) or []))
        self.tool_call_id: str | None = getattr(source, "tool_call_id", None)

    def absorb(self, other: _Turn) -> None:
        self.text += other.text
        self.images += other.images
        self.files += other.files
        self.reasoning += other.reasoning
        self.reasoning_states += other.reasoning_states
        self.tool_calls += other.tool_calls


def _role(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _data_uri(file: File, fallback_type: str) -> str:
    if file.uri and file.uri[:5].lower() == "data:":
        return file.uri
    path = file.path
    content_type = file.content_type or mimetypes.guess_type(path)[0] or fallback_type
    with open(path, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    return f"data:{content_type};base64,{encoded}"


def _media_url(file: File, mode: _MediaMode, fallback_type: str) -> str:
    if mode == "url" and file.uri and file.is_remote():
        return file.uri
    return _data_uri(file, fallback_type)


def _tool_call(call: Any) -> dict[str, Any]:
    data = call.model_dump() if isinstance(call, BaseModel) else dict(call)
    function = dict(data.get("function") or {})
    arguments = function.get("arguments")
    if arguments is None or arguments == "":
        function["arguments"] = "{}"
    elif not isinstance(arguments, str):
        function["arguments"] = json.dumps(arguments)
    return {**data, "type": data.get("type") or "function", "function": function}


def build_messages(
    input_data: Any,
    transform_user_message: Callable[[str], str] | None = None,
    include_reasoning: bool = False,
    file_mode: _MediaMode = "base64",
    image_mode: _MediaMode = "base64",
    image_limits: ImageLimits | None = None,
    tool_media_as_user_message: bool = False,
    reasoning_state_key: str | None = None,
    reasoning_field: str | None = None,
) -> list[dict[str, Any]]:
    """OpenAI chat-completions messages for a :class:`ChatInput`/:class:`LLMInput` (or any object
    with the same attributes). The input is never modified.

    - A non-empty ``system_prompt`` becomes the first message, then ``context``, then the current
      turn (``text``, ``images``, ``files`` as ``role``) when it has any content.
    - Consecutive messages of one role merge (texts joined by a blank line); tool results never do.
    - A message with images or files gets a list of content parts, otherwise a plain string.
      ``"base64"`` modes inline local files as data URIs; ``"url"`` passes an http(s) URI as is.
    - Assistant tool calls keep their ids, their ``arguments`` JSON-encoded; tool results carry
      ``tool_call_id``. ``include_reasoning`` adds assistant reasoning under ``reasoning_field``
      (``"reasoning"`` when ``None``, as in the published SDK 0.36; DeepSeek-style providers
      take ``"reasoning_content"``).
    - ``reasoning_state_key``: an assistant message whose ``reasoning_state`` holds that key
      sends its value as ``reasoning_details`` (the opaque provider state, signatures or
      encrypted reasoning, that some providers need back to continue), instead of the
      reasoning text.
    - ``image_limits`` (an :class:`inferencesh.images.ImageLimits`): images sent inline are
      first fitted to the provider's limits with :func:`inferencesh.images.fit_image` (needs
      Pillow).
    - ``tool_media_as_user_message``: a tool result's images and files go in a ``user``
      message right after it, for providers whose tool messages take text only.

    The parameters keep the published SDK 0.36's order, so its positional calls bind.

    Reading files for base64 blocks; in async code with large files call it through
    ``asyncio.to_thread``.

    Example:
        >>> from inferencesh.models import ChatInput, build_messages
        >>> history = [{"role": "user", "text": "Hi"}, {"role": "assistant", "text": "Hello!"}]
        >>> chat = ChatInput(system_prompt="Be brief.", context=history, text="And now?")
        >>> for message in build_messages(chat):
        ...     print(message["role"], "-", message["content"])
        system - Be brief.
        user - Hi
        assistant - Hello!
        user - And now?
    """
    turns: list[_Turn] = []
    for message in getattr(input_data, "context", None) or []:
        turns.append(_Turn(message, _role(message.role), getattr(message, "text", None)))

    text = getattr(input_data, "text", None) or ""
    role = _role(getattr(input_data, "role", None) or ContextMessageRole.USER)
    if transform_user_message is not None and role == "user":
        text = transform_user_message(text)
    current = _Turn(input_data, role, text)
    if current.text or current.images or current.files or current.tool_call_id:
        turns.append(current)

    merged: list[_Turn] = []
    for turn in turns:
        last = merged[-1] if merged else None
        if last is not None and last.role == turn.role and turn.role != "tool":
            last.absorb(turn)
        else:
            merged.append(turn)

    messages: list[dict[str, Any]] = []
    system_prompt = getattr(input_data, "system_prompt", None)
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    field = reasoning_field or "reasoning"
    media = _Media(image_mode, file_mode, image_limits)
    for turn in merged:
        moved: _Turn | None = None
        if tool_media_as_user_message and turn.role == "tool" and (turn.images or turn.files):
            moved = _Turn(None, "user", None)
            moved.images, moved.files = turn.images, turn.files
            turn.images, turn.files = [], []
        messages.append(_render(turn, include_reasoning, field, reasoning_state_key, media))
        if moved is not None:
            messages.append(_render(moved, False, field, None, media))
    return messages


build_openai_messages = build_messages


class _Media:
    """How images and files are sent: by URL or inline, images fitted to limits."""

    __slots__ = ("file_mode", "image_limits", "image_mode")

    def __init__(
        self, image_mode: _MediaMode, file_mode: _MediaMode, image_limits: ImageLimits | None
    ) -> None:
        self.image_mode = image_mode
        self.file_mode = file_mode
        self.image_limits = image_limits

    def image_url(self, image: File) -> str:
        limits = self.image_limits
        if limits is None or (self.image_mode == "url" and image.uri and image.is_remote()):
            return _media_url(image, self.image_mode, "application/octet-stream")
        from inferencesh.images import fit_image  # needs Pillow: only when limits are given

        data, mime = fit_image(image.path, limits)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _render(
    turn: _Turn,
    include_reasoning: bool,
    reasoning_field: str,
    reasoning_state_key: str | None,
    media: _Media,
) -> dict[str, Any]:
    text = "\n\n".join(turn.text)
    content: Any
    if turn.images or turn.files:
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"type": "text", "text": text})
        for image in turn.images:
            url = media.image_url(image)
            parts.append({"type": "image_url", "image_url": {"url": url}})
        for file in turn.files:
            data = _media_url(file, media.file_mode, "application/octet-stream")
            parts.append(
                {"type": "file", "file": {"filename": file.filename or "file", "file_data": data}}
            )
        content = parts
    elif turn.role == "assistant" and turn.tool_calls and not text:
        content = None
    else:
        content = text
    message: dict[str, Any] = {"role": turn.role, "content": content}
    if turn.role == "assistant" and turn.tool_calls:
        message["tool_calls"] = [_tool_call(call) for call in turn.tool_calls]
    if turn.role == "tool":
        message["tool_call_id"] = turn.tool_call_id or ""
    if turn.role == "assistant":
        details = _reasoning_details(turn, reasoning_state_key)
        if details is not None:
            message["reasoning_details"] = details
        elif include_reasoning and turn.reasoning:
            message[reasoning_field] = "\n\n".join(turn.reasoning)
    return message


def _reasoning_details(turn: _Turn, key: str | None) -> Any:
    # Merged turns keep each message's state: lists join, a lone value stands alone.
    if key is None:
        return None
    found = [state[key] for state in turn.reasoning_states if key in state]
    if not found:
        return None
    if len(found) == 1:
        return copy.deepcopy(found[0])
    joined: list[Any] = []
    for value in found:
        joined += value if isinstance(value, list) else [value]
    return copy.deepcopy(joined)


def build_tools(tools: Iterable[Any] | None) -> list[dict[str, Any]] | None:
    """OpenAI ``tools`` from tool dicts or :class:`Tool` models (``None`` when there are none).

    Accepts ``{"type": "function", "function": {...}}`` or a bare function dict; a missing
    ``parameters`` becomes an empty object schema.
    """
    result: list[dict[str, Any]] = []
    for tool in tools or []:
        data = tool.model_dump(exclude_none=True) if isinstance(tool, BaseModel) else dict(tool)
        wrapped = data.get("function")
        function = dict(wrapped) if isinstance(wrapped, dict) else dict(data)
        parameters = dict(function.get("parameters") or {"type": "object"})
        parameters.setdefault("type", "object")
        parameters["properties"] = {
            key: value
            for key, value in (parameters.get("properties") or {}).items()
            if value is not None
        }
        function["parameters"] = parameters
        result.append({"type": "function", "function": function})
    return result or None

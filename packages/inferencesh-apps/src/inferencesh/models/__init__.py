"""App-facing models under the import path the platform's docs use (``inferencesh.models``).

Everything here is also importable from :mod:`inferencesh.apps`; the LLM types and the capability
mixins live in :mod:`inferencesh.models.llm`.

Example:
    A chat model app takes a ``ChatInput`` and returns an ``LLMOutput``:

    >>> import asyncio
    >>> from inferencesh import BaseApp
    >>> from inferencesh.models import ChatInput, LLMOutput, build_messages
    >>> class App(BaseApp):
    ...     async def run(self, input_data: ChatInput) -> LLMOutput:
    ...         messages = build_messages(input_data)  # OpenAI chat-completions messages
    ...         return LLMOutput(response=f"{len(messages)} messages")
    >>> asyncio.run(App().run(ChatInput(text="Hi", system_prompt="Be brief."))).response
    '2 messages'
"""

from inferencesh.apps.app import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup
from inferencesh.apps.file import File
from inferencesh.apps.function_meta import function
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.output_meta import (
    AudioMeta,
    ImageMeta,
    MetaItem,
    MetaItemType,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
    VideoResolution,
    probe_video,
)
from inferencesh.apps.socket import Socket
from inferencesh.apps.stream import PCM16, Live, Stream, Update, media
from inferencesh.core.errors import APIError, RequirementsNotMetError
from inferencesh.core.types import RequirementError, SetupAction
from inferencesh.models.decision import (
    DecisionInput,
    DecisionOutput,
    DecisionVideoInput,
    DecisionVisionInput,
)
from inferencesh.models.deltas import (
    DeltaAccumulator,
    LLMDelta,
    StreamDelta,
    ToolCallDelta,
    ToolCallFunctionDelta,
)
from inferencesh.models.generation import ResponseTransformer, stream_generate, timing_context
from inferencesh.models.llm import (
    BaseLLMInput,
    BaseLLMOutput,
    ChatInput,
    ContextMessage,
    ContextMessageRole,
    FileCapabilityMixin,
    ImageCapabilityMixin,
    ImagesMixin,
    LLMInput,
    LLMOutput,
    LLMUsage,
    LLMUsageMixin,
    Message,
    ModelSettings,
    ModelSettingsCapabilityMixin,
    ReasoningCapabilityMixin,
    ReasoningEffortEnum,
    ReasoningMixin,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolCallsMixin,
    ToolChoice,
    ToolFunction,
    ToolsCapabilityMixin,
    build_messages,
    build_openai_messages,
    build_tools,
)
from inferencesh.models.response import Response

__all__ = [
    "PCM16",
    "Live",
    "Socket",
    "Stream",
    "Update",
    "media",
    "APIError",
    "AudioMeta",
    "BaseApp",
    "BaseAppInput",
    "BaseAppOutput",
    "BaseAppSetup",
    "BaseLLMInput",
    "BaseLLMOutput",
    "ChatInput",
    "ContextMessage",
    "ContextMessageRole",
    "DeltaAccumulator",
    "DecisionInput",
    "DecisionOutput",
    "DecisionVideoInput",
    "DecisionVisionInput",
    "File",
    "FileCapabilityMixin",
    "ImageCapabilityMixin",
    "ImageMeta",
    "ImagesMixin",
    "LLMDelta",
    "LLMInput",
    "LLMOutput",
    "LLMUsage",
    "LLMUsageMixin",
    "Message",
    "MetaItem",
    "MetaItemType",
    "Metadata",
    "ModelSettings",
    "ModelSettingsCapabilityMixin",
    "OutputMeta",
    "RawMeta",
    "ReasoningCapabilityMixin",
    "ReasoningEffortEnum",
    "ReasoningMixin",
    "RequirementError",
    "RequirementsNotMetError",
    "Response",
    "ResponseFormat",
    "StreamDelta",
    "ResponseTransformer",
    "SetupAction",
    "TextMeta",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallFunction",
    "ToolCallFunctionDelta",
    "ToolCallsMixin",
    "ToolChoice",
    "ToolFunction",
    "ToolsCapabilityMixin",
    "VideoMeta",
    "VideoResolution",
    "build_messages",
    "build_openai_messages",
    "build_tools",
    "function",
    "probe_video",
    "stream_generate",
    "timing_context",
]

"""OpenAI Chat Completions for chat apps: :class:`OpenAIChatMixin` adds an ``openai`` function
that takes a Chat Completions request and answers in that shape, streaming chunks as deltas.

Example:
    >>> import asyncio
    >>> from inferencesh import BaseApp
    >>> from inferencesh.models import ChatInput, LLMDelta, LLMOutput
    >>> from inferencesh.openai import ChatCompletionInput, OpenAIChatMixin
    >>> class App(OpenAIChatMixin, BaseApp):
    ...     async def run(self, input_data: ChatInput):
    ...         yield LLMDelta(response="Hi ")
    ...         yield LLMDelta(response=input_data.text)
    ...         yield LLMOutput(response="Hi " + input_data.text)
    >>> req = ChatCompletionInput(model="m", messages=[{"role": "user", "content": "Bob"}])
    >>> async def reply():
    ...     return [item async for item in App().openai(req)]
    >>> *chunks, completion = asyncio.run(reply())
    >>> [c.choices[0].delta.content for c in chunks]
    ['Hi ', 'Bob', None]
    >>> completion.choices[0].message.content, completion.choices[0].finish_reason
    ('Hi Bob', 'stop')
"""

from inferencesh.openai.adapter import OpenAIChatMixin, UnsupportedParameterError, to_llm_input
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
    CompletionUsage,
    ToolDefinition,
)

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
    "OpenAIChatMixin",
    "ToolDefinition",
    "UnsupportedParameterError",
    "to_llm_input",
]

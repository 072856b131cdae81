"""``LLMSettings``: the model settings block an agent stores with its core app (0.36's
``inferencesh.llm_types_gen.LLMSettings``): the system prompt, the context size and the sampling,
reasoning, tool and reply-format settings, every one optional.

An app reads the same settings from its ``LLMInput``; this block is what a caller keeps apart
from a conversation, say in an agent's ``core_app.input``. (The example is here, not on the
class: a model's docstring is its schema's description, which apps serve.)

Example:
    >>> from inferencesh.models.llm_settings import LLMSettings
    >>> LLMSettings(temperature=0.2, max_tokens=256).model_dump(exclude_defaults=True)
    {'temperature': 0.2, 'max_tokens': 256}
"""

from __future__ import annotations

from inferencesh.models.llm import ResponseFormat, Tool, ToolChoice
from pydantic import BaseModel, Field

__all__ = ["LLMSettings"]


class LLMSettings(BaseModel):
    """Model settings; ``None`` (or ``""``/0 for the prompt and context size) means the model's
    default. Values are stored as given: the app that receives them checks their ranges.
    """

    system_prompt: str = Field(default="", description="Instructions ahead of the conversation")
    context_size: int = Field(default=0, description="Context window in tokens; 0: default")
    temperature: float | None = Field(default=None, description="Sampling temperature")
    top_p: float | None = Field(default=None, description="Nucleus sampling mass")
    top_k: int | None = Field(default=None, description="Sample from the k likeliest tokens")
    min_p: float | None = Field(default=None, description="Drop tokens below this probability")
    frequency_penalty: float | None = Field(default=None, description="Penalty per repeat count")
    presence_penalty: float | None = Field(default=None, description="Penalty for any repeat")
    repetition_penalty: float | None = Field(default=None, description="Multiplicative penalty")
    seed: int | None = Field(default=None, description="Sampling seed, for repeatable replies")
    stop: list[str] | None = Field(default=None, description="Stop at any of these strings")
    max_tokens: int | None = Field(default=None, description="Longest reply, in tokens")
    reasoning_effort: str | None = Field(default=None, description="low, medium, high or none")
    reasoning_max_tokens: int | None = Field(default=None, description="Reasoning token budget")
    tools: list[Tool] | None = Field(default=None, description="Tools offered to the model")
    tool_choice: ToolChoice | None = Field(default=None, description="Whether to call a tool")
    response_format: ResponseFormat | None = Field(default=None, description="Reply shape")

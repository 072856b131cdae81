"""A stand-in chat model: replies deterministically from the input, streaming cumulative text.

It shows the shape of a real chat app - ChatInput in, LLMOutput snapshots out, sampling
parameters read from `model_settings` - without a model download.
"""

from collections.abc import AsyncGenerator

from inferencesh import BaseApp
from inferencesh.models import ChatInput, LLMOutput
from inferencesh.models.llm import LLMUsage, build_messages


class AppInput(ChatInput):
    pass


class App(BaseApp):
    async def setup(self):
        self.model_name = "echo-1"

    async def run(self, input_data: AppInput, metadata) -> AsyncGenerator[LLMOutput, None]:
        settings = input_data.model_settings
        temperature = settings.temperature if settings else None
        max_tokens = settings.max_tokens if settings and settings.max_tokens else 64
        messages = build_messages(input_data)
        metadata.log(f"{self.model_name}: {len(messages)} messages, temperature={temperature}")
        words = f"you said: {input_data.text}".split()[:max_tokens]
        reply = ""
        for word in words:
            reply = f"{reply} {word}".strip()
            yield LLMOutput(response=reply)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        usage = LLMUsage(
            stop_reason="stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(words),
            total_tokens=prompt_tokens + len(words),
        )
        yield LLMOutput(response=reply, usage=usage)

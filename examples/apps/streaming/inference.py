"""Streams cumulative snapshots, the way LLM apps do: each yield carries the whole text so far."""

import asyncio
from collections.abc import AsyncGenerator

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field


class AppInput(BaseAppInput):
    text: str = Field(description="Text to stream back word by word")
    delay: float = Field(default=0.0, ge=0, description="Seconds to wait between words")


class AppOutput(BaseAppOutput):
    text: str = Field(description="The words so far")
    words: int = Field(description="How many words so far")
    done: bool = Field(default=False, description="Whether this is the final output")


class App(BaseApp):
    async def run(self, input_data: AppInput, metadata) -> AsyncGenerator[AppOutput, None]:
        words = input_data.text.split()
        out = AppOutput(text="", words=0)
        for i, word in enumerate(words, start=1):
            out.text = f"{out.text} {word}".strip()
            out.words = i
            metadata.progress(i, len(words))
            # The same object is yielded each time: the runtime snapshots it at every yield.
            yield out
            await asyncio.sleep(input_data.delay)
        out.done = True
        yield out

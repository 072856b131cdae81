"""A chat app written for the published inferencesh 0.36, unchanged.

It imports only names 0.36 publishes, the way a 0.36 author writes them, and the test suite
checks that the same file imports and builds its schemas under the published 0.36.0 package
(``tests/compat/test_app_036_e2e.py``). It has three functions:

* ``run`` (an ``LLMInput`` chat function): a scripted model that streams its reply word by word
  as ``LLMDelta`` token deltas, then returns the whole ``AppOutput`` with ``output_meta``;
* ``plan_clip`` (``@function`` with tool annotations and a credential): plans a video clip and
  bills it with a ``VideoMeta`` at ``VideoResolution.VIDEO_RES480_P``;
* ``openai`` (from ``OpenAIChatMixin``): answers Chat Completions requests through ``run``.
"""

import asyncio
from typing import AsyncGenerator, Optional

from inferencesh import (
    BaseApp,
    BaseAppInput,
    BaseAppOutput,
    BaseAppSetup,
    File,
    LLMInput,
    LLMOutput,
    OutputMeta,
    TextMeta,
    ToolAnnotations,
    VideoMeta,
    VideoResolution,
    function,
)
from inferencesh.models import LLMDelta
from inferencesh.models.llm import LLMUsage
from inferencesh.openai import OpenAIChatMixin
from pydantic import Field

DEFAULT_MODEL = "scripted-036"


class AppSetup(BaseAppSetup):
    greeting: str = Field(default="Hello", description="The first word of every reply")


class AppInput(LLMInput):
    token_delay: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Seconds to wait before each token"
    )


class AppOutput(LLMOutput):
    pass


class ClipInput(BaseAppInput):
    prompt: str = Field(description="What the clip shows")
    seconds: float = Field(default=2.0, ge=0.5, le=10.0, description="Length in seconds")
    quality: Optional[str] = Field(default=None, description="A resolution such as 480p or 720p")
    reference: Optional[File] = Field(default=None, description="An image to start from")


class ClipOutput(BaseAppOutput):
    plan: str = Field(description="The shots of the clip")
    resolution: str = Field(description="The resolution it is billed at")


class App(OpenAIChatMixin, BaseApp):
    async def setup(self, config: AppSetup):
        self.greeting = config.greeting

    async def run(self, input_data: AppInput) -> AsyncGenerator[AppOutput, None]:
        """Reply to the user's text, streaming it token by token."""
        words = f"{self.greeting}! You said: {input_data.text}".split(" ")
        for index, word in enumerate(words):
            await asyncio.sleep(input_data.token_delay)
            yield LLMDelta(response=word if index == 0 else " " + word)
        prompt_tokens = len(input_data.text.split())
        usage = LLMUsage(
            stop_reason="stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(words),
            total_tokens=prompt_tokens + len(words),
        )
        yield AppOutput(
            response=" ".join(words),
            usage=usage,
            output_meta=OutputMeta(
                inputs=[TextMeta(tokens=prompt_tokens)], outputs=[TextMeta(tokens=len(words))]
            ),
        )

    @function(
        annotations=ToolAnnotations(
            title="Plan a clip", readOnlyHint=True, idempotentHint=True, openWorldHint=False
        ),
        credentials=["storyboard.clips.read"],
    )
    async def plan_clip(self, input_data: ClipInput) -> ClipOutput:
        """Plan the shots of a short video clip."""
        resolution = input_data.quality or VideoResolution.VIDEO_RES480_P.value
        shots = max(1, round(input_data.seconds))
        plan = "; ".join(f"shot {i + 1}: {input_data.prompt}" for i in range(shots))
        meta = VideoMeta(
            width=854,
            height=480,
            resolution=input_data.quality or VideoResolution.VIDEO_RES480_P,
            seconds=input_data.seconds,
            fps=24,
        )
        return ClipOutput(plan=plan, resolution=resolution, output_meta=OutputMeta(outputs=[meta]))

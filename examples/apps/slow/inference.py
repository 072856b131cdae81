"""Works for `seconds` in small steps, logging each one; `on_cancel` notes the cancellation."""

import asyncio
import time

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field


class AppInput(BaseAppInput):
    seconds: float = Field(default=30.0, ge=0, description="How long to work")
    step: float = Field(default=0.05, gt=0, description="Seconds per step")


class AppOutput(BaseAppOutput):
    steps: int = Field(description="Steps completed")
    cancel_requests: int = Field(description="on_cancel calls seen so far")


class App(BaseApp):
    async def setup(self):
        self.cancel_requests = 0

    async def unload(self):
        print("slow app unloaded")

    async def on_cancel(self):
        self.cancel_requests += 1
        print("cancel requested")

    async def run(self, input_data: AppInput) -> AppOutput:
        """Sleep on the event loop."""
        steps = 0
        deadline = time.monotonic() + input_data.seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(input_data.step)
            steps += 1
            print(f"step {steps}")
        return AppOutput(steps=steps, cancel_requests=self.cancel_requests)

    def run_sync(self, input_data: AppInput) -> AppOutput:
        """Sleep in a plain (sync) method: runs on the runtime's app thread."""
        steps = 0
        deadline = time.monotonic() + input_data.seconds
        while time.monotonic() < deadline:
            time.sleep(input_data.step)
            steps += 1
            print(f"step {steps}")
        return AppOutput(steps=steps, cancel_requests=self.cancel_requests)

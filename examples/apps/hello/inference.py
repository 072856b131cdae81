"""The structure from the app-code docs, filled in: setup config, input, output, run, unload."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field

from .helpers import process


class AppSetup(BaseAppInput):
    model_id: str = Field(default="gpt2", description="Model to load")


class AppInput(BaseAppInput):
    prompt: str = Field(description="What to generate")
    style: str = Field(default="modern", description="Style to use")
    count: int = Field(default=1, description="How many to generate")


class AppOutput(BaseAppOutput):
    result: str = Field(description="Generated text")
    model_id: str = Field(description="The model the app was set up with")


class App(BaseApp):
    async def setup(self, config: AppSetup):
        # Runs once when the worker starts or the config changes.
        print(f"loading {config.model_id}")
        self.model_id = config.model_id

    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        metadata.log("Processing...")
        result = process(input_data.prompt, input_data.style, input_data.count)
        return AppOutput(result=result, model_id=self.model_id)

    async def unload(self):
        print("unloading")

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field

from .processing import process


class AppInput(BaseAppInput):
    prompt: str = Field(description="What to generate")
    style: str = Field(default="modern", description="Style to use")
    count: int = Field(default=1, description="How many to generate")


class AppOutput(BaseAppOutput):
    result: str = Field(description="Generated text")


class App(BaseApp):
    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        # Log progress
        metadata.log("Processing...")

        # Do work
        result = process(input_data.prompt)

        # Return output
        return AppOutput(result=result)

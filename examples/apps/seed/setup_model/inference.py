from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field


class AppSetup(BaseAppInput):
    model_id: str = Field(default="gpt2", description="Model to load")
    precision: str = Field(default="fp16", description="Model precision")


class AppInput(BaseAppInput):
    prompt: str = Field(default="", description="What to generate")


class AppOutput(BaseAppOutput):
    model: str = Field(description="The loaded model")


class App(BaseApp):
    async def setup(self, config: AppSetup):
        from transformers import AutoModel

        self.model = AutoModel.from_pretrained(config.model_id)

    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        return AppOutput(model=self.model.name)

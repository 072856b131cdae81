from inferencesh import BaseApp
from inferencesh.models import ChatInput, LLMOutput, ModelSettings  # noqa: F401


class AppInput(ChatInput):
    pass


# Callers pass JSON like:
# {"text": "...", "model_settings": {"temperature": 0.7, "max_tokens": 1024}}


class MyInput(ChatInput):
    pass


class App(BaseApp):
    async def run(self, input_data: MyInput, metadata) -> LLMOutput:
        settings = input_data.model_settings
        temperature = settings.temperature if settings else None  # noqa: F841
        ...

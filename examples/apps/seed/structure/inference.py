from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field


class AppSetup(BaseAppInput):
    model_id: str = Field(default="gpt2", description="Model to load")


class AppInput(BaseAppInput):
    # Define inputs here
    pass


class AppOutput(BaseAppOutput):
    # Define outputs here
    pass


class App(BaseApp):
    async def setup(self, config: AppSetup):
        # Runs once when worker starts or config changes
        pass

    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        # Runs for each request
        pass

    async def unload(self):
        # Runs on shutdown
        pass

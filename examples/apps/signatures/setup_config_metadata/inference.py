"""`async setup(self, config, metadata)`, and a `run` without annotations: the runtime falls
back to the module's `AppInput`/`AppOutput`, as older platform kernels did."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup


class AppSetup(BaseAppSetup):
    size: str = "base"


class AppInput(BaseAppInput):
    word: str = "hi"


class AppOutput(BaseAppOutput):
    setup_args: list[str]
    run_args: list[str]


class App(BaseApp):
    async def setup(self, config: AppSetup, metadata):
        self.setup_args = [type(config).__name__, config.size, type(metadata).__name__]

    async def run(self, input, metadata):
        return AppOutput(
            setup_args=self.setup_args,
            run_args=[type(input).__name__, input.word, type(metadata).__name__],
        )

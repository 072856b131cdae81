"""`async setup(self, cfg)` (unannotated: the config, since the module has an AppSetup) and
`async run(self, app_input, meta)`."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup


class AppSetup(BaseAppSetup):
    size: str = "base"


class In(BaseAppInput):
    word: str = "hi"


class Out(BaseAppOutput):
    setup_args: list[str]
    run_args: list[str]


class App(BaseApp):
    async def setup(self, cfg):
        self.setup_args = [type(cfg).__name__, cfg.size]

    async def run(self, app_input: In, meta) -> Out:
        return Out(
            setup_args=self.setup_args,
            run_args=[type(app_input).__name__, app_input.word, type(meta).__name__],
        )

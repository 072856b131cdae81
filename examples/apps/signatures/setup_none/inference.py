"""`setup(self)` and `run(self, input)`, both sync."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput


class In(BaseAppInput):
    word: str = "hi"


class Out(BaseAppOutput):
    setup_args: list[str]
    run_args: list[str]


class App(BaseApp):
    def setup(self):
        self.setup_args = []

    def run(self, x: In) -> Out:
        return Out(setup_args=self.setup_args, run_args=[type(x).__name__, x.word])

"""`setup(self, metadata)` and `run(self, inp, md: Metadata)`, sync, with unusual names."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, Metadata


class In(BaseAppInput):
    word: str = "hi"


class Out(BaseAppOutput):
    setup_args: list[str]
    run_args: list[str]


class App(BaseApp):
    def setup(self, metadata):
        self.setup_args = [type(metadata).__name__, str(metadata.task_id)]

    def run(self, inp: In, md: Metadata) -> Out:
        md.log("run called")
        return Out(
            setup_args=self.setup_args,
            run_args=[type(inp).__name__, inp.word, type(md).__name__, str(md.task_id)],
        )

"""Fails on request, so the runtime's error reporting and recovery can be seen."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup
from pydantic import Field


class AppSetup(BaseAppSetup):
    fail_setup: bool = Field(default=False, description="Raise in setup")


class AppInput(BaseAppInput):
    fail: bool = Field(default=True, description="Raise in run")
    message: str = Field(default="boom", description="The error message")


class AppOutput(BaseAppOutput):
    ok: bool


def explode(message: str) -> None:
    raise ValueError(message)


class App(BaseApp):
    async def setup(self, config: AppSetup):
        if config.fail_setup:
            raise RuntimeError("setup was told to fail")

    async def run(self, input_data: AppInput) -> AppOutput:
        print("about to decide")
        if input_data.fail:
            explode(input_data.message)
        return AppOutput(ok=True)

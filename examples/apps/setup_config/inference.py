"""Counts its setups, so a caller can see when the runtime re-ran setup."""

from typing import Literal

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup, Metadata
from pydantic import Field


class AppSetup(BaseAppSetup):
    model_id: str = Field(default="small", description="Which model to load")
    precision: Literal["fp16", "fp32"] = Field(default="fp16", description="Model precision")


class AppInput(BaseAppInput):
    prompt: str = Field(default="", description="Anything")


class AppOutput(BaseAppOutput):
    model_id: str
    precision: str
    setups: int = Field(description="How many times setup has run in this worker")


class App(BaseApp):
    setups = 0

    def setup(self, config: AppSetup, metadata: Metadata):
        self.setups += 1
        self.config = config
        metadata.log(f"setup #{self.setups}: {config.model_id} ({config.precision})")

    def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(
            model_id=self.config.model_id, precision=self.config.precision, setups=self.setups
        )

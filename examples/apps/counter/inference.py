"""Keeps a value in memory between calls: useful with sessions, where calls share one worker."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field


class ValueOutput(BaseAppOutput):
    value: int = Field(description="The current value")


class GetInput(BaseAppInput):
    pass


class SetInput(BaseAppInput):
    value: int = Field(description="The new value")


class IncrementInput(BaseAppInput):
    by: int = Field(default=1, description="How much to add")


class App(BaseApp):
    async def setup(self):
        self.value = 0

    async def run(self, input_data: GetInput) -> ValueOutput:
        """The current value."""
        return ValueOutput(value=self.value)

    async def get_value(self, input_data: GetInput) -> ValueOutput:
        """The current value."""
        return ValueOutput(value=self.value)

    async def set_value(self, input_data: SetInput) -> ValueOutput:
        """Set the value."""
        self.value = input_data.value
        return ValueOutput(value=self.value)

    async def increment(self, input_data: IncrementInput) -> ValueOutput:
        """Add to the value and return it."""
        self.value += input_data.by
        return ValueOutput(value=self.value)

from pydantic import BaseModel


class GreetInput(BaseModel):
    name: str = "World"


class GreetOutput(BaseModel):
    message: str


class ReverseInput(BaseModel):
    text: str


class ReverseOutput(BaseModel):
    reversed_text: str


class App:
    async def run(self, input_data: GreetInput) -> GreetOutput:
        return GreetOutput(message=f"Hello, {input_data.name}!")

    async def reverse(self, input_data: ReverseInput) -> ReverseOutput:
        return ReverseOutput(reversed_text=input_data.text[::-1])

"""The `process` the docs' run method calls."""


def process(prompt: str) -> str:
    return prompt.upper()

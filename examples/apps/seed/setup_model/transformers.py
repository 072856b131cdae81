"""A stand-in for `transformers`, so the docs' setup snippet runs offline in examples and tests."""


class AutoModel:
    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_pretrained(cls, name: str) -> "AutoModel":
        print(f"loading {name} (stand-in)")
        return cls(name)

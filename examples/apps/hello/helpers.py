"""A sibling module, imported relatively from inference.py."""


def process(prompt: str, style: str, count: int) -> str:
    return " | ".join(f"{style}: {prompt}" for _ in range(count))

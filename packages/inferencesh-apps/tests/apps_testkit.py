"""Helpers of the apps tests: app directories written by a test, run by the real runtime."""

from __future__ import annotations

import textwrap
from pathlib import Path

APP_PRELUDE = """
import asyncio, os, sys, threading, time
from pydantic import BaseModel, Field
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
"""


def app_in(root: Path, body: str, name: str = "app") -> Path:
    app = root / name
    app.mkdir(exist_ok=True)
    (app / "inference.py").write_text(APP_PRELUDE + textwrap.dedent(body))
    return app


# An app that prints at import and construction and reads a file next to its code.
PRINTING_APP = """
print("module level print")
with open("labels.txt") as labels:  # relative: the app's own directory
    LABELS = labels.read().split()

class In(BaseModel):
    x: int = 1

class Out(BaseModel):
    labels: list[str]

class App:
    def __init__(self):
        print("constructor print")

    def run(self, data: In) -> Out:
        return Out(labels=LABELS)

    def unload(self):
        if os.environ.get("FAIL_UNLOAD"):
            raise RuntimeError("unload broke")
"""

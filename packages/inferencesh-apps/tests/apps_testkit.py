"""Helpers of the apps tests: app directories written by a test, run by the real runtime."""

from __future__ import annotations

import http.server
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

S = TypeVar("S", bound=http.server.HTTPServer)


@contextmanager
def serving(httpd: S) -> Iterator[S]:
    """Serve ``httpd`` (bound to 127.0.0.1) from a thread; shut down and closed on exit."""
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


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


# An app whose unload releases what its setup loaded (unload must follow setup only).
SETUP_STATE_APP = """
UNLOADED = []

class In(BaseModel):
    x: int

class Out(BaseModel):
    x: int

class App(BaseApp):
    async def setup(self):
        self.model = "weights"

    async def run(self, input_data: In) -> Out:
        return Out(x=input_data.x)

    async def unload(self):
        del self.model  # what setup loaded
        UNLOADED.append(True)
"""

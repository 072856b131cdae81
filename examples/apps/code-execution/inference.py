"""Run Python code in a separate interpreter (isolated mode, own temp directory, time limit).

This is what ``internal_tools().code_execution(True)`` calls on the local platform. It is NOT a
sandbox: the code can do whatever the user running ``inferencesh dev`` can.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import Field

_LIMIT = 64 * 1024  # characters of output kept per stream


class AppInput(BaseAppInput):
    code: str = Field(description="Python source to run")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds before it is killed")


class AppOutput(BaseAppOutput):
    stdout: str = Field(description="What the code printed")
    stderr: str = Field(description="Errors and warnings")
    exit_code: int = Field(description="The interpreter's exit code (-9 when killed)")
    timed_out: bool = Field(default=False, description="Whether the time limit was hit")


def _clip(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= _LIMIT else text[:_LIMIT] + "\n[output truncated]"


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        with tempfile.TemporaryDirectory() as workdir:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-c",
                input_data.code,
                cwd=workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), input_data.timeout)
                timed_out = False
            except asyncio.TimeoutError:
                proc.kill()
                out, err = await proc.communicate()
                timed_out = True
        code = proc.returncode if proc.returncode is not None else -9
        return AppOutput(stdout=_clip(out), stderr=_clip(err), exit_code=code, timed_out=timed_out)

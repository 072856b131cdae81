"""Apps the local platform's tests run: each exercises one way a worker can misbehave."""

from __future__ import annotations

# A sync `run` stuck in native code (`time.sleep`), which a cancel cannot interrupt.
STUCK_APP = """
import os, time
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    seconds: float = 0

class AppOutput(BaseAppOutput):
    slept: float
    pid: int

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        time.sleep(input_data.seconds)
        return AppOutput(slept=input_data.seconds, pid=os.getpid())
"""


# Records the body of every `POST /cancel` its worker receives and reports them on request.
# The worker runs as `python -m inferencesh.apps.worker`, so its module is `__main__`; the app
# is imported before the worker builds its HTTP app, which lets it wrap that app.
RECORDER_APP = """
import asyncio, json, sys
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

_worker = sys.modules["__main__"]
_make_app = _worker.create_worker_app
CANCELS = []


def _recording(runner, *, shutdown):
    app = _make_app(runner, shutdown=shutdown)

    async def asgi(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/cancel":
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        CANCELS.append(json.loads(body) if body.strip() else None)
        replayed = []

        async def replay():
            if not replayed:
                replayed.append(True)
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await app(scope, replay, send)

    return asgi


_worker.create_worker_app = _recording


class AppInput(BaseAppInput):
    seconds: float = 0


class AppOutput(BaseAppOutput):
    cancels: list


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        await asyncio.sleep(input_data.seconds)
        return AppOutput(cancels=CANCELS)
"""

# Cuts every TCP connection of its worker (the listening socket stays): the process lives on
# and answers new requests, but the run's stream to the platform is broken mid-way.
SEVER_APP = """
import os, socket, stat
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    sever: bool = False

class AppOutput(BaseAppOutput):
    pid: int

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        if input_data.sever:
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                try:
                    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                        continue
                    sock = socket.socket(fileno=os.dup(fd))
                except OSError:
                    continue
                try:
                    sock.getpeername()  # connected: not the listening socket
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    sock.close()
        return AppOutput(pid=os.getpid())
"""

# Returns two output files; the second does not exist, so storing it fails.
TWO_FILES_APP = """
import tempfile
from pathlib import Path
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    pass

class AppOutput(BaseAppOutput):
    first: dict
    second: dict

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        folder = Path(tempfile.mkdtemp())
        (folder / "first.txt").write_text("stored first")
        return AppOutput(
            first={"path": str(folder / "first.txt")},
            second={"path": str(folder / "missing.txt")},
        )
"""


# Echoes its input into its output (so every file it is given is both read and written),
# with its code's VERSION and its worker's pid; with `hold`, waits until that file exists.
# Its `unload` takes UNLOAD seconds and then leaves a marker naming its pid.
ECHO_SOURCE = """\
import asyncio
import os
from pathlib import Path
from typing import Any

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

VERSION = "{version}"
UNLOAD = {unload}


class AppInput(BaseAppInput):
    hold: str = ""
    refs: Any = None


class AppOutput(BaseAppOutput):
    version: str
    pid: int
    echo: Any = None


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        while input_data.hold and not Path(input_data.hold).exists():
            await asyncio.sleep(0.02)
        return AppOutput(version=VERSION, pid=os.getpid(), echo=input_data.refs)

    async def unload(self) -> None:
        await asyncio.sleep(UNLOAD)
        Path(__file__).with_name(f"unloaded-{{os.getpid()}}").write_text("done")
"""


def echo_source(version: str, unload: float = 0.0) -> str:
    return ECHO_SOURCE.format(version=version, unload=unload)

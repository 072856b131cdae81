"""What the runtime keeps from one call to the next (the setup it found valid, its capture
routers) and what every call must still get afresh: validation of a new setup, its own logs,
the process's own streams outside runs, and ``Metadata`` where a method asks for it."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import textwrap
from pathlib import Path

import pytest
from inferencesh.apps.runtime import AppRunner

HEADER = """
import asyncio, logging, sys
from pydantic import BaseModel, field_validator
from inferencesh import Metadata
"""

COUNTING_SETUP_APP = """
VALIDATED = []
SETUPS = []

class Config(BaseModel):
    size: int = 1
    fail: bool = False

    @field_validator("size")
    @classmethod
    def _count(cls, value: int) -> int:
        VALIDATED.append(value)
        return value

class In(BaseModel):
    x: int = 0

class Out(BaseModel):
    size: int

class App:
    async def setup(self, config: Config) -> None:
        SETUPS.append(config.size)
        if config.fail:
            raise RuntimeError("told to fail")
        self.size = config.size

    async def run(self, data: In) -> Out:
        return Out(size=self.size)
"""


def runner_for(tmp_path: Path, body: str) -> AppRunner:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "inference.py").write_text(HEADER + textwrap.dedent(body))
    return AppRunner.from_dir(app)


async def test_the_same_setup_request_is_validated_once_and_a_new_one_again(
    tmp_path: Path,
) -> None:
    runner = runner_for(tmp_path, COUNTING_SETUP_APP)
    module = runner.app.module
    for _ in range(3):
        assert (await runner.run({}, setup={"size": 2})).output == {"size": 2}
    assert module.VALIDATED == [2]
    assert module.SETUPS == [2]
    # Another request: validated, and set up again.
    assert (await runner.run({}, setup={"size": 3})).output == {"size": 3}
    assert (module.VALIDATED, module.SETUPS) == ([2, 3], [2, 3])
    # Back to the first: the cache holds only the current setup, so it is validated again.
    assert (await runner.run({}, setup={"size": 2})).output == {"size": 2}
    assert (module.VALIDATED, module.SETUPS) == ([2, 3, 2], [2, 3, 2])
    # A different request for the same config: validated, but not set up again.
    assert (await runner.run({}, setup={"size": 2, "fail": False})).output == {"size": 2}
    assert (module.VALIDATED, module.SETUPS) == ([2, 3, 2, 2], [2, 3, 2])
    await runner.unload()


async def test_a_failed_setup_request_is_validated_and_tried_again(tmp_path: Path) -> None:
    runner = runner_for(tmp_path, COUNTING_SETUP_APP)
    module = runner.app.module
    for _ in range(2):
        error = (await runner.run({}, setup={"size": 5, "fail": True})).error
        assert error is not None and error["kind"] == "setup"
    assert (module.VALIDATED, module.SETUPS) == ([5, 5], [5, 5])
    assert runner.status == "setup_failed"
    await runner.unload()


async def test_an_invalid_setup_is_refused_on_every_call(tmp_path: Path) -> None:
    runner = runner_for(tmp_path, COUNTING_SETUP_APP)
    for _ in range(2):
        error = (await runner.run({}, setup={"size": "big"})).error
        assert error is not None and error["kind"] == "validation"
    assert runner.app.module.SETUPS == []
    await runner.unload()


LOGGING_APP = """
log = logging.getLogger("reuse.app")
STREAMS = []

class In(BaseModel):
    tag: str
    wait: float = 0

class Out(BaseModel):
    ok: bool = True

class App:
    async def run(self, data: In) -> Out:
        STREAMS.append(sys.stdout)
        print(f"print {data.tag}")
        log.warning("log %s", data.tag)
        await asyncio.sleep(data.wait)
        return Out()
"""


async def test_consecutive_runs_keep_their_own_logs_and_restore_the_streams(
    tmp_path: Path,
) -> None:
    runner = runner_for(tmp_path, LOGGING_APP)
    stdout, stderr = sys.stdout, sys.stderr
    handlers = list(logging.getLogger().handlers)
    for tag in ("one", "two", "three"):
        result = await runner.run({"tag": tag})
        assert result.logs("run") == [f"print {tag}", f"WARNING reuse.app: log {tag}"]
        assert (sys.stdout, sys.stderr) == (stdout, stderr)
        assert logging.getLogger().handlers == handlers
    # The stdout router was made once and swapped in for each run.
    streams = runner.app.module.STREAMS
    assert streams[0] is not stdout and all(stream is streams[0] for stream in streams)
    await runner.unload()


async def test_a_stream_swapped_between_runs_gets_what_is_not_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The router made for the first run is reused only over the stream it was made for.
    runner = runner_for(tmp_path, LOGGING_APP)
    first = io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    assert (await runner.run({"tag": "one"})).logs("run")[0] == "print one"
    second = io.StringIO()
    monkeypatch.setattr(sys, "stdout", second)
    handle = runner.start({"tag": "two", "wait": 0.2})
    await asyncio.sleep(0.05)  # the run is in flight, its routers in place
    print("from outside the run")
    result = await handle.result()
    assert sys.stdout is second
    assert result.logs("run")[0] == "print two"
    assert "from outside the run" not in result.logs()
    assert second.getvalue() == "from outside the run\n"
    assert first.getvalue() == ""
    await runner.unload()


async def test_metadata_reaches_setup_and_run_by_position_and_keyword(tmp_path: Path) -> None:
    # Metadata is only made for a method that takes it: each way of taking it still gets it.
    runner = runner_for(
        tmp_path,
        """
        class In(BaseModel):
            x: int = 0

        class Out(BaseModel):
            seen: list

        class App:
            async def setup(self, metadata: Metadata) -> None:
                metadata.log("setup for", metadata.task_id)
                self.seen = [metadata.task_id]

            async def run(self, data: In, metadata: Metadata) -> Out:
                metadata.log("run for", metadata.task_id)
                return Out(seen=[*self.seen, metadata.task_id])

            async def keyword(self, data: In, *, metadata: Metadata) -> Out:
                return Out(seen=[metadata.task_id])

            async def none(self, data: In) -> Out:
                return Out(seen=[])
        """,
    )
    result = await runner.run({}, metadata={"task_id": "t1"})
    assert result.output == {"seen": ["t1", "t1"]}
    assert result.logs("setup") == ["setup for t1"]
    assert result.logs("run") == ["run for t1"]
    result = await runner.run({}, function="keyword", metadata={"task_id": "t2"})
    assert result.output == {"seen": ["t2"]}
    assert (await runner.run({}, function="none")).output == {"seen": []}
    await runner.unload()


async def test_setup_requests_that_json_or_equality_alone_would_confuse_are_told_apart(
    tmp_path: Path,
) -> None:
    # 1 == True and NaN encodes as null: each is a new request, validated and set up again.
    runner = runner_for(
        tmp_path,
        """
        from typing import Any, Optional

        class Config(BaseModel):
            value: Any = None

        class In(BaseModel):
            x: int = 0

        class Out(BaseModel):
            value: Optional[str]

        class App:
            async def setup(self, config: Config) -> None:
                self.value = repr(config.value)

            async def run(self, data: In) -> Out:
                return Out(value=self.value)
        """,
    )
    for value, shown in ((1, "1"), (True, "True"), (float("nan"), "nan"), (None, "None")):
        result = await runner.run({}, setup={"value": value})
        assert result.output == {"value": shown}
    await runner.unload()

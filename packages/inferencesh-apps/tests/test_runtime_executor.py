"""The runtime in-process: setup per config, calls, outputs, errors, logs and cancellation."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from apps_testkit import SETUP_STATE_APP, app_in
from inferencesh.apps.runtime import AppRunner, BusyError, RunResult

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"
# File's download cache in each test's own folder (conftest.py).
pytestmark = pytest.mark.usefixtures("file_cache")

HEADER = """
import asyncio, logging, sys, threading, time
from collections.abc import AsyncGenerator, Iterator
from typing import Any, Optional
from pydantic import BaseModel, Field
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, Metadata
"""


def runner_for(tmp_path: Path, body: str) -> AppRunner:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "inference.py").write_text(HEADER + textwrap.dedent(body))
    return AppRunner.from_dir(app)


def kinds(result: RunResult) -> list[str]:
    return [e["type"] if e["type"] != "status" else e["status"] for e in result.events]


async def test_setup_once_per_distinct_config() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "setup_config")
    first = await runner.run({})
    assert kinds(first)[:3] == ["setting_up", "log", "running"]
    assert first.logs("setup") == ["setup #1: small (fp16)"]
    assert first.output == {"model_id": "small", "precision": "fp16", "setups": 1}
    # Defaults spelled out are the same config.
    same = await runner.run({}, setup={"model_id": "small", "precision": "fp16"})
    assert "setting_up" not in kinds(same)
    assert same.output is not None and same.output["setups"] == 1
    changed = await runner.run({}, setup={"precision": "fp32"})
    assert changed.output == {"model_id": "small", "precision": "fp32", "setups": 2}
    assert runner.setup_config == {"model_id": "small", "precision": "fp32"}
    back = await runner.run({})
    assert back.output is not None and back.output["setups"] == 3
    await runner.unload()


async def test_app_without_setup_never_reports_setting_up() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "multi_function")
    result = await runner.run({"name": "x"})
    assert kinds(result) == ["running", "result"]
    assert runner.setup_config == {}
    await runner.unload()


async def test_async_generator_yields_partials_then_final() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "streaming")
    result = await runner.run({"text": "a b"})
    assert result.partial_outputs == [
        {"text": "a", "words": 1, "done": False},
        {"text": "a b", "words": 2, "done": False},
    ]
    assert result.output == {"text": "a b", "words": 2, "done": True}
    await runner.unload()


async def test_sync_generator_and_return_forms(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class Out(BaseModel):
            n: int = 0

        class In(BaseModel):
            mode: str

        class App:
            def run(self, data: In) -> Iterator[Out]:
                for i in range(3):
                    yield Out(n=i)

            def as_dict(self, data: In) -> Out:
                return {"n": 7}

            def as_none(self, data: In) -> Out:
                return None

            def wrong(self, data: In) -> Out:
                return 5

            async def empty(self, data: In) -> AsyncGenerator[Out, None]:
                if False:
                    yield Out()
        """,
    )
    gen = await runner.run({"mode": "x"})
    assert gen.partial_outputs == [{"n": 0}, {"n": 1}]
    assert gen.output == {"n": 2}
    assert (await runner.run({"mode": "x"}, function="as_dict")).output == {"n": 7}
    # None is read as an output with every field at its default.
    assert (await runner.run({"mode": "x"}, function="as_none")).output == {"n": 0}
    wrong = await runner.run({"mode": "x"}, function="wrong")
    assert wrong.error is not None
    assert wrong.error["error"] == "TypeError: `wrong` returned int; expected Out"
    empty = await runner.run({"mode": "x"}, function="empty")
    assert empty.error is not None
    assert "yielded nothing" in empty.error["error"]
    await runner.unload()


async def test_none_output_with_required_fields_names_them() -> None:
    runner_dir = EXAMPLES / "hello"
    runner = AppRunner.from_dir(runner_dir)
    instance = runner.instance

    async def returns_none(input_data: Any, metadata: Any) -> None:
        return None

    instance.run = returns_none
    result = await runner.run({"prompt": "x"})
    assert result.error is not None
    assert result.error["error"] == (
        "TypeError: `run` returned None, but AppOutput requires: result, model_id"
    )
    await runner.unload()


async def test_validation_messages_name_nested_paths() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "chat_llm")
    result = await runner.run(
        {"text": "hi", "context": [{"role": "wizard"}], "model_settings": {"temperature": 9}}
    )
    assert result.error is not None
    assert result.error["kind"] == "validation"
    message = result.error["error"]
    assert message.startswith("invalid input: ")
    assert "context[0].role: Input should be" in message
    assert "model_settings.temperature: Input should be less than or equal to 2 (got 9)" in message
    not_object = await runner.run(["a list"])
    assert not_object.error == {
        "type": "error",
        "kind": "validation",
        "error": "invalid input: expected a JSON object, got an array",
    }
    await runner.unload()


async def test_exception_gives_traceback_in_logs_and_runner_stays_usable() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "failing")
    failed = await runner.run({"fail": True, "message": "nope"})
    assert failed.error is not None
    assert failed.error["kind"] == "app"
    assert failed.error["error"] == "ValueError: nope"
    assert failed.error["traceback"].startswith("Traceback (most recent call last):")
    assert 'inference.py", line' in failed.error["traceback"]
    assert failed.logs("run")[-1] == failed.error["traceback"]
    assert runner.status == "idle"
    ok = await runner.run({"fail": False})
    assert ok.output == {"ok": True}
    await runner.unload()


async def test_sys_exit_in_app_code_fails_only_the_call(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class M(BaseModel):
            code: int = 0

        class App:
            def run(self, data: M) -> M:
                if data.code:
                    sys.exit(data.code)
                return data

            async def run_async(self, data: M) -> M:
                raise SystemExit(data.code)
        """,
    )
    for function in ("run", "run_async"):
        failed = await runner.run({"code": 3}, function=function)
        assert failed.error is not None
        assert failed.error["error"] == "SystemExit: 3"
    assert (await runner.run({})).output == {"code": 0}
    await runner.unload()


async def test_setup_failure_sets_status_and_next_run_retries() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "failing")
    failed = await runner.run({"fail": False}, setup={"fail_setup": True})
    assert failed.error is not None
    assert failed.error["kind"] == "setup"
    assert runner.status == "setup_failed"
    assert runner.setup_config is None
    ok = await runner.run({"fail": False})
    assert ok.output == {"ok": True}
    assert runner.status == "idle"
    await runner.unload()


async def test_logs_are_captured_per_run_from_every_source(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class In(BaseModel):
            tag: str

        class Out(BaseModel):
            ok: bool = True

        log = logging.getLogger("my.app")

        class App:
            def run(self, data: In, metadata) -> Out:
                print(f"stdout {data.tag}")
                print(f"stderr {data.tag}", file=sys.stderr)
                sys.stdout.write("partial ")
                sys.stdout.write("line\\n")
                log.warning("logging %s", data.tag)
                metadata.log("metadata", data.tag)
                t = threading.Thread(target=lambda: print(f"thread {data.tag}"))
                t.start()
                t.join()
                for percent in (10, 50, 100):
                    sys.stderr.write(f"\\rprogress {percent}%")
                sys.stderr.write("\\n")
                assert sys.stdout.buffer is not None and sys.stdout.isatty() is False
                print("no newline at the end", end="")
                return Out()

            async def async_fn(self, data: In) -> Out:
                print(f"async {data.tag}")
                await asyncio.create_task(asyncio.sleep(0))
                async def inner():
                    print(f"task {data.tag}")
                await asyncio.create_task(inner())
                return Out()
        """,
    )
    one = await runner.run({"tag": "one"})
    assert one.logs("run") == [
        "stdout one",
        "stderr one",
        "partial line",
        "WARNING my.app: logging one",
        "metadata one",
        "thread one",
        "progress 100%",
        "no newline at the end",
    ]
    two = await runner.run({"tag": "two"}, function="async_fn")
    assert two.logs() == ["async two", "task two"]
    await runner.unload()


async def test_output_outside_runs_is_not_captured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = runner_for(
        tmp_path,
        """
        class M(BaseModel):
            v: int = 0

        class App:
            async def run(self, data: M) -> M:
                await asyncio.sleep(0.05)
                return data
        """,
    )
    handle = runner.start({})
    print("from the caller while the app runs")
    result = await handle.result()
    assert result.logs() == []
    assert "from the caller while the app runs" in capsys.readouterr().out
    await runner.unload()


async def test_busy_and_cancel_of_async_run() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "slow")
    handle = runner.start({"seconds": 30})
    with pytest.raises(BusyError):
        runner.start({"seconds": 0})
    await asyncio.sleep(0.2)
    assert runner.status == "busy"
    assert await runner.cancel() is True
    result = await asyncio.wait_for(handle.result(), 5)
    assert result.error is not None
    assert result.error["kind"] == "cancelled"
    assert "cancel requested" in result.logs()
    assert runner.status == "idle"
    assert await runner.cancel() is False
    after = await runner.run({"seconds": 0})
    assert after.output == {"steps": 0, "cancel_requests": 1}
    await runner.unload()


async def test_cancel_interrupts_sync_code_even_with_except_exception(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class M(BaseModel):
            v: int = 0

        class App:
            def setup(self):
                self.thread = threading.get_ident()

            def run(self, data: M) -> M:
                assert threading.get_ident() == self.thread  # same thread as setup
                while True:
                    try:
                        time.sleep(0.01)
                    except Exception:
                        print("swallowed")  # never: cancellation is a BaseException
        """,
    )
    handle = runner.start({})
    await asyncio.sleep(0.3)
    assert await handle.cancel() is True
    result = await asyncio.wait_for(handle.result(), 5)
    assert result.error is not None
    assert result.error["kind"] == "cancelled"
    assert "swallowed" not in result.logs()
    assert runner.status == "idle"
    await runner.unload()


async def test_reader_going_away_cancels_the_run() -> None:
    runner = AppRunner.from_dir(EXAMPLES / "slow")
    handle = runner.start({"seconds": 30})
    events = handle.__aiter__()
    assert (await anext(events))["type"] == "status"
    await events.aclose()
    result = await asyncio.wait_for(handle.result(), 5)
    assert result.error is not None
    assert result.error["kind"] == "cancelled"
    await runner.unload()


async def test_unload_cancels_in_flight_run_and_calls_unload(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class M(BaseModel):
            v: int = 0

        UNLOADED = []

        class App:
            async def run(self, data: M) -> M:
                await asyncio.sleep(30)
                return data

            def unload(self):
                UNLOADED.append(True)
        """,
    )
    handle = runner.start({})
    await asyncio.sleep(0.05)
    await asyncio.wait_for(runner.unload(), 5)
    assert handle.done
    assert runner.app.module.UNLOADED == [True]
    with pytest.raises(RuntimeError, match="unloaded"):
        runner.start({})
    await runner.unload()  # idempotent
    assert runner.app.module.UNLOADED == [True]


async def test_metadata_reaches_the_app(tmp_path: Path) -> None:
    runner = runner_for(
        tmp_path,
        """
        class M(BaseModel):
            v: int = 0

        class Out(BaseModel):
            task_id: str
            extra: str

        class App:
            async def run(self, data: M, metadata: Metadata) -> Out:
                return Out(task_id=metadata.task_id, extra=metadata.custom)
        """,
    )
    result = await runner.run({}, metadata={"task_id": "t9", "custom": "yes"})
    assert result.output == {"task_id": "t9", "extra": "yes"}
    await runner.unload()


async def test_app_setup_file_inputs_and_run_file_inputs_resolve(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hi")
    runner = AppRunner.from_dir(EXAMPLES / "files")
    result = await runner.run({"document": str(source)})
    assert result.output is not None
    assert Path(result.output["upper"]["path"]).read_text() == "HI"
    missing = await runner.run({"document": str(tmp_path / "absent.txt")})
    assert missing.error is not None
    assert missing.error["kind"] == "validation"
    assert "document" in missing.error["error"]
    await runner.unload()


# -- exceptions from app code, outputs naming missing files, cancel and unload ---------------


_RAISING_APP = """
class Stop(BaseException):
    pass

class In(BaseModel):
    kind: str = "ok"

class Out(BaseModel):
    ok: bool = True

def boom(kind):
    if kind == "interrupt":
        raise KeyboardInterrupt("from the app")
    if kind == "base":
        raise Stop("custom base exception")

class App:
    def run(self, data: In) -> Out:
        boom(data.kind)
        return Out()

    async def arun(self, data: In) -> Out:
        boom(data.kind)
        return Out()

    async def agen(self, data: In) -> Out:
        yield Out(ok=False)
        boom(data.kind)
        yield Out()
"""


@pytest.mark.parametrize("function", ["run", "arun", "agen"])
@pytest.mark.parametrize(
    ("kind", "message"),
    [("interrupt", "KeyboardInterrupt: from the app"), ("base", "Stop: custom base exception")],
)
async def test_base_exceptions_raised_by_app_code_fail_only_that_run(
    tmp_path: Path, function: str, kind: str, message: str
) -> None:
    # Before: a KeyboardInterrupt escaped the runner's task and stopped the event loop (the
    # worker with it); other BaseExceptions read "internal runtime error" with no traceback.
    runner = AppRunner.from_dir(app_in(tmp_path, _RAISING_APP))
    failed = await runner.run({"kind": kind}, function=function)
    assert failed.error is not None
    assert failed.error["kind"] == "app"
    assert failed.error["error"] == message
    assert "in boom" in failed.error.get("traceback", "")
    assert any(message in line for line in failed.logs("run"))
    ok = await runner.run({"kind": "ok"}, function=function)
    assert ok.output == {"ok": True}
    await runner.unload()


async def test_a_base_exception_in_setup_fails_setup_and_the_next_run_retries(
    tmp_path: Path,
) -> None:
    app = app_in(
        tmp_path,
        """
        class AppSetup(BaseModel):
            fail: bool = False

        class In(BaseModel):
            x: int = 1

        class Out(BaseModel):
            x: int

        class App:
            def setup(self, config: AppSetup):
                if config.fail:
                    raise KeyboardInterrupt("setup interrupted")

            def run(self, data: In) -> Out:
                return Out(x=data.x)
        """,
    )
    runner = AppRunner.from_dir(app)
    failed = await runner.run({}, setup={"fail": True})
    assert failed.error is not None
    assert failed.error["kind"] == "setup"
    assert failed.error["error"] == "setup failed: KeyboardInterrupt: setup interrupted"
    assert runner.status == "setup_failed"
    ok = await runner.run({"x": 2})
    assert ok.output == {"x": 2}
    await runner.unload()


async def test_an_output_file_that_does_not_exist_fails_the_run_naming_the_field(
    tmp_path: Path,
) -> None:
    app = app_in(
        tmp_path,
        """
        import tempfile

        class In(BaseModel):
            keep: bool = False

        class Out(BaseAppOutput):
            files: list[File]

        class App(BaseApp):
            async def run(self, input_data: In) -> Out:
                with tempfile.TemporaryDirectory() as folder:
                    path = os.path.join(folder, "out.txt")
                    with open(path, "w") as handle:
                        handle.write("x")
                    if input_data.keep:
                        kept = os.path.join(os.path.dirname(__file__), "kept.txt")
                        os.replace(path, kept)
                        path = kept
                # Written in a temporary directory that is gone by now (unless kept).
                return Out(files=[File(path=path)])
        """,
    )
    runner = AppRunner.from_dir(app)
    failed = await runner.run({})
    assert failed.error is not None
    assert failed.error["kind"] == "app"
    assert failed.error["error"].startswith(
        "FileNotFoundError: the app returned a file that does not exist (`run`, output field "
        "'files[0]'): "
    )
    assert failed.error["error"].endswith("out.txt")
    ok = await runner.run({"keep": True}, metadata={"task_id": "t"})
    assert ok.output is not None
    assert ok.output["files"][0]["path"].endswith("kept.txt")
    await runner.unload()


async def test_on_cancel_raising_a_base_exception_still_cancels_the_run(tmp_path: Path) -> None:
    app = app_in(
        tmp_path,
        """
        class In(BaseModel):
            seconds: float = 5

        class Out(BaseModel):
            ok: bool = True

        class App:
            async def run(self, data: In) -> Out:
                await asyncio.sleep(data.seconds)
                return Out()

            async def on_cancel(self):
                raise SystemExit("on_cancel exits")
        """,
    )
    runner = AppRunner.from_dir(app)
    handle = runner.start({})
    async for event in handle:
        if event["type"] == "status" and event["status"] == "running":
            break
    # Before: the SystemExit escaped `cancel()` and the run went on to the end.
    assert await handle.cancel() is True
    result = await handle.result()
    assert result.error is not None
    assert result.error["kind"] == "cancelled"
    assert "on_cancel failed: SystemExit: on_cancel exits" in result.logs()
    assert (await runner.run({"seconds": 0})).output == {"ok": True}
    await runner.unload()


async def test_a_bad_data_uri_names_its_input_field(tmp_path: Path) -> None:
    app = app_in(
        tmp_path,
        """
        class In(BaseModel):
            docs: list[File]

        class Out(BaseModel):
            n: int

        class App:
            def run(self, data: In) -> Out:
                return Out(n=len(data.docs))
        """,
    )
    runner = AppRunner.from_dir(app)
    result = await runner.run(
        {"docs": ["data:text/plain;base64,aGk=", "data:text/plain;base64,a!!"]}
    )
    assert result.error is not None
    assert result.error["kind"] == "validation"
    # Before: the message did not say which field held the bad data: URI.
    assert result.error["error"].startswith("invalid input: invalid base64 in data: URI")
    assert result.error["error"].endswith("(field 'docs[1]')")
    await runner.unload()


async def test_unload_follows_setup_only(tmp_path: Path) -> None:
    # Before: unload ran even when setup never had (the first input was invalid, or no call came
    # at all), so an unload releasing what setup loaded failed with an AttributeError.
    app = app_in(tmp_path, SETUP_STATE_APP)
    idle = AppRunner.from_dir(app)
    await idle.unload()
    assert idle.app.module.UNLOADED == []
    invalid = AppRunner.from_dir(app)
    assert (await invalid.run({"x": "many"})).error is not None
    await invalid.unload()
    assert invalid.app.module.UNLOADED == []
    used = AppRunner.from_dir(app)
    assert (await used.run({"x": 1})).output == {"x": 1}
    await used.unload()
    assert used.app.module.UNLOADED == [True]
    # An app without a setup of its own is unloaded whatever happened.
    plain = AppRunner.from_dir(
        app_in(tmp_path, SETUP_STATE_APP.replace("setup(self)", "prepare(self)"), name="plain")
    )
    plain.instance.model = "from __init__"
    await plain.unload()
    assert plain.app.module.UNLOADED == [True]

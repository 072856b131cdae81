"""The ``inferencesh app`` command group (registered via an entry point; ``inferencesh dev`` is
inferencesh-platform's, in ``inferencesh.platform.cli``).

``inferencesh app init NAME``            scaffold a working app
``inferencesh app test [DIR] --input ..``  run it locally through the runtime
``inferencesh app schema [DIR]``         write its schema files
``inferencesh app serve [DIR]``          serve it as a worker (``docs/worker.md``)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the runtime is imported by the commands that need it, keeping --help fast
    from inferencesh.apps.runtime import AppRunner, RunEvent
    from inferencesh.core.progress import ProgressBar

__all__ = ["register_app"]


class _UsageError(Exception):
    """A bad command line; the message says which option and why."""


def register_app(commands: Any) -> None:
    """Add ``inferencesh app ...``: scaffold, test, schema and serve apps."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "app", help="author and run apps locally", description="Author and run apps locally."
    )
    sub = parser.add_subparsers(title="app commands", metavar="COMMAND")
    parser.set_defaults(func=lambda args: _help(parser))

    init = sub.add_parser("init", help="scaffold a new app directory")
    init.add_argument("name", help="the app's name; the directory is created here")
    init.set_defaults(func=_cmd_init)

    test = sub.add_parser(
        "test",
        help="run an app locally and print its logs and output",
        description="Run the app through the runtime: logs stream to stderr as they come, the "
        "output JSON goes to stdout; output files are copied into a new temp dir before the app "
        "is unloaded and the output names the copies. Input files given as URLs are "
        "downloaded first, with a progress bar when stderr is a terminal. Exits 1 when the run "
        "fails.",
    )
    test.add_argument("dir", nargs="?", default=".", help="the app directory (default: .)")
    test.add_argument(
        "--input", "-i", help="input as JSON, or a JSON file path (default: DIR/input.json)"
    )
    test.add_argument("--setup", "-s", help="setup config as JSON, or a JSON file path")
    test.add_argument("--function", "-f", help="the function to call (default: the app's default)")
    test.add_argument(
        "--frames",
        help='a stream function\'s frames, one JSON per line: {"text": ...}, {"json": ...}, '
        '{"binary": BASE64} or {"hex": ...}; what it sends back goes to stderr',
    )
    test.set_defaults(func=_cmd_test)

    schema = sub.add_parser("schema", help="write the app's JSON schema files")
    schema.add_argument("dir", nargs="?", default=".", help="the app directory (default: .)")
    schema.set_defaults(func=_cmd_schema)

    serve = sub.add_parser(
        "serve", help="serve the app over HTTP on loopback (the worker)", description=None
    )
    serve.add_argument("dir", nargs="?", default=".", help="the app directory (default: .)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument("--port", "-p", type=int, default=0, help="port (default 0: a free one)")
    serve.add_argument("--ready-file", help="write {port, pid} here once listening")
    serve.set_defaults(func=_cmd_serve)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


# -- init -------------------------------------------------------------------------------------

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")

_INF_YML = """\
name: {name}
description: A new inference.sh app.
category: other
kernel: python-3.11
resources:
  gpu:
    count: 0
    type: none
  ram: 1
"""

_INFERENCE_PY = '''\
"""{name}: an inference.sh app. Edit the models and `run`, then `inferencesh app test`."""

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup
from pydantic import Field


class AppSetup(BaseAppSetup):
    greeting: str = Field(default="Hello", description="How to greet; changing it re-runs setup")


class AppInput(BaseAppInput):
    name: str = Field(description="Who to greet")
    times: int = Field(default=1, ge=1, le=10, description="How many times")


class AppOutput(BaseAppOutput):
    message: str = Field(description="The greeting")


class App(BaseApp):
    async def setup(self, config: AppSetup):
        # Load models and other heavy resources here: this runs once per setup config.
        self.greeting = config.greeting

    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        metadata.log(f"greeting {{input_data.name}}")
        message = " ".join([f"{{self.greeting}}, {{input_data.name}}!"] * input_data.times)
        return AppOutput(message=message)

    async def unload(self):
        # Release what setup loaded.
        pass
'''

_INPUT_JSON = '{"name": "World", "times": 1}\n'
_REQUIREMENTS = "inferencesh-apps\n"
_GITIGNORE = "__pycache__/\n.infsh/\n"


def _cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.name)
    name = target.resolve().name  # `init .` names the app after the current directory
    if not _NAME.match(name):
        return _fail(
            f"invalid app name {name!r}: use letters, digits, '-' and '_', starting with a "
            "letter or digit"
        )
    files = {
        "inf.yml": _INF_YML.format(name=name),
        "inference.py": _INFERENCE_PY.format(name=name),
        "requirements.txt": _REQUIREMENTS,
        "input.json": _INPUT_JSON,
        ".gitignore": _GITIGNORE,
    }
    # Hidden entries (`.git` from `git init`, `.venv`, editor folders) do not make a folder taken,
    # unless the scaffold would overwrite one.
    if target.exists() and (
        not target.is_dir()
        or any(not p.name.startswith(".") or p.name in files for p in target.iterdir())
    ):
        return _fail(f"{target} already exists and is not an empty directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for filename, content in files.items():
            (target / filename).write_text(content, encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot create {target}: {exc.strerror or exc}")
    print(f"created {target}/ with {', '.join(files)}")
    print(f"next: inferencesh app test {target}")
    return 0


# -- test -------------------------------------------------------------------------------------


def _json_arg(value: str, flag: str) -> Any:
    """Parse ``value`` as inline JSON, or read it from the file it names (``@file`` works too)."""
    stripped = value.strip()
    if stripped.startswith(("{", "[")):
        text, source = stripped, "the argument"
    else:
        path = Path(value[1:] if value.startswith("@") else value).expanduser()
        if not path.is_file():
            try:  # a JSON scalar (`42`, `"text"`): the runtime says what it expected instead
                return json.loads(stripped)
            except json.JSONDecodeError:
                pass
            raise _UsageError(f"{flag} {value!r} is neither JSON nor an existing file")
        source = str(path)
        try:
            # utf-8-sig: editors on Windows start JSON files with a byte order mark.
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _UsageError(
                f"{flag}: {path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        except OSError as exc:
            raise _UsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _UsageError(
            f"{flag}: invalid JSON in {source}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    """Work in ``path`` (when it is a directory: loading reports a missing one)."""
    if not path.is_dir():
        yield
        return
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[TextIO]:
    """Send what is written to stdout to stderr instead, file descriptor 1 included (child
    processes, C extensions); yields a stream on the real stdout for the output alone."""
    stdout = sys.stdout
    try:
        fd = stdout.fileno()
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1  # not a real file (captured by a test harness): Python-level redirection only
    if fd < 0:
        with contextlib.redirect_stdout(sys.stderr):
            yield stdout
        return
    stdout.flush()
    saved = os.dup(fd)
    real = open(  # noqa: SIM115 - closed below, after fd 1 is restored
        saved, "w", encoding=stdout.encoding, errors=stdout.errors, closefd=False
    )
    os.dup2(stderr_fd, fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield real
    finally:
        real.flush()
        sys.stderr.flush()
        os.dup2(saved, fd)
        real.close()
        os.close(saved)


def _download_bar(url: str) -> ProgressBar:
    """The progress bar of one input download (draws on a terminal only)."""
    from inferencesh.apps.file import _url_basename
    from inferencesh.core.progress import ProgressBar

    return ProgressBar(f"downloading {_url_basename(url) or url}", stream=sys.stderr)


def _cmd_test(args: argparse.Namespace) -> int:
    from inferencesh.apps.file import download_progress
    from inferencesh.apps.runtime import AppLoadError, AppRunner

    app_dir = Path(args.dir).expanduser().resolve()
    try:
        if args.input is not None:
            input_value = _json_arg(args.input, "--input")
        elif (app_dir / "input.json").is_file():
            input_value = _json_arg(str(app_dir / "input.json"), "input.json")
        else:
            raise _UsageError(f"no input: pass --input JSON|FILE or create {app_dir}/input.json")
        setup = _json_arg(args.setup, "--setup") if args.setup is not None else None
        if setup is not None and not isinstance(setup, dict):
            raise _UsageError("--setup must be a JSON object")
        socket = _frames_socket(args.frames) if args.frames is not None else None
    except _UsageError as exc:
        return _fail(str(exc))
    # Like the worker: app code, its import too, runs in the app directory, so relative paths
    # are read from there. stdout carries only the output JSON: whatever else is written to it
    # (at import, in `App()`, by threads or child processes) goes to stderr with the logs.
    with _chdir(app_dir), _stdout_to_stderr() as stdout:
        try:
            runner = AppRunner.from_dir(app_dir)
        except AppLoadError as exc:
            return _fail(str(exc))
        logging.getLogger().setLevel(logging.INFO)
        with download_progress(_download_bar):
            try:
                return asyncio.run(_test(runner, input_value, setup, args.function, stdout, socket))
            except KeyboardInterrupt:
                # asyncio.run cancelled the run and `_test` unloaded the app on its way out.
                print("interrupted", file=sys.stderr)
                return 130


def _frames_socket(path: str) -> Any:
    from inferencesh.apps.runtime.frames_file import FileSocket, parse_frames

    try:
        frames = parse_frames(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise _UsageError(f"--frames: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise _UsageError(f"--frames {path}: {exc}") from None

    def show(data: bytes | str) -> None:
        what = f"binary, {len(data)} bytes" if isinstance(data, bytes) else f"text: {data}"
        print(f"-- sent {what}", file=sys.stderr, flush=True)

    return FileSocket(frames, on_send=show)


async def _test(
    runner: AppRunner,
    input_value: Any,
    setup: dict[str, Any] | None,
    function: str | None,
    stdout: TextIO,
    socket: Any = None,
) -> int:
    from inferencesh.apps.runtime.errors import format_traceback
    from inferencesh.core.cli import json_for

    err = sys.stderr
    final: RunEvent | None = None
    kept: dict[str, str] = {}
    unload_error: Exception | None = None
    try:
        handle = runner.start(input_value, function=function, setup=setup, socket=socket)
        async for event in handle:
            if event["type"] == "status":
                print(f"-- {event['status'].replace('_', ' ')}", file=err, flush=True)
            elif event["type"] == "log":
                print(event["content"], file=err, flush=True)
            elif event["type"] == "output":
                print(f"-- partial output: {json.dumps(event['output'])}", file=err, flush=True)
            elif event["type"] == "delta":
                print(f"-- delta: {json.dumps(event['delta'])}", file=err, flush=True)
            else:
                final = event
        if final is not None and final["type"] == "result":
            # Before unload: an app may delete its temp dir there (real apps do), and the
            # printed output must still name files that exist.
            kept = await asyncio.to_thread(_keep_files, final["output"])
    finally:
        try:
            await runner.unload()
        except Exception as exc:  # noqa: BLE001 - reported below, after the run's own outcome
            print(format_traceback(exc), file=err)
            unload_error = exc
    if final is not None and final["type"] == "result":
        final = {**final, "output": await asyncio.to_thread(_after_unload, final["output"], kept)}
    if final is not None and final["type"] == "result":
        print(json_for(final["output"], stdout), file=stdout)
        for path in _local_files(final["output"]):
            print(f"-- output file: {path}", file=err)
    elif final is not None and final["type"] == "error":
        _fail(f"{final['kind']}: {final['error']}")
    else:
        _fail("the run ended without a result")
    if unload_error is not None:
        return _fail(f"unload failed: {type(unload_error).__name__}: {unload_error}")
    return 0 if final is not None and final["type"] == "result" else 1


def _keep_files(output: Any) -> dict[str, str]:
    """Copies of the output's local files, in a new directory of the system's temp dir:
    ``{original path: copy}``."""
    paths = [p for p in dict.fromkeys(_local_files(output)) if os.path.isfile(p)]
    if not paths:
        return {}
    target = Path(tempfile.mkdtemp(prefix="inferencesh-app-test-"))
    copies: dict[str, str] = {}
    for index, path in enumerate(paths):
        folder = target / str(index)  # two outputs may share a name
        folder.mkdir()
        copies[path] = str(shutil.copy2(path, folder / os.path.basename(path)))
    return copies


def _after_unload(output: Any, copies: dict[str, str]) -> Any:
    """``output`` naming the copy of each file the unload removed; the copies of the files
    still there are deleted again (the output keeps naming the app's own)."""
    gone = {path: copy for path, copy in copies.items() if not os.path.isfile(path)}
    for path, copy in copies.items():
        if path not in gone:
            Path(copy).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                Path(copy).parent.rmdir()
                Path(copy).parent.parent.rmdir()  # empty once every copy is gone
    if not gone:
        return output

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            return [swap(item) for item in value]
        if not isinstance(value, dict):
            return value
        out = {key: swap(item) for key, item in value.items()}
        path = value.get("path")
        if isinstance(path, str) and path in gone and "uri" not in value:
            out["path"] = gone[path]
        return out

    return swap(output)


def _local_files(value: Any) -> Iterator[str]:
    """Paths of the output's files that live on this machine (``{"path": "/abs/..."}``)."""
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str) and os.path.isabs(path) and "uri" not in value:
            yield path
        for item in value.values():
            yield from _local_files(item)
    elif isinstance(value, list):
        for item in value:
            yield from _local_files(item)


# -- schema / serve -----------------------------------------------------------------------------


def _cmd_schema(args: argparse.Namespace) -> int:
    from inferencesh.apps.runtime import AppLoadError, load_app
    from inferencesh.apps.runtime.schemas import write_schema_files

    app_dir = Path(args.dir).expanduser().resolve()
    try:
        with _chdir(app_dir):  # the app's import runs in its directory, as everywhere else
            app = load_app(app_dir)
    except AppLoadError as exc:
        return _fail(str(exc))
    try:
        written = write_schema_files(app)
    except OSError as exc:
        return _fail(f"cannot write the schema files into {app.directory}: {exc}")
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from inferencesh.apps.worker import run_worker

    app_dir = Path(args.dir).expanduser().resolve()
    ready_file = Path(args.ready_file).resolve() if args.ready_file else None
    # The app's import runs in its directory too, as under `app test` and on the platform.
    with _chdir(app_dir):
        return run_worker(
            app_dir, host=args.host, port=args.port, ready_file=ready_file, announce=True
        )

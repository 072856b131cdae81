"""The ``inferencesh app`` and ``inferencesh dev`` command groups (registered via entry points).

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
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        "output JSON goes to stdout, output files stay on disk. Input files given as URLs are "
        "downloaded first, with a progress bar when stderr is a terminal. Exits 1 when the run "
        "fails.",
    )
    test.add_argument("dir", nargs="?", default=".", help="the app directory (default: .)")
    test.add_argument(
        "--input", "-i", help="input as JSON, or a JSON file path (default: DIR/input.json)"
    )
    test.add_argument("--setup", "-s", help="setup config as JSON, or a JSON file path")
    test.add_argument("--function", "-f", help="the function to call (default: the app's default)")
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
    name = target.name
    if not _NAME.match(name):
        return _fail(
            f"invalid app name {name!r}: use letters, digits, '-' and '_', starting with a "
            "letter or digit"
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        return _fail(f"{target} already exists and is not an empty directory")
    files = {
        "inf.yml": _INF_YML.format(name=name),
        "inference.py": _INFERENCE_PY.format(name=name),
        "requirements.txt": _REQUIREMENTS,
        "input.json": _INPUT_JSON,
        ".gitignore": _GITIGNORE,
    }
    target.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        (target / filename).write_text(content, encoding="utf-8")
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
            raise _UsageError(f"{flag} {value!r} is neither JSON nor an existing file")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _UsageError(
            f"{flag}: invalid JSON in {source}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


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
    except _UsageError as exc:
        return _fail(str(exc))
    try:
        runner = AppRunner.from_dir(app_dir)
    except AppLoadError as exc:
        return _fail(str(exc))
    logging.getLogger().setLevel(logging.INFO)
    # Like the worker: app code runs with the app directory as its working directory, and
    # relative file paths in the input are read from there.
    with _chdir(app_dir), download_progress(_download_bar):
        try:
            return asyncio.run(_test(runner, input_value, setup, args.function))
        except KeyboardInterrupt:
            # asyncio.run cancelled the run and `_test` unloaded the app on its way out.
            print("interrupted", file=sys.stderr)
            return 130


async def _test(
    runner: AppRunner, input_value: Any, setup: dict[str, Any] | None, function: str | None
) -> int:
    err = sys.stderr
    final: RunEvent | None = None
    try:
        handle = runner.start(input_value, function=function, setup=setup)
        async for event in handle:
            if event["type"] == "status":
                print(f"-- {event['status'].replace('_', ' ')}", file=err, flush=True)
            elif event["type"] == "log":
                print(event["content"], file=err, flush=True)
            elif event["type"] == "output":
                print(f"-- partial output: {json.dumps(event['output'])}", file=err, flush=True)
            else:
                final = event
    finally:
        # stdout carries only the output JSON; what `unload` prints is a log line like the rest.
        with contextlib.redirect_stdout(err):
            await runner.unload()
    if final is None or final["type"] != "result":
        if final is not None and final["type"] == "error":
            return _fail(f"{final['kind']}: {final['error']}")
        return _fail("the run ended without a result")
    print(json.dumps(final["output"], indent=2, ensure_ascii=False))
    for path in _local_files(final["output"]):
        print(f"-- output file: {path}", file=err)
    return 0


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

    try:
        app = load_app(args.dir)
    except AppLoadError as exc:
        return _fail(str(exc))
    for path in write_schema_files(app):
        print(f"wrote {path}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from inferencesh.apps.worker import run_worker

    return run_worker(
        args.dir, host=args.host, port=args.port, ready_file=args.ready_file, announce=True
    )

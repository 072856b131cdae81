"""The ``inferencesh`` command line.

Core owns the entry point and its own command, ``inferencesh run``; sibling distributions add
command groups through the ``inferencesh.cli`` entry-point group. Each entry point names a
callable that takes the ``argparse`` sub-parsers object and adds its commands, so a core-only
install still has a working CLI and core never imports its siblings.

A command's parser sets ``func`` (via ``set_defaults``) to a callable taking the parsed
namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inferencesh.core._version import __version__

if TYPE_CHECKING:
    from inferencesh.core.client import Inference
    from inferencesh.core.progress import StatusLine
    from inferencesh.core.types import Task

ENTRY_POINT_GROUP = "inferencesh.cli"

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every installed command group registered."""
    parser = argparse.ArgumentParser(
        prog="inferencesh",
        description="inference.sh: run AI apps, build agents and author apps.",
    )
    parser.add_argument("--version", action="version", version=f"inferencesh {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    register_run(commands)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        register: Register = ep.load()
        register(commands)
    for name, distribution in COMMAND_GROUPS.items():
        if name not in commands.choices:
            _register_missing(commands, name, distribution)
    return parser


# The command groups of the sibling distributions, so that a command whose distribution is not
# installed says what to install instead of argparse's "invalid choice".
COMMAND_GROUPS = {"app": "inferencesh-apps", "dev": "inferencesh-platform"}


def _register_missing(commands: Any, name: str, distribution: str) -> None:
    def missing(_args: argparse.Namespace) -> int:
        print(
            f"`inferencesh {name}` is provided by the `{distribution}` distribution, which is not "
            f"installed. Install it with: pip install {distribution}",
            file=sys.stderr,
        )
        return 1

    # Whatever follows the command (`--help` included) is left for the real one: say what to
    # install instead of parsing it.
    missing.missing_group = True  # type: ignore[attr-defined]
    parser = commands.add_parser(
        name, help=f"(not installed: pip install {distribution})", add_help=False
    )
    parser.set_defaults(func=missing)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    func: Callable[[Any], int] | None = getattr(args, "func", None)
    if extra and not getattr(func, "missing_group", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return int(func(args) or 0)


# -- inferencesh run ------------------------------------------------------------------------

# Exit codes: 1 the run failed (task failed or cancelled, API or connection error); 2 a bad
# command line; 130 interrupted (Ctrl-C), after asking the platform to cancel the task.
_FAILED, _USAGE, _INTERRUPTED = 1, 2, 130


class _UsageError(Exception):
    """A bad command line; the message names the argument and says what is wrong."""


def register_run(commands: Any) -> None:
    """Add ``inferencesh run APP``: run an app on the platform and print its output."""
    run: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="run an app on the platform and print its output",
        description="Run an app on inference.sh (or a local platform) and wait for it. Local "
        "files named in the input are uploaded first. On a terminal, stderr shows upload "
        "progress and a live status line; stdout gets only the task's output as JSON. Exits 1 "
        "when the task fails or is cancelled or the API answers with an error, 2 on a bad "
        "command line.",
    )
    run.add_argument("app", help="the app ref: namespace/name[@version]")
    run.add_argument(
        "--input", "-i", help="the input as a JSON object, or @FILE to read it from a JSON file"
    )
    run.add_argument("--setup", "-s", help="the setup config as a JSON object, or @FILE")
    run.add_argument("--function", "-f", help="the function of a multi-function app")
    run.add_argument(
        "--base-url", help="the API URL (default: $INFERENCE_BASE_URL, else the cloud API)"
    )
    run.add_argument(
        "--api-key",
        help="the API key (default: $INFERENCE_API_KEY, which keeps it out of process lists)",
    )
    run.add_argument("--timeout", type=float, help="seconds to wait for the task before giving up")
    _add_live_arguments(run)
    run.set_defaults(func=_cmd_run)


def _add_live_arguments(run: argparse.ArgumentParser) -> None:
    live = run.add_argument_group(
        "stream functions",
        "When the function is a stream function (the run response carries a socket), its live "
        "session is opened: the frames of --frames (default: stdin) are sent, one JSON object a "
        'line ({"text": ...}, {"json": {...}}, {"binary": BASE64}, {"hex": ...}); what comes '
        'back is printed as JSON lines ({"json": ...}, {"text": ...}, {"bytes": N}), then '
        '{"output": ...}. Needs inferencesh-core[live].',
    )
    live.add_argument(
        "--frames",
        action="append",
        metavar="FILE",
        help="a file of frames to send; - is stdin, read as it arrives (repeatable, sent in order)",
    )
    live.add_argument(
        "--binary-out",
        metavar="FILE",
        help="write the binary frames that come back to FILE (in order)",
    )
    live.add_argument(
        "--linger",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="once the input is sent, hang up after the app was silent this long (default 2)",
    )


def _json_object(value: str | None, flag: str) -> dict[str, Any] | None:
    """Parse ``--input``/``--setup``: inline JSON, or ``@FILE`` naming a JSON file."""
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8-sig")  # editors on Windows write a BOM
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _UsageError(f"{flag}: cannot read {str(path)!r}: {reason}") from None
        source = str(path)
    else:
        text, source = value, "the argument"
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "" if value.startswith("@") else " (to read a file, write @FILE)"
        raise _UsageError(
            f"{flag}: invalid JSON in {source}: {exc.msg} (line {exc.lineno}, column "
            f"{exc.colno}){hint}"
        ) from None
    if not isinstance(parsed, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
        kind = "null" if parsed is None else kinds.get(type(parsed), "a number")
        raise _UsageError(f"{flag} must be a JSON object, got {kind}")
    return parsed


def _fail(message: str, code: int = _FAILED) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        input_value = _json_object(args.input, "--input") or {}
        setup = _json_object(args.setup, "--setup")
        if args.timeout is not None and not args.timeout > 0:  # also refuses nan
            raise _UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        live = _live_options(args)
    except _UsageError as exc:
        return _fail(str(exc), _USAGE)
    params: dict[str, Any] = {"app": args.app, "input": input_value}
    if setup is not None:
        params["setup"] = setup
    if args.function:
        params["function"] = args.function

    from inferencesh.core.client import Inference

    try:
        client = Inference(api_key=args.api_key, base_url=args.base_url)
    except ValueError as exc:
        return _fail(f"{exc} (see --api-key and --base-url)", _USAGE)
    with client, live.binary_out or contextlib.nullcontext():
        return _run(client, params, args.timeout, live)


class _LiveOptions:
    """What ``inferencesh run`` does when the function is a stream function."""

    def __init__(self, args: argparse.Namespace, sources: list[Any], binary_out: Any) -> None:
        self.asked = bool(args.frames or args.binary_out)
        self.sources, self.binary_out, self.linger = sources, binary_out, args.linger
        self.api_key, self.base_url = args.api_key, args.base_url


def _live_options(args: argparse.Namespace) -> _LiveOptions:
    """Check the live flags and read the ``--frames`` files (before any task is created)."""
    from inferencesh.core.frames import parse_frames

    if not args.linger >= 0:  # also refuses nan
        raise _UsageError(f"--linger must be a number of seconds >= 0, got {args.linger}")
    sources: list[Any] = []
    for path in args.frames or ["-"]:
        if path == "-":
            sources.append(sys.stdin)
            continue
        try:
            sources.append(parse_frames(Path(path).expanduser().read_text(encoding="utf-8-sig")))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _UsageError(f"--frames: cannot read {path!r}: {reason}") from None
        except ValueError as exc:
            raise _UsageError(f"--frames {path}: {exc}") from None
    binary_out = None
    if args.binary_out:
        try:
            binary_out = Path(args.binary_out).expanduser().open("wb")
        except OSError as exc:
            raise _UsageError(
                f"--binary-out: cannot write {args.binary_out!r}: {exc.strerror}"
            ) from None
    return _LiveOptions(args, sources, binary_out)


def _run(
    client: Inference, params: dict[str, Any], timeout: float | None, live: _LiveOptions
) -> int:
    from inferencesh.core.errors import (
        APITimeoutError,
        InferenceError,
        TaskCancelledError,
        TaskFailedError,
    )
    from inferencesh.core.progress import ProgressBar, StatusLine

    err = sys.stderr
    try:
        created = client.run(
            params,
            wait=False,
            upload_progress=lambda name: ProgressBar(f"uploading {name}", stream=err),
        )
    except (ValueError, TypeError) as exc:  # params the client refuses before any request
        return _fail(str(exc), _USAGE)
    except (InferenceError, OSError) as exc:
        return _fail(_describe(exc))
    except KeyboardInterrupt:
        return _fail("interrupted before the task started", _INTERRUPTED)
    if created.socket is not None or live.asked:
        return _run_live(client, created, timeout, live)
    stream = client.stream_task(created.id, timeout=timeout)

    status = StatusLine(f"{params['app']} {stream.task_id}", stream=err)
    try:
        with stream:
            _follow(stream, status)
    except TaskFailedError as exc:
        status.close()
        return _fail(f"{exc}{_log_tail(exc.task)}")
    except TaskCancelledError as exc:
        status.close()
        return _fail(str(exc))
    except APITimeoutError as exc:
        status.close()
        return _fail(f"timed out waiting: {exc}; the task was not cancelled")
    except InferenceError as exc:
        status.close()
        return _fail(f"task {stream.task_id}: {_describe(exc)}")
    except KeyboardInterrupt:
        status.close()
        return _cancel(client, stream.task_id)
    status.close()
    assert stream.result is not None
    try:
        print(json_for(stream.result.output, sys.stdout), flush=True)
    except BrokenPipeError:
        # The reader stopped early (`inferencesh run ... | head`): the run itself succeeded.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


def _run_live(client: Inference, task: Task, timeout: float | None, live: _LiveOptions) -> int:
    """A stream function's session (see ``inferencesh.core.run_live``)."""
    import asyncio

    from inferencesh.core.client import AsyncInference
    from inferencesh.core.errors import APITimeoutError, InferenceError, TaskFailedError
    from inferencesh.core.run_live import FramesInputError, LiveRun, live_available

    refused = live_available()
    if task.socket is None:
        refused = (
            f"--frames/--binary-out: {task.app or 'the app'} function {task.function!r} is not a "
            "stream function (the run response carries no socket)"
        )
    if refused is not None:
        try:
            client.cancel(task.id)
        except InferenceError as exc:  # it ended meanwhile (or the API failed): say so
            return _fail(f"{refused}; task {task.id} could not be cancelled: {exc}", _USAGE)
        return _fail(f"{refused}; task {task.id} was cancelled", _USAGE)

    runs: list[LiveRun] = []

    async def session() -> Task:
        async with AsyncInference(api_key=live.api_key, base_url=live.base_url) as aclient:
            runs.append(
                LiveRun(
                    aclient,
                    task,
                    live.sources,
                    binary_out=live.binary_out,
                    linger=live.linger,
                    timeout=timeout,
                )
            )
            return await runs[0].run()

    try:
        done = asyncio.run(session())
    except FramesInputError as exc:
        return _fail(f"--frames {exc}; the session was closed", _USAGE)
    except TaskFailedError as exc:
        return _fail(f"{exc}{_log_tail(exc.task)}")
    except APITimeoutError as exc:
        return _fail(f"timed out waiting: {exc}; the task was not cancelled")
    except (InferenceError, OSError) as exc:
        return _fail(f"task {task.id}: {_describe(exc)}")
    except KeyboardInterrupt:
        return _cancel(client, task.id)
    if sys.stderr.isatty():
        print(f"{task.app or 'live'} {task.id}: {runs[0].summary()}", file=sys.stderr)
    with contextlib.suppress(BrokenPipeError):
        print(json.dumps({"output": done.output}, ensure_ascii=False, default=str), flush=True)
    return 0


def json_for(value: Any, out: Any) -> str:
    """``value`` as indented JSON for the text stream ``out``: readable text, or ``\\u``
    escapes (the same JSON) when the stream's encoding cannot hold a character (a cp1252
    console, a latin-1 pipe). Every command that prints an output uses it."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    try:
        text.encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return json.dumps(value, indent=2, ensure_ascii=True)
    return text


def _follow(updates: Iterable[Task], status: StatusLine) -> None:
    """Show each update's status and latest log line (on a terminal only)."""
    shown_status = None
    for task in updates:
        line = _latest_log_line(task)
        text = f"{task.status}" + (f" · {line}" if line else "")
        status.update(text, force=task.status != shown_status)
        shown_status = task.status


def _latest_log_line(task: Task) -> str:
    for log in reversed(task.logs or []):
        lines = [line for line in log.content.splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return ""


def _log_tail(task: Task, count: int = 10) -> str:
    """The task's last log lines, indented under the error (a failure's context)."""
    lines = [line for log in task.logs or [] for line in log.content.splitlines() if line.strip()]
    if not lines:
        return ""
    return "\n  last log lines:\n" + "\n".join(f"    {line}" for line in lines[-count:])


def _describe(exc: BaseException) -> str:
    from inferencesh.core.errors import APIConnectionError, APIError

    if isinstance(exc, APIError):
        return f"API error: {exc}"
    if isinstance(exc, APIConnectionError):
        return f"cannot reach the API: {exc}"
    return str(exc)


def _cancel(client: Inference, task_id: str) -> int:
    from inferencesh.core.errors import InferenceError

    print(f"interrupted: cancelling task {task_id}", file=sys.stderr, flush=True)
    try:
        client.cancel(task_id)
    except InferenceError as exc:
        return _fail(f"could not cancel task {task_id}: {_describe(exc)}", _INTERRUPTED)
    return _INTERRUPTED

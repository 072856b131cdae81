"""``inferencesh dev``: start the local platform over app directories."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["register_dev", "run_dev"]

DEFAULT_PORT = 8200


def _number_type(minimum: float, *, inclusive: bool) -> Callable[[str], float]:
    """An argparse type: a number at least (or above) ``minimum``; argparse names the option."""
    bound = f"at least {minimum:g}" if inclusive else f"greater than {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number {bound}, got {text!r}") from None
        # `not (...)` so NaN is refused too.
        if not (value >= minimum if inclusive else value > minimum) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a number {bound}, got {text!r}")
        return value

    return parse


_POSITIVE = _number_type(0, inclusive=False)
_NON_NEGATIVE = _number_type(0, inclusive=True)


def _port(text: str) -> int:
    """An argparse type: a TCP port number, 0 to 65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def register_dev(commands: Any) -> None:
    """Add ``inferencesh dev [APP_DIR ...]`` to the CLI's sub-parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "dev",
        help="serve the inference.sh API locally over app directories",
        description=(
            "Serve the inference.sh task, file and session API on 127.0.0.1 over app directories. "
            "Each APP_DIR is an app (inference.py, optional inf.yml) or a folder of apps; "
            "each app is served as local/<name>."
        ),
    )
    parser.add_argument(
        "app_dirs", nargs="*", metavar="APP_DIR", type=Path, help="app directories (default: .)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default 127.0.0.1; others only if you mean it)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".inferencesh-data"),
        help="records, files and the API key (default ./.inferencesh-data)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("INFERENCESH_DEV_API_KEY"),
        help="API key to require (default: $INFERENCESH_DEV_API_KEY, else generated once and kept in the data dir)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="workers per app outside sessions (default 2)"
    )
    parser.add_argument(
        "--cancel-timeout",
        type=_NON_NEGATIVE,
        default=10.0,
        help="seconds a cancelled task gets before its worker is killed",
    )
    parser.add_argument(
        "--hang-timeout",
        type=_POSITIVE,
        default=60.0,
        help="seconds without a /health answer before a worker counts as hung",
    )
    parser.add_argument(
        "--heartbeat", type=_POSITIVE, default=10.0, help="seconds between stream heartbeats"
    )
    _add_limit_options(parser.add_argument_group("limits"))
    _add_agent_options(parser.add_argument_group("agents"))
    _add_hardening_options(parser.add_argument_group("limits and isolation"))
    parser.add_argument("--warm", action="store_true", help="start one worker per app right away")
    parser.add_argument(
        "--no-reload",
        action="store_true",
        help="keep workers running the code they started with (default: an edit of an app's "
        "code applies to its next task)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        metavar="PID",
        help="shut down when process PID, the one that started this server, is gone "
        "(LocalPlatform passes its own; POSIX)",
    )
    parser.set_defaults(func=run_dev)


def _add_limit_options(group: argparse._ArgumentGroup) -> None:
    """Sizes and waits the server enforces on requests and live sockets."""
    group.add_argument(
        "--socket-pair-timeout",
        type=_POSITIVE,
        default=60.0,
        help="seconds one end of a stream function's socket waits for the other",
    )
    group.add_argument(
        "--socket-max-frame-kb",
        type=_POSITIVE,
        default=1024.0,
        help="largest frame the live relay passes, in KiB",
    )
    group.add_argument(
        "--socket-max-buffered-frames",
        type=int,
        default=1024,
        help="frames one end of a socket may send before the other connects",
    )
    group.add_argument(
        "--max-request-mb", type=_POSITIVE, default=8.0, help="largest JSON request body, in MiB"
    )
    group.add_argument(
        "--max-upload-mb", type=_POSITIVE, default=512.0, help="largest file upload, in MiB"
    )


def _add_agent_options(group: argparse._ArgumentGroup) -> None:
    """Where template agents, app aliases and MCP servers come from."""
    group.add_argument(
        "--agents-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder of template agent definitions (repeatable)",
    )
    group.add_argument(
        "--aliases",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a YAML or JSON file mapping app refs to local apps, e.g. "
        "`infsh/flux-schnell: local/image-generation` (repeatable; later files win)",
    )
    group.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="NAME=SERVER",
        help="an MCP server agents' mcp tools may name: NAME=URL (streamable HTTP) or "
        "NAME=COMMAND (started as a stdio server; repeatable)",
    )


def _add_hardening_options(group: argparse._ArgumentGroup) -> None:
    """The options of the request limits, task time limits, host paths and worker user."""
    group.add_argument(
        "--max-json-depth",
        type=int,
        default=64,
        metavar="N",
        help="deepest nesting of arrays and objects in a JSON request body (default 64)",
    )
    group.add_argument(
        "--max-files-per-request",
        type=int,
        default=256,
        metavar="N",
        help="most file records one POST /files creates (default 256)",
    )
    group.add_argument(
        "--task-timeout",
        type=_POSITIVE,
        default=None,
        metavar="SECONDS",
        help="fail a task still running after this long (default: no limit; an app's "
        "inf.yml `timeout` wins for that app)",
    )
    group.add_argument(
        "--allow-path",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a host folder whose files task inputs may name by local path (repeatable; "
        "default: none, local paths in inputs are refused)",
    )
    group.add_argument(
        "--worker-user",
        default=None,
        metavar="USER",
        help="run workers as this user (default: $INFERENCESH_WORKER_USER, else `nobody` when "
        "running as root, else the platform's own user; `root` keeps them as root)",
    )


def _check_host(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(
            f"warning: serving on {host}, which is reachable from other machines", file=sys.stderr
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # TCP, and without it small responses on kept-alive connections stall ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def run_dev(args: argparse.Namespace) -> int:
    """Run the platform until interrupted; returns the exit code."""
    import uvicorn
    from inferencesh.platform.agents.mcp import MCPRegistry, MCPSetupError
    from inferencesh.platform.config import PlatformConfig, discover_apps
    from inferencesh.platform.datadir import DataDirBusy
    from inferencesh.platform.refs import AliasError, Aliases
    from inferencesh.platform.server import create_app

    try:
        apps = discover_apps(list(args.app_dirs) or [Path(".")])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    alias_files = [f.resolve() for f in args.aliases]
    agents_dirs = [d.resolve() for d in args.agents_dir]
    try:
        # Checked now so a typo stops the start instead of failing the first task.
        aliases = Aliases(files=alias_files, dirs=agents_dirs).table()
    except AliasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        # Checked now so a typo stops the start instead of failing the first MCP call.
        MCPRegistry(args.mcp, agents_dirs)
    except MCPSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for flag, value in (
        ("--concurrency", args.concurrency),
        ("--max-json-depth", args.max_json_depth),
        ("--max-files-per-request", args.max_files_per_request),
    ):
        if value < 1:
            print(f"error: {flag} must be at least 1", file=sys.stderr)
            return 2
    _check_host(args.host)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    try:
        data_dir, lock, worker_user = _claim_data_dir(args)
    except (DataDirBusy, ValueError) as exc:
        sock.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = PlatformConfig(
        data_dir=data_dir,
        apps=apps,
        host=args.host,
        port=port,
        api_key=args.api_key,
        concurrency=args.concurrency,
        cancel_timeout=args.cancel_timeout,
        hang_timeout=args.hang_timeout,
        heartbeat_interval=args.heartbeat,
        socket_pair_timeout=args.socket_pair_timeout,
        socket_max_frame_bytes=int(args.socket_max_frame_kb * 1024),
        socket_max_buffered_frames=args.socket_max_buffered_frames,
        max_request_bytes=int(args.max_request_mb * 1024 * 1024),
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        warm=args.warm,
        reload=not args.no_reload,
        alias_files=alias_files,
        max_json_depth=args.max_json_depth,
        max_files_per_request=args.max_files_per_request,
        task_timeout=args.task_timeout,
        allow_paths=[p.resolve() for p in args.allow_path],
        worker_user=worker_user,
        mcp_servers=list(args.mcp),
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_app(config, agents_dirs=agents_dirs)
    platform = app.state.platform
    print(f"inferencesh dev: {platform.base_url}", flush=True)
    print(f"  api key: {platform.api_key}", flush=True)
    print(f"  data:    {config.data_dir}", flush=True)
    for entry in apps:
        print(f"  app:     {entry.ref}  ({entry.directory})", flush=True)
    for alias in aliases.values():
        print(f"  alias:   {alias.source} -> {alias.target}  ({alias.origin})", flush=True)
    print(f'  client:  inference(api_key="<api key>", base_url="{platform.base_url}")', flush=True)
    server = uvicorn.Server(_server_config(app, args.log_level, config.socket_max_frame_bytes))

    async def serve() -> None:
        watcher = None
        if args.parent_pid is not None:
            watcher = asyncio.create_task(_exit_with_parent(args.parent_pid, server))
        try:
            await server.serve(sockets=[sock])
        finally:
            if watcher is not None:
                watcher.cancel()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    lock.release()
    return 0


def _server_config(app: Any, log_level: str, max_frame_bytes: int) -> Any:
    """uvicorn's configuration of the platform's server."""
    import uvicorn
    from inferencesh.platform import http_protocol

    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        # No URL or address the platform makes comes from the request: forwarded headers
        # change nothing, and their middleware would wrap every request.
        proxy_headers=False,
        http=http_protocol.protocol(),  # a plain reply in one write
        lifespan="on",
        timeout_graceful_shutdown=3,
        # The live relay: frames over the relay's own limit get its close reason.
        ws="websockets-sansio",
        ws_max_size=max(16 * 1024 * 1024, 2 * max_frame_bytes),
        ws_per_message_deflate=False,
    )


def _claim_data_dir(args: argparse.Namespace) -> tuple[Path, Any, str | None]:
    """The data dir made private and locked for this server (``DataDirBusy`` when another
    holds it), and the user workers run as (``ValueError`` when unusable). From here on what
    the server writes is its owner's alone (0600, dirs 0700)."""
    from inferencesh.platform.datadir import DataDirLock, make_private
    from inferencesh.platform.sandbox import default_worker_user, private_files, resolve_identity

    worker_user = args.worker_user if args.worker_user is not None else default_worker_user()
    resolve_identity(worker_user)
    data_dir = make_private(args.data_dir.resolve())
    # Held until this process ends: a second server would end the first's sessions.
    lock = DataDirLock(data_dir).acquire()
    private_files()
    return data_dir, lock, worker_user


async def _exit_with_parent(parent: int, server: Any) -> None:
    """Shut the server down cleanly once ``parent`` is gone (its process was re-parented): a
    launcher killed mid-test must not leave a server and its workers running forever."""
    while not server.should_exit:
        if os.getppid() != parent:
            logging.getLogger(__name__).warning(
                "the process that started this server (pid %d) is gone: shutting down", parent
            )
            server.should_exit = True
            return
        await asyncio.sleep(0.5)

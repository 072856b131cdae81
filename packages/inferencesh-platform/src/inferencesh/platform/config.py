"""Configuration of the local platform and the apps it serves."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["AppEntry", "PlatformConfig", "discover_apps", "load_app"]

_NAME_RE = re.compile(r"[^a-z0-9._-]+")


@dataclasses.dataclass(frozen=True)
class AppEntry:
    """One app served by the platform: its ref (``local/<name>``), directory and declared secrets.

    Read from ``inf.yml`` at start and fixed for the server's life (refs and the secrets check
    use it); the workers read the rest of ``inf.yml`` themselves, each time one starts.
    """

    name: str
    directory: Path
    secrets: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()
    timeout: float | None = None
    """``timeout`` in ``inf.yml``: seconds a task of this app may run (see :mod:`.deadline`)."""

    @property
    def ref(self) -> str:
        """The app reference clients use: ``local/<name>``."""
        return f"local/{self.name}"


@dataclasses.dataclass
class PlatformConfig:
    """Settings of one local platform server.

    ``worker_command`` is the command that starts a worker (the app directory and the ready
    file are appended per the worker contract); point it at another interpreter to run apps in
    their own virtual environment.
    """

    data_dir: Path
    apps: list[AppEntry]
    host: str = "127.0.0.1"
    port: int = 8200
    api_key: str | None = None
    concurrency: int = 2
    """Workers per app for tasks outside sessions; further tasks wait in a FIFO queue."""
    max_sessions: int = 16
    """Session workers alive at once, over all apps."""
    max_request_bytes: int = 8 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024
    heartbeat_interval: float = 10.0
    cancel_timeout: float = 10.0
    """Seconds a cancelled run gets to stop before its worker is killed (``timeout`` ms overrides)."""
    hang_timeout: float = 60.0
    """A running worker that does not answer ``/health`` for this long is killed as hung."""
    worker_start_timeout: float = 120.0
    default_session_timeout: int = 60
    upload_url_ttl: float = 3600.0
    warm: bool = False
    """Start one worker per app at start-up instead of on the first task."""
    reload: bool = True
    """Apply edits of an app's code to its next task: workers started before are retired
    (see :mod:`.pool`). Off, workers keep the code they started with."""
    socket_pair_timeout: float = 60.0
    """Seconds one end of a stream task's socket waits for the other (then it is closed 1013)."""
    socket_max_frame_bytes: int = 1024 * 1024
    socket_max_buffered_frames: int = 1024
    """Frames one end of a socket may send before the other connects."""
    alias_files: list[Path] = dataclasses.field(default_factory=list)
    """Alias files (``cloud/ref: local/app``) for every ref on the platform (see :mod:`.refs`)."""
    max_json_depth: int = 64
    """Deepest nesting of a JSON request body (see :mod:`.limits`)."""
    max_files_per_request: int = 256
    """Most file records one ``POST /files`` creates."""
    task_timeout: float | None = None
    """Seconds a task may run (from dispatch to its end) before it is stopped and failed with a
    timeout reason; ``None``: no limit. An app's ``inf.yml`` ``timeout`` wins for that app."""
    allow_paths: list[Path] = dataclasses.field(default_factory=list)
    """Host folders whose files API inputs may name by local path (``/x`` or ``file:///x``);
    any other local path in an input is refused. Empty: none."""
    worker_user: str | None = None
    """The user workers run as (a name or uid); ``None``: the platform's own. ``inferencesh dev``
    defaults it to ``nobody`` when it runs as root (see :mod:`.sandbox`)."""
    mcp_servers: list[str] = dataclasses.field(default_factory=list)
    """MCP servers agents may name, as ``NAME=URL`` or ``NAME=COMMAND`` (``--mcp``)."""
    worker_command: list[str] = dataclasses.field(
        default_factory=lambda: [sys.executable, "-m", "inferencesh.apps.worker"]
    )

    @property
    def db_path(self) -> Path:
        """The SQLite file holding task, session and file records."""
        return self.data_dir / "platform.db"


def _app_name(directory: Path, spec: dict[str, Any]) -> str:
    raw = spec.get("name")
    name = raw if isinstance(raw, str) and raw.strip() else directory.resolve().name
    # A ref segment: lowercase, no slashes, so `local/<name>` parses back unambiguously.
    cleaned = _NAME_RE.sub("-", name.strip().lower()).strip("-")
    if not cleaned:
        raise ValueError(f"{directory}: cannot derive an app name from {name!r}")
    return cleaned


def _secret_keys(directory: Path, raw: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    required: list[str] = []
    optional: list[str] = []
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        raise ValueError(
            f"{directory / 'inf.yml'}: `secrets` must be a list, got {type(raw).__name__}"
        )
    for index, item in enumerate(raw):
        if isinstance(item, str):
            required.append(item)
        elif isinstance(item, dict) and isinstance(item.get("key"), str):
            (optional if item.get("optional") else required).append(item["key"])
        else:
            raise ValueError(
                f"{directory / 'inf.yml'}: secrets[{index}] must be a string or a mapping with `key`"
            )
    return tuple(required), tuple(optional)


def load_app(directory: Path) -> AppEntry:
    """Read one app directory (``inference.py`` and an optional ``inf.yml``)."""
    directory = directory.resolve()
    if not (directory / "inference.py").is_file():
        raise ValueError(f"{directory}: not an app directory (no inference.py)")
    spec: dict[str, Any] = {}
    manifest = directory / "inf.yml"
    if manifest.is_file():
        try:
            loaded = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{manifest}: cannot read it: {exc}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{manifest}:{mark.line + 1}" if mark else str(manifest)
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            raise ValueError(f"{where}: not valid YAML: {what}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{manifest}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError(f"{manifest}: expected a mapping at the top level")
        spec = loaded or {}
    required, optional = _secret_keys(directory, spec.get("secrets"))
    timeout = spec.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ValueError(f"{manifest}: `timeout` must be a number of seconds above 0")
    return AppEntry(
        _app_name(directory, spec),
        directory,
        required,
        optional,
        None if timeout is None else float(timeout),
    )


def discover_apps(paths: list[Path]) -> list[AppEntry]:
    """App entries for the given paths: each is an app directory or a folder of app directories."""
    apps: dict[str, AppEntry] = {}
    for path in paths:
        if not path.is_dir():
            raise ValueError(f"{path}: no such directory")
        if (path / "inference.py").is_file():
            found = [load_app(path)]
        else:
            found = [
                load_app(sub) for sub in sorted(path.iterdir()) if (sub / "inference.py").is_file()
            ]
            if not found:
                raise ValueError(
                    f"{path}: neither an app directory nor a folder of app directories"
                )
        for app in found:
            other = apps.get(app.name)
            if other is not None and other.directory != app.directory:
                raise ValueError(
                    f"two apps are named {app.name!r}: {other.directory} and {app.directory}"
                )
            apps[app.name] = app
    return list(apps.values())

"""Helpers the local platform's tests share: app folders, an API client, the v1 envelope, and the
factory behind the ``local_platform`` fixture (``conftest.py`` at the repository root)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from inferencesh import __version__
from inferencesh.platform.launcher import LocalPlatform


def write_app(root: Path, name: str, source: str, manifest: str = "") -> Path:
    """Write an app directory for a test (real code, run by the real worker)."""
    app = root / name
    app.mkdir(parents=True, exist_ok=True)
    (app / "inference.py").write_text(textwrap.dedent(source))
    (app / "inf.yml").write_text(f"name: {name}\n" + textwrap.dedent(manifest))
    return app


@contextmanager
def api_client(server: LocalPlatform, timeout: float = 60) -> Iterator[httpx.Client]:
    """Raw httpx to the platform with its key (no proxies from the environment)."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(
        base_url=server.base_url, headers=headers, timeout=timeout, trust_env=False
    ) as client:
        yield client


def data(response: httpx.Response) -> Any:
    """The v1 envelope's ``data``, after checking the reply and the envelope itself."""
    assert response.status_code < 300, response.text
    body = response.json()
    assert body["success"] is True and body["status"] == response.status_code, body
    return body["data"]


def run(http: httpx.Client, app: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``POST /apps/run``; the created (or, with ``wait=True``, finished) task."""
    task: dict[str, Any] = data(http.post("/apps/run", json={"app": app, "input": inputs, **extra}))
    return task


def wait_status(http: httpx.Client, task_id: str, statuses: set[int], timeout: float = 30) -> Any:
    """Poll the task until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = data(http.get(f"/tasks/{task_id}"))
        if task["status"] in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached {statuses}")


def run_published(
    python: Path, script: str, args: list[str], cwd: Path, stdin: str | None = None
) -> dict[str, Any]:
    """Run ``script`` with the published client's interpreter (``stdin`` its input); the JSON
    its last line prints.

    It runs from ``cwd`` (not the repository, so our own ``inferencesh`` cannot shadow the
    published one) without ``PYTHONPATH``/``VIRTUAL_ENV`` from this environment.
    """
    path = cwd / "published_scenario.py"
    path.write_text(script)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(python), str(path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["version"] != __version__, "ran our package instead of the published one"
    return result


# -- the `local_platform` fixture's factory -------------------------------------------------------


@dataclass(frozen=True)
class App:
    """An app a test writes: ``inference.py`` from ``source`` (dedented), ``inf.yml`` naming it.

    Written into the platform's own folder, under ``apps/<name>``, before it starts.
    """

    name: str
    source: str
    manifest: str = ""


@dataclass(frozen=True)
class Own:
    """A path inside the platform's own folder (``OWN / "aliases.yaml"``), known once it exists.

    Usable wherever the factory takes a path: apps, agents dirs, ``args`` and ``env`` values.
    """

    relative: str = ""

    def __truediv__(self, part: str) -> Own:
        return Own(f"{self.relative}/{part}".lstrip("/"))

    def at(self, home: Path) -> Path:
        return home / self.relative if self.relative else home


OWN = Own()


def copied_app(source: Path, name: str, manifest: str = "") -> dict[str, str]:
    """``files`` for the factory: the ``*.py`` of the app in ``source`` as app ``name``, under
    ``apps/<name>`` (``OWN / "apps"`` is then a folder of apps), with ``manifest`` in its inf.yml."""
    files = {f"apps/{name}/{py.name}": py.read_text() for py in sorted(source.glob("*.py"))}
    files[f"apps/{name}/inf.yml"] = f"name: {name}\n{manifest}"
    return files


Spec = tuple[Any, ...]


class SharedPlatform(LocalPlatform):
    """A platform the factory started; ``home`` is its own folder (apps, files, ``data``).

    The variables named in ``unset`` are left out of its environment (the launcher passes this
    process's environment on, plus ``env``).
    """

    home: Path
    unset: tuple[str, ...] = ()

    def start(self) -> SharedPlatform:
        kept = {name: os.environ.pop(name) for name in self.unset if name in os.environ}
        try:
            super().start()
        finally:
            os.environ.update(kept)
        return self


class PlatformFactory:
    """Starts local platforms for tests, one per distinct configuration, and stops them at the end.

    ``apps`` are app folders (or folders of apps) and ``App``s to write; ``agents`` are
    ``--agents-dir`` folders; ``files`` (relative path -> text) are written into the platform's
    own folder first, which ``OWN / ...`` names in any of the other arguments; ``args`` are more
    ``inferencesh dev`` options; ``env`` adds variables (``None``: leave that one out).

    Called with the same configuration again (from this module or another), it hands back the
    platform it already runs; a platform a test stopped is started again over the same folder.
    All of them end with the session (``close``).
    ``name`` makes a configuration distinct when tests must not share it (an isolated data dir).
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._running: dict[Spec, SharedPlatform] = {}

    def __call__(
        self,
        apps: Iterable[Path | str | App | Own] = (),
        *,
        agents: Iterable[Path | str | Own] = (),
        files: Mapping[str, str] | None = None,
        args: Iterable[str | Path | Own] = (),
        env: Mapping[str, str | Path | Own | None] | None = None,
        api_key: str | None = None,
        name: str = "",
    ) -> SharedPlatform:
        spec: Spec = (
            tuple(_key(a) for a in apps),
            tuple(_key(a) for a in agents),
            tuple(sorted((files or {}).items())),
            tuple(_key(a) for a in args),
            tuple(sorted((k, _key(v)) for k, v in (env or {}).items())),
            api_key,
            name,
        )
        platform = self._running.get(spec)
        if platform is not None and platform.process is not None:
            if platform.process.poll() is None:
                return platform
            platform.start()  # stopped by a test: the same folder, a fresh process
            return platform
        digest = hashlib.sha256(repr(spec).encode()).hexdigest()[:12]
        home = self._root / f"{name or 'platform'}-{digest}"
        home.mkdir(parents=True, exist_ok=True)  # a failed start leaves it behind
        for relative, text in (files or {}).items():
            (home / relative).parent.mkdir(parents=True, exist_ok=True)
            (home / relative).write_text(text)
        dirs: list[str | Path] = []
        for app in apps:
            if isinstance(app, App):
                dirs.append(write_app(home / "apps", app.name, app.source, app.manifest))
            else:
                dirs.append(_path(app, home))
        options = [str(_path(a, home)) if isinstance(a, Own) else str(a) for a in args]
        for directory in agents:
            options += ["--agents-dir", str(_path(directory, home))]
        platform = SharedPlatform(
            dirs,
            data_dir=home / "data",
            api_key=api_key,
            args=options,
            env={k: str(_path(v, home)) for k, v in (env or {}).items() if v is not None},
        )
        platform.home = home
        platform.unset = tuple(k for k, v in (env or {}).items() if v is None)
        platform.start()
        self._running[spec] = platform
        return platform

    def close(self) -> None:
        """End every platform this factory started.

        Each is killed, as a crash would end it: its workers exit at once on their own (the
        platform's tests of a clean shutdown start platforms of their own). A clean stop of a
        dozen platforms, each waiting for its workers, would add seconds to the end of a run.
        """
        for platform in self._running.values():
            platform.stop(kill=True)
        self._running.clear()


def _key(value: Path | str | App | Own | None) -> Any:
    return str(Path(value).resolve()) if isinstance(value, Path) else value


def _path(value: Path | str | Own, home: Path) -> Path | str:
    return value.at(home) if isinstance(value, Own) else value


def kill_and_wait(pid: int) -> None:
    """SIGKILL a worker process and wait until the platform (its parent) has reaped it."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)  # a zombie still answers until its parent reaps it
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"worker {pid} was not reaped")

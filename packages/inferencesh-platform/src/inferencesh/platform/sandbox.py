"""What a worker process gets, and what it does not: its own home (working temp dir, with
``TMPDIR`` there), an environment without the platform's key, no path into the data directory
in its arguments or environment, the user it runs as (an unprivileged one when the platform
runs as root), and the ties that end it with its server (a parent-death signal on Linux; the
worker's own watchdog thread, see ``inferencesh.apps.worker``).

Every worker started is recorded in the data directory (pid, start time, home), so a server
started after a crash kills what the previous one left running and removes their homes.

Example:
    >>> from inferencesh.platform.sandbox import worker_env
    >>> env = worker_env({"PATH": "/bin", "INFERENCESH_DEV_API_KEY": "k"}, "/tmp/h", "wrk_1", None)
    >>> "INFERENCESH_DEV_API_KEY" in env, env["TMPDIR"], env["INFERENCESH_WORKER_ID"]
    (False, '/tmp/h', 'wrk_1')
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "PARENT_ENV",
    "WORKER_USER_ENV",
    "Identity",
    "default_worker_user",
    "forget_worker",
    "make_home",
    "private_files",
    "reap_leftovers",
    "record_worker",
    "remove_home",
    "resolve_identity",
    "unreadable_for",
    "worker_env",
    "worker_preexec",
]

log = logging.getLogger("inferencesh.platform")

WORKER_USER_ENV = "INFERENCESH_WORKER_USER"
"""Default of ``--worker-user``; ``root`` (or the platform's own user) keeps workers as it."""
PARENT_ENV = "INFERENCESH_PARENT_PID"
"""Tells a worker which process is its server: it ends itself once that one is gone."""
_SECRET_ENV = ("INFERENCESH_DEV_API_KEY",)


@dataclasses.dataclass(frozen=True)
class Identity:
    """The user a worker runs as when it is not the platform's own."""

    name: str
    uid: int
    gid: int
    home: str


def default_worker_user() -> str | None:
    """``$INFERENCESH_WORKER_USER``, else ``nobody`` when the platform runs as root, else none."""
    given = os.environ.get(WORKER_USER_ENV)
    if given is not None:
        return given or None
    return "nobody" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def resolve_identity(user: str | None) -> Identity | None:
    """The identity to switch workers to, or ``None`` to keep the platform's own (no user
    given, or the platform's user). Raises ``ValueError`` for an unknown user."""
    if not user or not hasattr(os, "geteuid"):
        return None
    import pwd

    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"no such user for workers: {user!r} (--worker-user)") from None
    if entry.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise ValueError(f"only root can run workers as another user ({user!r}, --worker-user)")
    return Identity(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def unreadable_for(identity: Identity, directory: Path) -> str | None:
    """Why ``identity`` (not the directory's owner, not in its group) cannot read the app in
    ``directory``, or ``None`` when it can: every folder above it searchable by others, the
    folder itself readable."""
    need = stat.S_IXOTH
    for folder in [directory, *directory.parents]:
        mode = folder.stat().st_mode
        bits = need | (stat.S_IROTH if folder == directory else 0)
        if folder.stat().st_uid != identity.uid and mode & bits != bits:
            return (
                f"workers run as user {identity.name} (--worker-user) and cannot read {directory}: "
                f"{folder} is mode {stat.S_IMODE(mode):o}; make it readable by others "
                "(chmod o+rx) or pass --worker-user root"
            )
    return None


def make_home(worker_id: str, identity: Identity | None) -> Path:
    """A new private dir for one worker (its ``TMPDIR``), owned by the user it runs as."""
    home = Path(tempfile.mkdtemp(prefix=f"inferencesh-{worker_id}-"))
    if identity is not None:
        os.chown(home, identity.uid, identity.gid)
    return home


def remove_home(home: Path | None) -> None:
    """Delete a worker's home and what its app left there."""
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def worker_env(
    base: Mapping[str, str], home: str, worker_id: str, identity: Identity | None
) -> dict[str, str]:
    """A worker's environment: the server's (apps' secrets live there) without the platform's
    key, temp files in the worker's home, and the server's pid for its watchdog."""
    env = {k: v for k, v in base.items() if k not in _SECRET_ENV}
    env.update(
        PYTHONUNBUFFERED="1",
        INFERENCESH_WORKER_ID=worker_id,
        TMPDIR=home,
        TMP=home,
        TEMP=home,
    )
    env[PARENT_ENV] = str(os.getpid())
    if identity is not None:
        env.update(HOME=home, USER=identity.name, LOGNAME=identity.name)
    return env


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Looked up once in the server: the child between fork and exec only makes the calls.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


_umask = {"workers": 0o022}


def private_files() -> None:
    """Make what this process creates private (umask 077) from now on; workers still start
    with the umask it had before."""
    _umask["workers"] = os.umask(0o077)


def worker_preexec(identity: Identity | None) -> Callable[[], None]:
    """What the child runs between fork and exec: the platform's umask undone, the user
    switched (groups, then gid, then uid), then the parent-death signal set (a change of user
    clears it) and a server that died meanwhile noticed."""
    parent = os.getpid()
    umask = _umask["workers"]

    def prepare() -> None:
        os.umask(umask)
        if identity is not None:
            os.setgroups([])
            os.setgid(identity.gid)
            os.setuid(identity.uid)
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:
            os._exit(1)

    return prepare


# -- the record of running workers, for the next start ------------------------------------------


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) from /proc, or ``None``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def record_worker(run_dir: Path, worker_id: str, pid: int, home: Path) -> None:
    """Note a started worker (``<run_dir>/<id>.pid``: pid, start time, home)."""
    started = _start_time(pid) or "-"
    (run_dir / f"{worker_id}.pid").write_text(f"{pid} {started} {home}\n", encoding="utf-8")


def forget_worker(run_dir: Path, worker_id: str) -> None:
    """Drop a stopped worker's record."""
    (run_dir / f"{worker_id}.pid").unlink(missing_ok=True)


def reap_leftovers(run_dir: Path) -> int:
    """Kill the process groups of workers a previous server left running (their pid still
    names the same process: same start time) and remove their homes; returns how many were
    killed. Call before starting any worker."""
    killed = 0
    for record in run_dir.glob("wrk_*.pid") if run_dir.is_dir() else ():
        try:
            pid_text, started, home = record.read_text(encoding="utf-8").split(maxsplit=2)
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if started != "-" and _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed += 1
                log.warning("killed worker %s (pid %d) left by a previous server", record.stem, pid)
        remove_home(Path(home.strip()))
    return killed

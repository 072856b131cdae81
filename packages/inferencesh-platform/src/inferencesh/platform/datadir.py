"""The data directory: private to its owner (0700, its files 0600), and used by one server at
a time (a lock held for the server's life).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from inferencesh.platform.datadir import DataDirLock, DataDirBusy, make_private
    >>> data = make_private(Path(tempfile.mkdtemp()) / "data")
    >>> oct(data.stat().st_mode & 0o777)
    '0o700'
    >>> first = DataDirLock(data).acquire()
    >>> try:
    ...     DataDirLock(data).acquire()
    ... except DataDirBusy as exc:
    ...     print("busy" if "already uses" in str(exc) else exc)
    busy
    >>> first.release()
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["LOCK_FILE", "DataDirBusy", "DataDirLock", "make_private", "private_file"]

LOCK_FILE = "lock"


def make_private(data_dir: Path) -> Path:
    """Create ``data_dir`` (and parents) if needed and make it 0700; returns it."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):  # not ours: its owner decides
        data_dir.chmod(0o700)
    return data_dir


def private_file(path: Path) -> None:
    """Make an existing file 0600 (a missing one is left alone)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)


class DataDirBusy(RuntimeError):
    """Another server holds the data directory's lock."""


class DataDirLock:
    """An exclusive lock on a data directory (``<data_dir>/lock``, holding the owner's pid).

    The operating system drops it when the process ends, however it ends: a killed server never
    leaves a stale lock. POSIX only (``fcntl``); elsewhere it is a no-op.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock or raise :class:`DataDirBusy` naming the process that holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirBusy(
                f"another inferencesh dev (pid {holder}) already uses the data directory "
                f"{self.path.parent}; stop it first or pass another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (also dropped when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

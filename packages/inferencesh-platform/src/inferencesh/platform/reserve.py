"""Room kept for the last write: a file of reserved space in the data directory, given up when
the disk fills so that the state change that must not be lost (a task ending failed with
"disk full") can still be saved, and taken back once there is space again.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from inferencesh.platform.reserve import SpaceReserve
    >>> reserve = SpaceReserve(Path(tempfile.mkdtemp()) / "reserve", size=4096)
    >>> reserve.ensure(), reserve.path.stat().st_size
    (True, 4096)
    >>> reserve.release(), reserve.path.exists(), reserve.release()
    (True, False, False)
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

__all__ = ["RESERVE_BYTES", "SpaceReserve"]

log = logging.getLogger("inferencesh.platform")

RESERVE_BYTES = 2 * 1024 * 1024
"""Space kept for the writes that end tasks when the disk is full."""
_RETRY_SECONDS = 30.0


class SpaceReserve:
    """A file of ``size`` really allocated bytes (not sparse) at ``path``."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size
        self._next_try = 0.0

    def ensure(self) -> bool:
        """Create the reserve if it is missing; whether it is in place (``False``: no room)."""
        if self.path.is_file() and self.path.stat().st_size >= self.size:
            return True
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                block = b"\0" * 65536
                left = self.size
                while left > 0:  # written, so the blocks are really taken
                    left -= os.write(fd, block[: min(left, len(block))])
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("could not reserve %d bytes in %s: %s", self.size, self.path.parent, exc)
            return False
        return True

    def release(self) -> bool:
        """Give the reserved space up; whether there was any to give."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        log.error("the disk is full: released the space reserved in %s", self.path.parent)
        self._next_try = 0.0  # the next ``restore_later`` looks at once
        return True

    def restore_later(self) -> None:
        """Take the space back if it was given up: looked at right after a release, else at
        most every 30 s (it is called at every task's end)."""
        now = time.monotonic()
        if now >= self._next_try:
            self._next_try = now + _RETRY_SECONDS
            if not self.path.is_file():
                self.ensure()

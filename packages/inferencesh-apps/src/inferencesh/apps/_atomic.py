"""``write_atomic``: replace a file so readers see the old content or the whole new one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``durable`` also fsyncs the data before the rename, for files other processes keep reading
    after a crash (the download cache). On failure the temporary file is removed.
    """
    import tempfile  # lazily: `inferencesh.apps.file` is on the app import path

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

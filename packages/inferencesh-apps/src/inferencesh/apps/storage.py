"""Storage directories of an app container and ``download`` into them.

On the platform an app has ``/app/data`` (kept across runs), ``/app/tmp`` (cleaned between runs)
and ``/app/cache``. Set ``$INFERENCESH_STORAGE_ROOT`` to put the three under another folder
(``<root>/data``, ``<root>/tmp``, ``<root>/cache``), e.g. when running an app on your machine.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import tempfile
from pathlib import Path

from inferencesh.apps.file import File, _url_key

__all__ = ["StorageDir", "adownload", "download"]


class StorageDir(str, enum.Enum):
    """The app's storage directories. ``StorageDir.DATA.path`` creates and returns one."""

    DATA = "/app/data"
    TEMP = "/app/tmp"
    CACHE = "/app/cache"

    def __str__(self) -> str:
        return str(self.path)

    @property
    def path(self) -> Path:
        """The directory (under ``$INFERENCESH_STORAGE_ROOT`` when set), created if missing."""
        root = os.environ.get("INFERENCESH_STORAGE_ROOT")
        folder = Path(root) / Path(self.value).name if root else Path(self.value)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def _target(url: str, directory: str | os.PathLike[str] | StorageDir, file: File) -> Path:
    folder = directory.path if isinstance(directory, StorageDir) else Path(directory)
    return folder / _url_key(url) / (file.filename or "download")


def _place(source: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def download(url: str, directory: str | os.PathLike[str] | StorageDir) -> str:
    """Fetch ``url`` (http(s), data: URI or local path) into ``directory``; returns the path.

    A copy already in ``directory`` is reused, except in ``StorageDir.TEMP``. The file goes
    through the download cache and is copied in whole (temporary file, then rename). Blocking:
    in async code use :func:`adownload`.
    """
    file = File(url)
    target = _target(url, directory, file)
    if target.exists() and directory is not StorageDir.TEMP:
        return str(target)
    _place(file.resolve().path, target)
    return str(target)


async def adownload(url: str, directory: str | os.PathLike[str] | StorageDir) -> str:
    """:func:`download` for async code: the fetch and the copy do not block the event loop."""
    import asyncio

    file = File(url)
    target = _target(url, directory, file)
    if target.exists() and directory is not StorageDir.TEMP:
        return str(target)
    await file.aresolve()
    await asyncio.to_thread(_place, file.path, target)
    return str(target)

"""An app's source files and their fingerprint: how ``inferencesh dev`` notices code edits.

The fingerprint is the set of ``(path, mtime_ns, size)`` of the files a worker's import reads:
Python files, ``inf.yml`` and the requirements and project files, in the app folder and its
subfolders. Hidden folders, ``__pycache__``, virtual environments (any folder holding a
``pyvenv.cfg``), ``site-packages`` and ``node_modules`` are skipped, and the walk is bounded
(breadth first, so the app's own top-level files always count, and at most ``MAX_DIR_ENTRIES``
entries of any one folder): a data tree kept in the app folder costs at most the bound, never a
full crawl.
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path

__all__ = ["CodeWatch", "Fingerprint", "fingerprint"]

Fingerprint = frozenset[tuple[str, int, int]]
"""``(path relative to the app folder, mtime_ns, size)`` of each source file."""

_SOURCE_NAMES = frozenset({"inf.yml", "pyproject.toml", "setup.cfg"})
_SKIP_DIRS = frozenset({"__pycache__", "site-packages", "node_modules"})
MAX_ENTRIES = 4000
"""Directory entries one scan looks at, at most (files and folders, sources or not)."""
MAX_DIR_ENTRIES = 1000
"""Entries one folder contributes, at most: a larger one is a data folder, not code."""
MAX_DEPTH = 8
"""Folder levels below the app folder a scan descends."""


def _is_source(name: str) -> bool:
    return (
        name.endswith(".py")
        or name in _SOURCE_NAMES
        or (name.startswith("requirements") and name.endswith(".txt"))
    )


def _folder_id(path: str | Path) -> tuple[int, int] | None:
    """What makes a folder the same folder whatever the path to it (symlinks followed)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def fingerprint(directory: Path, *, skip: Path | None = None) -> tuple[Fingerprint, bool]:
    """The source fingerprint of the app in ``directory``, and whether the scan hit a bound
    (``MAX_ENTRIES``, ``MAX_DIR_ENTRIES``, ``MAX_DEPTH``) and so may have left files out.
    ``skip`` is a folder never entered (the server's data directory, when inside the app),
    by whatever path (a symlink) it is reached.

    Each folder is read once, under one path: a symlink to a folder inside the app (a loop
    back to it included) is not followed, since the folder is read where it is, and a folder
    outside reached again (a second link, a loop out there) is not read again; so a loop
    neither spends the bounds nor counts as a large folder. Files that vanish or cannot be
    read while scanning are left out: they change the print the same way a deleted file does.
    """
    found: list[tuple[str, int, int]] = []
    skip_id = _folder_id(skip) if skip is not None else None
    inside = os.path.join(os.path.realpath(directory), "")
    seen = {_folder_id(directory)}
    queue = collections.deque([(str(directory), "", 0)])
    budget = MAX_ENTRIES
    bounded = False
    while queue:
        path, prefix, depth = queue.popleft()
        limit = min(budget, MAX_DIR_ENTRIES)
        entries: list[os.DirEntry[str]] = []
        try:
            with os.scandir(path) as listing:
                # Read lazily: a folder of 100 000 data files costs ``limit`` entries, not all.
                for entry in listing:
                    if len(entries) == limit:
                        bounded = True
                        break
                    entries.append(entry)
        except OSError:
            continue
        budget -= len(entries)
        if depth and any(e.name == "pyvenv.cfg" for e in entries):
            continue  # a virtual environment: installed packages, not the app's code
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():
                    if name.startswith(".") or name in _SKIP_DIRS:
                        continue
                    if entry.is_symlink() and os.path.join(
                        os.path.realpath(entry.path), ""
                    ).startswith(inside):
                        continue
                    stat = entry.stat()  # follows a symlink: the folder it names
                    folder = (stat.st_dev, stat.st_ino)
                    if folder == skip_id or folder in seen:
                        continue
                    if depth + 1 > MAX_DEPTH:
                        bounded = True
                        continue
                    seen.add(folder)
                    queue.append((entry.path, prefix + name + "/", depth + 1))
                elif _is_source(name):
                    stat = entry.stat()
                    found.append((prefix + name, stat.st_mtime_ns, stat.st_size))
            except OSError:
                continue  # gone meanwhile, or a dangling link
        if budget <= 0:
            bounded = bounded or bool(queue)
            break
    return frozenset(found), bounded


class CodeWatch:
    """Notices when an app's sources change, scanning at most as often as is cheap.

    A scan is skipped when the last one was less than ``SPACING`` times its own cost ago, and
    never less than ``MIN_INTERVAL`` nor more than ``MAX_INTERVAL`` seconds, so checking takes
    at most about 2% of the server's time however large the folder (and nothing a task would
    notice however small): a 200-file app that scans in half a millisecond is looked at again
    after 100 ms, and an edit is always seen within ``MAX_INTERVAL``.
    """

    SPACING = 50.0
    MIN_INTERVAL = 0.1
    MAX_INTERVAL = 0.5

    def __init__(self, directory: Path, *, skip: Path | None = None) -> None:
        self.directory = directory
        self._skip = skip
        self.bounded = False
        """Whether the last scan hit its bound (so edits past it go unnoticed)."""
        self.cost = 0.0
        """Seconds the last scan took."""
        self._scanned_at = 0.0
        self._seen = self._scan()

    def _scan(self) -> Fingerprint:
        started = time.perf_counter()
        found, self.bounded = fingerprint(self.directory, skip=self._skip)
        self.cost = time.perf_counter() - started
        self._scanned_at = time.monotonic()
        return found

    def changed(self) -> bool:
        """Whether the sources changed since the last scan that saw a change (or the first);
        ``False`` without scanning when the last scan was too recent."""
        wait = min(self.MAX_INTERVAL, max(self.MIN_INTERVAL, self.cost * self.SPACING))
        if time.monotonic() - self._scanned_at < wait:
            return False
        current = self._scan()
        if current == self._seen:
            return False
        self._seen = current
        return True

"""Encoding of records into the wire shapes (TaskDTO, FileDTO, AppSessionDTO).

Records are plain dicts in the platform; this is the one place that turns them into what
clients receive, dropping null fields and internal bookkeeping.
"""

from __future__ import annotations

from typing import Any

from inferencesh.apps.platform.responses import encode

__all__ = ["encode", "file", "session", "task"]

_FILE_INTERNAL = ("uploaded",)


def task(doc: dict[str, Any]) -> dict[str, Any]:
    """A TaskDTO (``output`` stays present, even when null, as clients read it)."""
    return {k: v for k, v in doc.items() if v is not None or k == "output"}


def file(doc: dict[str, Any]) -> dict[str, Any]:
    """A FileDTO."""
    return {k: v for k, v in doc.items() if v is not None and k not in _FILE_INTERNAL}


def session(doc: dict[str, Any]) -> dict[str, Any]:
    """An AppSessionDTO."""
    return {k: v for k, v in doc.items() if v is not None}

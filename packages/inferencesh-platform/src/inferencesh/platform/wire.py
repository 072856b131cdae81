"""Records to wire types: the one place the platform's records become the core wire types
(``Task``, ``UploadedFile``, ``SessionInfo`` from ``inferencesh.core.types``) that responses encode.

Going through the shared structs keeps the server's JSON exactly the shape the client decodes:
the records' own bookkeeping is dropped and unset fields are omitted. Task records are already
structs (``TaskRecord``); file and session records are dicts, converted here.
"""

from __future__ import annotations

from typing import Any

import msgspec
from inferencesh.core.types import SessionInfo, Task, UploadedFile
from inferencesh.platform.records import PRIVATE_TASK_FIELDS, TaskRecord, task_reply

__all__ = ["file", "session", "task"]

_PRIVATE = tuple(sorted(PRIVATE_TASK_FIELDS))


def task(record: Task) -> Task:
    """A ``Task`` (TaskDTO) from a task record (``TaskRecord``) or a partial update of one,
    for a reply encoded at once: a record without the platform's own fields is returned as
    it is (it encodes to the same JSON, unset fields being left out), not copied."""
    if isinstance(record, TaskRecord) and any(getattr(record, f) is not None for f in _PRIVATE):
        return task_reply(record)
    return record


def file(doc: dict[str, Any]) -> UploadedFile:
    """An ``UploadedFile`` (FileDTO) from a file record."""
    return msgspec.convert(doc, UploadedFile)


def session(doc: dict[str, Any]) -> SessionInfo:
    """A ``SessionInfo`` (AppSessionDTO) from a session record."""
    return msgspec.convert(doc, SessionInfo)

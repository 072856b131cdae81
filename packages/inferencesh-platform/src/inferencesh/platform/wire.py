"""Records to wire types: the one place the platform's dict records become the core wire types
(``Task``, ``UploadedFile``, ``SessionInfo`` from ``inferencesh.core.types``) that responses encode.

Going through the shared structs keeps the server's JSON exactly the shape the client decodes:
unknown record keys (internal bookkeeping) are dropped and unset fields are omitted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from inferencesh.core.types import SessionInfo, Task, UploadedFile

__all__ = ["file", "session", "task", "task_events"]


def task(doc: dict[str, Any]) -> Task:
    """A ``Task`` (TaskDTO) from a task record or a partial update of one."""
    return msgspec.convert(doc, Task)


async def task_events(
    events: AsyncIterator[dict[str, Any]],
) -> AsyncIterator[dict[str, Any]]:
    """A task's stream events (``{data, fields}``) with each ``data`` as a ``Task``."""
    async for event in events:
        yield {**event, "data": task(event["data"])}


def file(doc: dict[str, Any]) -> UploadedFile:
    """An ``UploadedFile`` (FileDTO) from a file record."""
    return msgspec.convert(doc, UploadedFile)


def session(doc: dict[str, Any]) -> SessionInfo:
    """A ``SessionInfo`` (AppSessionDTO) from a session record."""
    return msgspec.convert(doc, SessionInfo)

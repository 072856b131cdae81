"""The platform's task record: the core ``Task`` wire type plus what the platform keeps for
itself and never sends.

Stored in SQLite as the record's JSON (``Store.put_task``), the same document the platform kept
when records were dicts: data directories written before keep loading (unknown keys are ignored,
missing ones take their defaults). :func:`task_reply` is the one place a record becomes the
``Task`` a reply or a stream carries.
"""

from __future__ import annotations

from typing import Any

from inferencesh.core.types import Task

__all__ = ["PRIVATE_TASK_FIELDS", "TaskRecord", "set_fields", "task_reply"]


class TaskRecord(Task):
    """A task as the platform keeps it.

    ``metadata`` is the run request's ``metadata``; ``output_meta`` the app's usage report,
    taken out of the output (the API never returns it). Neither is part of a reply.
    """

    metadata: dict[str, Any] | None = None
    output_meta: Any = None


PRIVATE_TASK_FIELDS = frozenset(TaskRecord.__struct_fields__) - frozenset(Task.__struct_fields__)
_TASK_FIELDS = Task.__struct_fields__


def task_reply(record: Task) -> Task:
    """The ``Task`` (TaskDTO) of a record, without the platform's own fields."""
    if type(record) is Task:
        return record
    return Task(**{name: getattr(record, name) for name in _TASK_FIELDS})


def set_fields(record: Task) -> list[str]:
    """The reply fields a record has set (what a full stream update lists in ``fields``)."""
    return [name for name in _TASK_FIELDS if getattr(record, name) is not None]

"""The namespaced views of a client: ``client.tasks``, ``client.files``, ``client.sessions``.

Each attribute is the client's own method under a shorter name, so ``client.tasks.get(id)``
and ``client.get_task(id)`` are the same call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference

__all__ = ["AsyncFiles", "AsyncSessions", "AsyncTasks", "Files", "Sessions", "Tasks"]


class Tasks:
    """``client.tasks``: ``run``, ``get``, ``cancel``, ``wait_for_completion``, ``stream``,
    ``delete``, ``files``, ``delete_files``."""

    def __init__(self, client: Inference) -> None:
        self.run = client.run
        self.get = client.get_task
        self.cancel = client.cancel
        self.wait_for_completion = client.wait_for_completion
        self.stream = client.stream_task
        self.delete = client.delete_task
        self.files = client.task_files
        self.delete_files = client.delete_task_files


class AsyncTasks:
    """``client.tasks`` of the async client."""

    def __init__(self, client: AsyncInference) -> None:
        self.run = client.run
        self.get = client.get_task
        self.cancel = client.cancel
        self.wait_for_completion = client.wait_for_completion
        self.stream = client.stream_task
        self.delete = client.delete_task
        self.files = client.task_files
        self.delete_files = client.delete_task_files


class Files:
    """``client.files``: ``upload``."""

    def __init__(self, client: Inference) -> None:
        self.upload = client.upload_file


class AsyncFiles:
    """``client.files`` of the async client."""

    def __init__(self, client: AsyncInference) -> None:
        self.upload = client.upload_file


class Sessions:
    """``client.sessions``: ``start``, ``get``, ``list``, ``keepalive``, ``end``."""

    def __init__(self, client: Inference) -> None:
        self.start = client.session
        self.get = client.get_session
        self.list = client.list_sessions
        self.keepalive = client.keepalive
        self.end = client.end_session


class AsyncSessions:
    """``client.sessions`` of the async client."""

    def __init__(self, client: AsyncInference) -> None:
        self.start = client.session
        self.get = client.get_session
        self.list = client.list_sessions
        self.keepalive = client.keepalive
        self.end = client.end_session

"""The namespaced views of a client: ``client.tasks``, ``client.files``, ``client.sessions``.

Each attribute is the client's own method under a shorter name, so ``client.tasks.get(id)``
and ``client.get_task(id)`` are the same call. The classes are also importable under the names
the earlier ``inferencesh`` 0.36 gave them (``TasksAPI``, ``AsyncTasksAPI``, ``FilesAPI``, ...),
and ``AgentsAPI`` / ``AsyncAgentsAPI`` are the base of ``client.agents`` (which needs
``inferencesh-agents``).

Example:
    >>> from inferencesh import TasksAPI
    >>> isinstance(client.tasks, TasksAPI)
    True
    >>> task = client.tasks.run({"app": "local/hello", "input": {"prompt": "A cat"}})
    >>> print(client.tasks.get(task.id).status)
    completed
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferencesh.agents import Agent, AsyncAgent
    from inferencesh.core.client import AsyncInference, Inference

__all__ = [
    "AgentsAPI",
    "AsyncAgentsAPI",
    "AsyncFiles",
    "AsyncFilesAPI",
    "AsyncSessions",
    "AsyncSessionsAPI",
    "AsyncTasks",
    "AsyncTasksAPI",
    "Files",
    "FilesAPI",
    "Sessions",
    "SessionsAPI",
    "Tasks",
    "TasksAPI",
]


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


class AgentsAPI:
    """``client.agents``: ``create(config)`` makes an ``Agent`` (needs ``inferencesh-agents``,
    imported on first use; ``client.agents`` itself is its subclass there, with more calls).

    Example:
        >>> from inferencesh import AgentsAPI
        >>> agent = AgentsAPI(client).create("local/assistant")
        >>> type(agent).__name__
        'Agent'
    """

    def __init__(self, client: Inference) -> None:
        self._client = client

    def create(self, config: Any, **kwargs: Any) -> Agent:
        """A new ``Agent`` for a template ref (``"ns/agent@version"``) or an ad-hoc config."""
        return self._client.agent(config, **kwargs)


class AsyncAgentsAPI:
    """``client.agents`` of the async client: ``create(config)`` makes an ``AsyncAgent``."""

    def __init__(self, client: AsyncInference) -> None:
        self._client = client

    def create(self, config: Any, **kwargs: Any) -> AsyncAgent:
        """A new ``AsyncAgent`` (no request is made until the first message)."""
        return self._client.agent(config, **kwargs)


# The names of the earlier inferencesh 0.36.
TasksAPI = Tasks
AsyncTasksAPI = AsyncTasks
FilesAPI = Files
AsyncFilesAPI = AsyncFiles
SessionsAPI = Sessions
AsyncSessionsAPI = AsyncSessions

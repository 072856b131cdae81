"""The 0.36 path ``inferencesh.api``; the client namespaces live in ``inferencesh.core``."""

from inferencesh.core import AgentsAPI as AgentsAPI
from inferencesh.core import AsyncAgentsAPI as AsyncAgentsAPI
from inferencesh.core import AsyncFilesAPI as AsyncFilesAPI
from inferencesh.core import AsyncSessionHandle as AsyncSessionHandle
from inferencesh.core import AsyncSessionsAPI as AsyncSessionsAPI
from inferencesh.core import AsyncSocketsAPI as AsyncSocketsAPI
from inferencesh.core import AsyncTasksAPI as AsyncTasksAPI
from inferencesh.core import FilesAPI as FilesAPI
from inferencesh.core import SessionHandle as SessionHandle
from inferencesh.core import SessionsAPI as SessionsAPI
from inferencesh.core import SocketsAPI as SocketsAPI
from inferencesh.core import TasksAPI as TasksAPI

__all__ = [
    "AgentsAPI",
    "AsyncAgentsAPI",
    "AsyncFilesAPI",
    "AsyncSessionHandle",
    "AsyncSessionsAPI",
    "AsyncSocketsAPI",
    "AsyncTasksAPI",
    "FilesAPI",
    "SessionHandle",
    "SessionsAPI",
    "SocketsAPI",
    "TasksAPI",
]

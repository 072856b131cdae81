"""The 0.36 path ``inferencesh.api.tasks``; ``client.tasks`` lives in ``inferencesh.core``."""

from inferencesh.core import AsyncTasksAPI as AsyncTasksAPI
from inferencesh.core import TasksAPI as TasksAPI

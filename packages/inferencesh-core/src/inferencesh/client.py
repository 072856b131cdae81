"""The 0.36 path ``inferencesh.client``; the clients live in ``inferencesh.core``."""

from inferencesh.core import AsyncInference as AsyncInference
from inferencesh.core import AsyncTaskStream as AsyncTaskStream
from inferencesh.core import Inference as Inference
from inferencesh.core import TaskStream as TaskStream
from inferencesh.core import UploadFileOptions as UploadFileOptions
from inferencesh.core import is_message_ready as is_message_ready
from inferencesh.core import is_terminal_status as is_terminal_status
from inferencesh.core import parse_status as parse_status

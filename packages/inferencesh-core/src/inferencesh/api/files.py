"""The 0.36 path ``inferencesh.api.files``; ``client.files`` lives in ``inferencesh.core``."""

from inferencesh.core import AsyncFilesAPI as AsyncFilesAPI
from inferencesh.core import FilesAPI as FilesAPI

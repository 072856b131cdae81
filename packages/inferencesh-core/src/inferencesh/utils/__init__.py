"""The 0.36 path ``inferencesh.utils``; storage helpers live in ``inferencesh.apps.storage``."""

from inferencesh.utils.download import download as download
from inferencesh.utils.storage import StorageDir as StorageDir

__all__ = ["StorageDir", "download"]

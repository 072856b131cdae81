"""The 0.36 path ``inferencesh.utils.storage``; ``StorageDir`` lives in ``inferencesh.apps.storage``."""

from inferencesh.apps.storage import StorageDir as StorageDir

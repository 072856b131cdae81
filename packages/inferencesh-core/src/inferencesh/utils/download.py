"""The 0.36 path ``inferencesh.utils.download``; ``download`` lives in ``inferencesh.apps.storage``."""

from inferencesh.apps.storage import download as download

"""The 0.36 path ``inferencesh.models.file``; ``File`` lives in ``inferencesh.apps.file``."""

from inferencesh.apps.file import File as File

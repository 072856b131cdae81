"""inferencesh-core: the typed client for the inference.sh task, file and session API."""

from inferencesh.core._version import __version__

__all__ = ["__version__"]

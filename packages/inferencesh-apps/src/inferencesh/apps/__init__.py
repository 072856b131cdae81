"""inferencesh-apps: the authoring API, runtime, worker, local platform and CLI for apps."""

from inferencesh.apps._version import __version__

__all__ = ["__version__"]

"""inferencesh-agents: the agent chat client and the fluent tool builder."""

from inferencesh.agents._version import __version__

__all__ = ["__version__"]

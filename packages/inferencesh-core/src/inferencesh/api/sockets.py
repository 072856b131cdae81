"""The 0.36 path ``inferencesh.api.sockets``; ``client.sockets`` lives in ``inferencesh.core``."""

from inferencesh.core import AsyncSocketsAPI as AsyncSocketsAPI
from inferencesh.core import SocketsAPI as SocketsAPI
from inferencesh.core.sockets import SocketTarget as SocketTarget

__all__ = ["AsyncSocketsAPI", "SocketTarget", "SocketsAPI"]

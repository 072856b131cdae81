"""The ``Socket`` protocol of stream functions, under 0.36's import path
(``inferencesh.models.socket``). The definition lives in :mod:`inferencesh.apps.socket`.

Example:
    >>> from inferencesh.models.socket import Socket
    >>> Socket.__module__
    'inferencesh.apps.socket'
"""

from inferencesh.apps.socket import SOCKET_PARAMETERS, Frame, Socket

__all__ = ["SOCKET_PARAMETERS", "Frame", "Socket"]

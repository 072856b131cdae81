"""The ``Socket`` a stream function is given: its duplex connection with the caller.

A stream function is an app method with a parameter named ``socket`` (or ``sock``) after its
input. The runtime supplies an object that satisfies :class:`Socket`; app code only relies on
this protocol, so a test can hand the function any object with the same members.

Example:
    >>> from inferencesh.apps.socket import Socket
    >>> class Echo:
    ...     async def talk(self, input_data, socket: Socket):
    ...         async for frame in socket:
    ...             await socket.send(frame)
    >>> Socket.__name__
    'Socket'
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

__all__ = ["SOCKET_PARAMETERS", "Frame", "Socket"]

Frame = bytes | str
"""What one frame from the caller is: ``bytes`` (binary) or ``str`` (text)."""

SOCKET_PARAMETERS = frozenset({"socket", "sock"})
"""The parameter names that make a method a stream function."""


@runtime_checkable
class Socket(Protocol):
    """The caller's end of a stream function, as the runtime supplies it.

    - ``await recv()``: the next frame (``bytes`` or ``str``), or ``None`` once the caller is
      gone; ``async for frame in socket`` reads the same frames in order.
    - ``await send(data)``: ``bytes`` go out as a binary frame, ``str`` as text, anything else
      as JSON text. Sending after the caller left does nothing (it never raises).
    - ``dropped``: binary frames the runtime dropped because the app read too slowly; at most
      ``binary_backlog`` binary frames wait (``None``: no limit). Text frames are never dropped.
    """

    id: str
    metadata: dict[str, Any]
    dropped: int
    binary_backlog: int | None

    @property
    def closed(self) -> bool:
        """Whether the connection is over (no more frames will arrive)."""
        ...

    async def recv(self) -> Frame | None:
        """The next frame, or ``None`` once the caller is gone."""
        ...

    async def send(self, data: Any) -> None:
        """Send one frame to the caller."""
        ...

    async def close(self) -> None:
        """Stop reading; the caller's end is closed."""
        ...

    def __aiter__(self) -> AsyncIterator[Frame]:
        """The frames in order, until the caller is gone."""
        ...

"""``Response``: a reply's data with the platform's messages (warnings) beside it.

The published SDK 0.36 returned it from its client's requests; here the client returns typed
objects and hands messages to ``on_message``, and this class is kept for code that builds or
reads one.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["Response"]

T = TypeVar("T")


class Response(Generic[T]):
    """``data`` plus the list of ``messages`` (dicts with ``level`` and ``text``) sent with it.

    Example:
        >>> from inferencesh.models import Response
        >>> reply = Response({"id": "t1"}, [{"level": "warning", "text": "deprecated"}])
        >>> reply.data["id"], reply.has_warnings
        ('t1', True)
    """

    __slots__ = ("data", "messages")

    def __init__(self, data: T, messages: list[dict[str, Any]] | None = None) -> None:
        self.data = data
        self.messages: list[dict[str, Any]] = list(messages or [])

    @property
    def has_warnings(self) -> bool:
        """Whether any message has ``level == "warning"``."""
        return any(m.get("level") == "warning" for m in self.messages if isinstance(m, dict))

    def __repr__(self) -> str:
        return f"Response(data={self.data!r}, messages={self.messages!r})"

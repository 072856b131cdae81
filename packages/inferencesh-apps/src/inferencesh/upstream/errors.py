"""The errors of ``inferencesh.upstream``."""

from __future__ import annotations

from typing import Any

__all__ = ["MissingSecret", "UpstreamError"]


class UpstreamError(RuntimeError):
    """The vendor answered with an error, or could not be reached.

    ``status`` is the HTTP status (``None`` when no answer came), ``body`` the answer's JSON
    when it was JSON, else its text cut to ``ERROR_BODY_LIMIT`` characters; ``method`` and
    ``path`` name the request (never its query or headers, which may hold secrets).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.method = method
        self.path = path


class MissingSecret(UpstreamError):
    """A secret the auth needs is not in the environment: the app is not set up with it."""

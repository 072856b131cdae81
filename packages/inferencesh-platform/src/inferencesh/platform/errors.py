"""The error the platform's handlers raise; the app turns it into either envelope."""

from __future__ import annotations

from typing import Any

__all__ = ["PlatformError"]


class PlatformError(Exception):
    """An HTTP error with a machine-readable ``code`` and a message saying what was wrong.

    ``body`` replaces the envelope entirely (used for the 412 requirements body, which the
    platform sends unwrapped in both API versions).
    """

    def __init__(self, status: int, code: str, message: str, *, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    @classmethod
    def bad_request(cls, message: str) -> PlatformError:
        """400 ``invalid_request``."""
        return cls(400, "invalid_request", message)

    @classmethod
    def not_found(cls, message: str) -> PlatformError:
        """404 ``not_found``."""
        return cls(404, "not_found", message)

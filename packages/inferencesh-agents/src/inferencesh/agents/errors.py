"""Errors of the agent client, rooted in the core hierarchy (``InferenceError``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferencesh.core.errors import InferenceError

if TYPE_CHECKING:
    from inferencesh.agents.responses import AgentResponse

__all__ = ["AgentError", "AgentTurnFailedError"]


class AgentError(InferenceError):
    """The agent client cannot do what was asked (no chat yet, a malformed server reply, ...)."""


class AgentTurnFailedError(AgentError):
    """The agent's turn ended with a failed assistant message; ``.response`` holds what it said."""

    def __init__(self, message: str, response: AgentResponse) -> None:
        super().__init__(message)
        self.response = response

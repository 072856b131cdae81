"""Tool calls a chat waits on a person for: ``pending_approvals(chat)``.

Example:
    >>> from inferencesh import pending_approvals
    >>> chat = {"id": "chat_1", "pending_interrupts": [{
    ...     "id": "intr_1", "reason": "tool_approval", "status": "pending",
    ...     "resource_id": "tinv_1", "meta": {"tool_name": "delete", "arguments": {"all": True}}}]}
    >>> [(p.tool_name, p.tool_invocation_id, p.arguments) for p in pending_approvals(chat)]
    [('delete', 'tinv_1', {'all': True})]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inferencesh.core.chat import Chat

__all__ = ["PendingApproval", "pending_approvals"]


@dataclass
class PendingApproval:
    """A tool call waiting for a person's decision: approve it with
    ``agent.approve_tool(item.tool_invocation_id)`` or reject it with ``agent.reject_tool(...)``.
    """

    interrupt_id: str
    tool_invocation_id: str
    chat_id: str
    tool_name: str
    arguments: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def pending_approvals(chat: Chat | Mapping[str, Any] | None) -> list[PendingApproval]:
    """The tool approvals ``chat`` (a ``Chat`` or its JSON) waits on, from its
    ``pending_interrupts``: those with reason ``tool_approval`` still ``pending``."""
    data = _plain(chat)
    if not isinstance(data, Mapping):
        return []
    found = []
    for item in data.get("pending_interrupts") or ():
        interrupt = _plain(item)
        if not isinstance(interrupt, Mapping):
            continue
        if interrupt.get("reason") != "tool_approval" or interrupt.get("status") != "pending":
            continue
        meta = interrupt.get("meta") or {}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {}
        meta = meta if isinstance(meta, Mapping) else {}
        arguments = meta.get("arguments")
        found.append(
            PendingApproval(
                interrupt_id=str(interrupt.get("id") or ""),
                tool_invocation_id=str(
                    interrupt.get("resource_id") or meta.get("tool_invocation_id") or ""
                ),
                chat_id=str(interrupt.get("chat_id") or data.get("id") or ""),
                tool_name=str(meta.get("tool_name") or ""),
                arguments=dict(arguments) if isinstance(arguments, Mapping) else {},
            )
        )
    return found

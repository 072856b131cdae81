"""0.36's types of a client tool given with its handler: ``ClientTool`` and ``ClientToolHandler``.

``client.agent({... "tools": [{"schema": tool_json, "handler": fn}]})`` runs ``fn`` for each call
of the tool, as a tool built with ``tool(...).handler(fn).build()`` does.

Example:
    >>> from inferencesh import ClientTool, string, tool
    >>> echo: ClientTool = {
    ...     "schema": tool("echo").param("text", string()).build(),
    ...     "handler": lambda args: args["text"],
    ... }
    >>> echo["schema"]["name"], echo["handler"]({"text": "hi"})
    ('echo', 'hi')
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict

__all__ = ["ClientTool", "ClientToolHandler"]

ClientToolHandler = Callable[[dict[str, Any]], Any | Awaitable[Any]]
"""A client tool's handler: the call's arguments in, the result (or an awaitable of it) out."""


class ClientTool(TypedDict):
    """A client tool's JSON (``schema``) with the function that answers its calls."""

    schema: Mapping[str, Any]
    handler: ClientToolHandler

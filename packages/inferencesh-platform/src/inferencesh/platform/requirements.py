"""``POST /integrations/check``: which of the asked-for secrets and credentials are missing.

Secrets are the server's environment variables (they reach workers the same way); a local
platform has no connected accounts, so every required credential is missing.
"""

from __future__ import annotations

import os
from typing import Any

from inferencesh.core.types import RequirementError, SetupAction
from inferencesh.platform.errors import PlatformError

__all__ = ["check_requirements"]


def _entries(body: dict[str, Any], field: str) -> list[dict[str, Any]]:
    raw = body.get(field)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PlatformError.bad_request(f"`{field}` must be a list, got {type(raw).__name__}")
    entries = []
    for index, item in enumerate(raw):
        if isinstance(item, str) and item:
            item = {"key": item}
        key = item.get("key") if isinstance(item, dict) else None
        provider = item.get("provider") if isinstance(item, dict) else None
        # A credential may be named by its provider alone; a secret needs its key.
        name = key or (provider if field != "secrets" else None)
        if not isinstance(name, str) or not name:
            need = "`key`" if field == "secrets" else "`key` or `provider`"
            raise PlatformError.bad_request(
                f"`{field}[{index}]` must be a non-empty string or an object with {need}, "
                f"got {item!r}"
            )
        if item.get("optional") is not None and not isinstance(item["optional"], bool):
            raise PlatformError.bad_request(f"`{field}[{index}].optional` must be a boolean")
        entries.append({**item, "key": name})
    return entries


def check_requirements(body: Any) -> dict[str, Any]:
    """The ``{satisfied, errors}`` answer (``CheckRequirementsResponse``) for a check request
    ``{secrets?, credentials?, integrations?}``; optional entries are never missing."""
    if not isinstance(body, dict):
        raise PlatformError.bad_request(
            "body must be a JSON object {secrets?: [...], credentials?: [...]}"
        )
    errors: list[RequirementError] = []
    for secret in _entries(body, "secrets"):
        key = secret["key"]
        if not secret.get("optional") and not os.environ.get(key):
            errors.append(
                RequirementError(
                    type="secret",
                    key=key,
                    message=f"the secret {key} is not set: set the environment variable {key} "
                    "before `inferencesh dev`",
                    action=SetupAction(type="add_secret", secrets=[key]),
                )
            )
    # `integrations` is the older name of `credentials`.
    for field in ("credentials", "integrations"):
        for credential in _entries(body, field):
            if credential.get("optional"):
                continue
            provider = credential.get("provider")
            action = SetupAction(
                type="connect", provider=provider if isinstance(provider, str) else None
            )
            errors.append(
                RequirementError(
                    type="credential",
                    key=credential["key"],
                    message=f"the credential {credential['key']} is not connected: "
                    "the local platform has no connected accounts",
                    action=action,
                )
            )
    return {"satisfied": not errors, "errors": errors}

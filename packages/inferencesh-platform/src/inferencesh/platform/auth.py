"""The API key: generated once and kept in the data directory, required on every route.

Storage URLs (presigned-style upload and download links) carry an HMAC signature instead of
the key, because clients ``PUT`` uploads and workers fetch inputs without an ``Authorization``
header, exactly as with a cloud object store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from inferencesh.platform.responses import problem
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

__all__ = ["KEY_FILE", "KeyCheck", "Signer", "load_or_create_key"]

KEY_FILE = "api_key"
PUBLIC_PREFIX = "/storage/"


def load_or_create_key(data_dir: Path, given: str | None = None) -> str:
    """The key to require: ``given``, else the one kept in ``data_dir``, else a new one saved there.

    The file is created with mode 0600 and written atomically.
    """
    if given:
        return given
    path = data_dir / KEY_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    key = "inf_local_" + secrets.token_urlsafe(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.replace(tmp, path)
    return key


class Signer:
    """Signs storage URLs with a key derived from the API key (the key itself never appears)."""

    def __init__(self, api_key: str) -> None:
        self._secret = hmac.new(
            api_key.encode(), b"inferencesh-local-storage", hashlib.sha256
        ).digest()

    def sign(self, message: str) -> str:
        """A URL-safe signature of ``message``."""
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()[:40]

    def verify(self, message: str, signature: str) -> bool:
        """Whether ``signature`` was made by :meth:`sign` for ``message``."""
        return hmac.compare_digest(self.sign(message), signature)


class KeyCheck:
    """The ``Authorization: Bearer <key>`` every HTTP request needs (storage URLs excepted)."""

    def __init__(self, api_key: str) -> None:
        self._expected = f"Bearer {api_key}".encode()

    def refusal(self, scope: Scope) -> Response | None:
        """The 401 for an HTTP request without the key, or ``None`` when it may pass."""
        if str(scope.get("path", "")).startswith(PUBLIC_PREFIX):
            return None
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
                break
        if given and hmac.compare_digest(given.strip(), self._expected):
            return None
        message = (
            "missing API key: send `Authorization: Bearer <key>` (printed by `inferencesh dev`)"
            if not given
            else "invalid API key"
        )
        return problem(Request(scope), 401, "unauthorized", message)

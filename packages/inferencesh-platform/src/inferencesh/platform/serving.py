"""How stored files are named and served: their names (Unicode kept, the extension kept),
their content types (a plain ``type/subtype``, never a header injection) and how a browser is
told to treat them (shown inline only for types that cannot run script; every other type is a
download, and no type is sniffed).

Example:
    >>> from inferencesh.platform.serving import content_type, disposition, file_name
    >>> file_name("../файл 🙂.txt", "fallback")
    'файл 🙂.txt'
    >>> content_type("text/html\\r\\nSet-Cookie: x=1") is None
    True
    >>> content_type("Image/PNG; charset=binary")
    'image/png'
    >>> disposition("image/png"), disposition("text/html"), disposition("image/svg+xml")
    ('inline', 'attachment', 'attachment')
"""

from __future__ import annotations

import os
import re
import unicodedata

__all__ = ["SERVE_HEADERS", "content_type", "disposition", "file_name"]

SERVE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
"""Headers on every stored file served: no type sniffing, and a document opened anyway runs
in a sandbox (no script, no same-origin access to this server)."""

_MAX_NAME = 120
# Characters no file name keeps: path separators, characters shells and file systems treat
# specially, and every control character (CR and LF included).
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# Types a browser shows without running anything in this server's origin.
_INLINE = re.compile(
    r"^(image/(png|jpeg|gif|webp|avif|bmp)|audio/[a-z0-9.+-]+|video/[a-z0-9.+-]+"
    r"|text/plain|application/json|application/pdf)$"
)


def file_name(name: str | None, fallback: str) -> str:
    """A stored file's name from a client's: its last path part, Unicode kept (NFC), unsafe
    characters replaced, at most 120 characters with the extension kept; ``fallback`` when
    nothing is left."""
    base = os.path.basename((name or "").replace("\\", "/"))
    cleaned = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", base)).strip(" ._")
    if not cleaned:
        return fallback
    if len(cleaned) > _MAX_NAME:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            cleaned = stem[: _MAX_NAME - len(ext) - 1].rstrip(" ._") + "." + ext
        else:
            cleaned = cleaned[:_MAX_NAME]
    return cleaned


def content_type(value: str | None) -> str | None:
    """``value`` as a plain lowercase ``type/subtype`` (parameters dropped), or ``None`` when it
    is not one (CR/LF, spaces, missing subtype...)."""
    if not value:
        return None
    kind = value.split(";", 1)[0].strip().lower()
    return kind if _TYPE.match(kind) else None


def disposition(kind: str) -> str:
    """``inline`` for types a browser shows without running script, else ``attachment``."""
    return "inline" if _INLINE.match(kind) else "attachment"

"""Fit an image to what a model provider accepts, by downsizing only: ``fit_image``.

A model app sends images from local files (an input, a tool result, an earlier turn). A provider
refuses an image over its limits (size in bytes, format) and scales down one over its native
resolution anyway, so the app fits each image first:

    data, mime = fit_image(file.path, ImageLimits(max_long_edge=2576, max_pixels=3_750_000))

An image that already fits is returned as its own bytes, never re-encoded and never enlarged.
One over ``max_long_edge`` or ``max_pixels`` is scaled down (Lanczos); one in a format the
provider does not take is re-encoded (PNG when it is allowed, else the first allowed type); one
still over ``max_bytes`` is re-encoded at JPEG/WebP quality 90, 80, then 70 when the provider
takes one of them, then made smaller in steps of 0.75 down to 64 px on its short side. An
animated image keeps its first frame. A file that is not an image is returned unchanged, with a
warning.

Needs Pillow: ``pip install "inferencesh-apps[images]"`` (or ``"inferencesh[images]"``).
``ImageLimits`` imports without it; ``fit_image`` raises an ``ImportError`` saying so.

Example:
    >>> import io
    >>> from PIL import Image
    >>> from inferencesh.images import ImageLimits, fit_image
    >>> Image.new("RGB", (4000, 1000), "white").save("wide.bmp")
    >>> data, mime = fit_image("wide.bmp", ImageLimits(max_long_edge=2000))
    >>> mime, Image.open(io.BytesIO(data)).size
    ('image/png', (2000, 500))
"""

from __future__ import annotations

import io
import logging
import math
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["ImageLimits", "fit_image"]

_log = logging.getLogger("inferencesh.images")

_MIME_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
_FORMAT_MIME = {fmt: mime for mime, fmt in _MIME_FORMAT.items()}
_LOSSY = ("image/jpeg", "image/webp")
_QUALITIES = (90, 80, 70)
_SHRINK = 0.75
_MIN_SIDE = 64
_INSTALL = (
    'fit_image needs Pillow, which is not installed. Install it with: pip install "inferencesh-apps[images]"'
    ' (or "inferencesh[images]")'
)


@dataclass(frozen=True)
class ImageLimits:
    """What a provider takes; ``None`` means no limit of that kind.

    ``max_long_edge`` (pixels on the longer side), ``max_pixels`` (width x height),
    ``max_bytes`` (the encoded size) and ``mime_types`` (the formats it reads).
    """

    max_long_edge: int | None = None
    max_pixels: int | None = None
    max_bytes: int | None = None
    mime_types: tuple[str, ...] = ("image/png", "image/jpeg", "image/gif", "image/webp")


def fit_image(path: str | Path, limits: ImageLimits) -> tuple[bytes, str]:
    """The image at ``path`` as ``(bytes, mime type)``, fitted to ``limits`` by downsizing only.

    Raises ``ImportError`` when Pillow is not installed, ``OSError`` when the file cannot be
    read, and Pillow's ``DecompressionBombError`` for an image of absurd dimensions (a file
    crafted to exhaust memory). Synchronous and CPU-bound: from async code, call it through
    ``asyncio.to_thread``.

    Example:
        >>> from PIL import Image
        >>> from inferencesh.images import ImageLimits, fit_image
        >>> Image.new("RGB", (300, 200), "red").save("small.png")
        >>> data, mime = fit_image("small.png", ImageLimits(max_long_edge=1000))
        >>> mime, data == open("small.png", "rb").read()  # it fits: its own bytes
        ('image/png', True)
    """
    pil = _pillow()
    data = Path(path).read_bytes()
    mime = _sniff_mime(data, str(path))
    try:
        image = pil.open(io.BytesIO(data))
        image.seek(0)
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:  # not an image, or a broken one
        _log.warning("could not read %s as an image (%s); sending it unchanged", path, exc)
        return data, mime
    scale = _scale(image.width, image.height, limits)
    allowed = mime in limits.mime_types
    if scale >= 1 and allowed and (limits.max_bytes is None or len(data) <= limits.max_bytes):
        return data, mime
    target = mime if allowed else _fallback(limits)
    if scale < 1:
        image = _resized(image, scale)
    out = _encode(image, target)
    if limits.max_bytes is None or len(out) <= limits.max_bytes:
        return out, target
    return _squeeze(image, target, limits.max_bytes, limits)


def _pillow() -> Any:
    try:
        from PIL import Image
    except ModuleNotFoundError as exc:
        raise ImportError(_INSTALL) from exc
    return Image


def _sniff_mime(data: bytes, path: str) -> str:
    """The type from the file's first bytes, else from its name, else ``image/png``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed = mimetypes.guess_type(path)[0]
    return guessed or "image/png"


def _fallback(limits: ImageLimits) -> str:
    if "image/png" in limits.mime_types or not limits.mime_types:
        return "image/png"
    return limits.mime_types[0]


def _scale(width: int, height: int, limits: ImageLimits) -> float:
    """The factor that brings the image within the edge and pixel limits (at most 1)."""
    scale = 1.0
    if limits.max_long_edge is not None and max(width, height) > limits.max_long_edge:
        scale = min(scale, limits.max_long_edge / max(width, height))
    if limits.max_pixels is not None and width * height > limits.max_pixels:
        scale = min(scale, math.sqrt(limits.max_pixels / (width * height)))
    return scale


def _resized(image: Image, scale: float) -> Image:
    from PIL import Image as pil

    size = (max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale)))
    return image.resize(size, pil.Resampling.LANCZOS)


def _encode(image: Image, mime: str, quality: int = 90) -> bytes:
    fmt = _MIME_FORMAT.get(mime, "PNG")
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt in ("PNG", "WEBP") and image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _squeeze(image: Image, mime: str, max_bytes: int, limits: ImageLimits) -> tuple[bytes, str]:
    """Lower quality, then smaller, until the image is within ``max_bytes`` (or 64 px)."""
    lossy = mime if mime in _LOSSY else next((m for m in _LOSSY if m in limits.mime_types), None)
    target = lossy or mime
    out = b""
    for quality in _QUALITIES if lossy else (90,):
        out = _encode(image, target, quality)
        if len(out) <= max_bytes:
            return out, target
    while len(out) > max_bytes and min(image.width, image.height) > _MIN_SIDE:
        image = _resized(image, _SHRINK)
        out = _encode(image, target, _QUALITIES[-1])
    return out, target

"""Live fields of stream functions, under 0.36's import path (``inferencesh.models.stream``).

The definitions live in :mod:`inferencesh.apps.stream`; see there.

Example:
    >>> from inferencesh.models.stream import PCM16, Stream
    >>> Stream[PCM16(16000)]  # doctest: +ELLIPSIS
    inferencesh.apps.stream.Stream[...]
"""

from inferencesh.apps.stream import (
    CLEAR_KEY,
    ERROR_KEY,
    PCM16,
    REDIAL_CODES,
    STREAM_FORMAT,
    Live,
    Stream,
    Update,
    binary_field,
    live_fields,
    media,
)

__all__ = [
    "CLEAR_KEY",
    "ERROR_KEY",
    "PCM16",
    "REDIAL_CODES",
    "STREAM_FORMAT",
    "Live",
    "Stream",
    "Update",
    "binary_field",
    "live_fields",
    "media",
]

"""Frames files: the frames a caller sends a stream function, one per line, as JSON.

``{"text": "..."}`` is a text frame, ``{"json": {...}}`` a text frame holding that value (a
patch of input fields), ``{"binary": "<base64>"}`` or ``{"hex": "..."}`` a binary frame. Blank
lines and lines starting with ``#`` are skipped. ``inferencesh run --frames FILE`` sends them to
a stream function on the platform; ``inferencesh app test --frames FILE`` feeds them to one in
process.

Example:
    >>> from inferencesh.core.frames import parse_frame, parse_frames
    >>> parse_frames('{"hex": "0102"}\\n# a comment\\n{"json": {"label": "x"}}\\n')
    [b'\\x01\\x02', '{"label": "x"}']
    >>> parse_frame("   ") is None
    True
    >>> parse_frames('{"hex": "01"}\\n{"binary": "not base64!"}')
    Traceback (most recent call last):
    ...
    ValueError: line 2: Only base64 data is allowed
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["MAX_FRAMES", "Frame", "parse_frame", "parse_frames"]

Frame = bytes | str
"""A WebSocket frame: ``bytes`` is a binary frame, ``str`` a text frame."""

MAX_FRAMES = 1_000_000
"""The most frames one file may hold."""

_EXPECTED = "expected one of {text}, {json}, {binary}, {hex}"


def parse_frame(line: str) -> Frame | None:
    """The frame of one line; ``None`` for a blank or ``#`` line; ``ValueError`` saying what is
    wrong with a bad one."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    if not isinstance(item, dict) or len(item) != 1:
        raise ValueError(_EXPECTED)
    ((kind, value),) = item.items()
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "json":
        return json.dumps(value)
    try:
        if kind == "binary" and isinstance(value, str):
            return base64.b64decode(value, validate=True)
        if kind == "hex" and isinstance(value, str):
            return bytes.fromhex(value)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(str(exc)) from None
    raise ValueError(_EXPECTED)


def parse_frames(text: str) -> list[Frame]:
    """The frames of a frames file; ``ValueError`` naming the line of the first bad one."""
    frames: list[Frame] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            frame = parse_frame(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        if frame is None:
            continue
        if len(frames) >= MAX_FRAMES:
            raise ValueError(f"line {number}: more than {MAX_FRAMES} frames")
        frames.append(frame)
    return frames

"""A deterministic placeholder "image model": a PNG gradient coloured by the prompt's hash.

It stands in for a real image app so agents with ``image_generation`` run offline; the output is
a real PNG ``File`` that the platform stores and serves like any other.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zlib
from pathlib import Path

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
from pydantic import Field


class AppInput(BaseAppInput):
    prompt: str = Field(description="What to draw")
    width: int = Field(default=256, ge=8, le=1024, description="Width in pixels")
    height: int = Field(default=256, ge=8, le=1024, description="Height in pixels")


class AppOutput(BaseAppOutput):
    image: File = Field(description="The generated PNG")
    prompt: str = Field(description="The prompt it was made from")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def gradient_png(prompt: str, width: int, height: int) -> bytes:
    """PNG bytes of a diagonal gradient between two colours taken from the prompt."""
    digest = hashlib.sha256(prompt.encode()).digest()
    start, end = digest[:3], digest[3:6]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            t = (x + y) / (width + height - 2)
            rows.extend(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _chunk(b"IEND", b"")
    )


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        path = Path(tempfile.mkdtemp()) / "image.png"
        path.write_bytes(gradient_png(input_data.prompt, input_data.width, input_data.height))
        return AppOutput(image=File(path=str(path)), prompt=input_data.prompt)

"""``inferencesh.images``: fitting images to a provider's limits (the behaviour shared with 0.36
is compared against the published package in ``tests/compat/test_differential_client.py``)."""

from __future__ import annotations

import io
import logging
import random
import sys
from pathlib import Path

import pytest
from inferencesh.images import ImageLimits, fit_image
from PIL import Image


def _noise(path: Path, size: tuple[int, int]) -> Path:
    rng = random.Random(3)
    data = bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    Image.frombytes("RGB", size, data).save(path)
    return path


def test_without_pillow_fit_image_names_the_extra_and_limits_still_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    assert ImageLimits(max_bytes=10).max_bytes == 10
    with pytest.raises(ImportError, match=r'pip install "inferencesh-apps\[images\]"'):
        fit_image(tmp_path / "a.png", ImageLimits())


def test_a_file_that_is_not_an_image_is_sent_unchanged_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notes.png"
    path.write_bytes(b"plain text, not a PNG")
    with caplog.at_level(logging.WARNING, logger="inferencesh.images"):
        assert fit_image(path, ImageLimits(max_long_edge=10)) == (path.read_bytes(), "image/png")
    assert "could not read" in caplog.text


def test_a_truncated_image_is_sent_unchanged(tmp_path: Path) -> None:
    full = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(full, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(full.getvalue()[:60])
    assert fit_image(path, ImageLimits(max_long_edge=8))[0] == path.read_bytes()


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fit_image(tmp_path / "nope.png", ImageLimits())


def test_a_png_only_provider_gets_a_smaller_png_within_its_byte_limit(tmp_path: Path) -> None:
    path = _noise(tmp_path / "noise.png", (300, 300))
    data, mime = fit_image(path, ImageLimits(max_bytes=30_000, mime_types=("image/png",)))
    assert mime == "image/png" and len(data) <= 30_000
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width < 300 and image.width >= 64 * 0.75


def test_an_image_that_cannot_get_small_enough_stops_at_the_floor(tmp_path: Path) -> None:
    path = _noise(tmp_path / "noise.png", (300, 300))
    data, mime = fit_image(path, ImageLimits(max_bytes=10))
    image = Image.open(io.BytesIO(data))
    assert mime == "image/jpeg" and 48 <= image.width <= 64  # never below 64 px * 0.75


def test_a_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("L", (200, 200)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 200x200 is then over twice the cap
    with pytest.raises(Image.DecompressionBombError):
        fit_image(tmp_path / "bomb.png", ImageLimits(max_long_edge=10))

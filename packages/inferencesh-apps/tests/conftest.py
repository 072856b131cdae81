"""Fixtures shared by the apps tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from inferencesh.core import retry


@pytest.fixture
def file_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``File``'s download cache in the test's own folder, and retries without waiting."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(cache))
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    return cache

"""Fixtures shared by the cross-distribution tests under ``tests/``."""

from __future__ import annotations

import fcntl
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The benches use the same helper (pinned there); it lives with them as a plain script module.
_spec = importlib.util.spec_from_file_location("bench_published", ROOT / "bench" / "_published.py")
assert _spec is not None and _spec.loader is not None
_published = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_published)


@pytest.fixture(scope="session")
def published_python() -> Path:
    """The interpreter of ``.venvs/published``: the latest ``inferencesh[async,upstream,images]`` from PyPI.

    Created on first use and reused while the client imports in it (see ``bench/_published.py``).
    Parallel test processes take turns (a file lock), so only the first one builds it.
    """
    lock = ROOT / ".venvs" / "published.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        python: Path = _published.published_python()
    return python

"""Whether a run asks for a stream function, read from the app's source: looked at again at
most every 0.1 s (every run asks), and an edit is seen after that."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from inferencesh.platform import stream_kind
from inferencesh.platform.stream_kind import is_stream_function

PLAIN = "class App:\n    async def run(self, input_data):\n        return input_data\n"
STREAMED = "class App:\n    async def run(self, input_data, socket):\n        return input_data\n"


def test_the_source_is_looked_at_once_per_interval_and_edits_are_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inference.py").write_text(PLAIN)
    looks: list[str] = []
    real_stat = os.stat

    def stat(path: str) -> os.stat_result:
        looks.append(path)
        return real_stat(path)

    monkeypatch.setattr(stream_kind.os, "stat", stat)
    assert [is_stream_function(tmp_path, "run") for _ in range(20)] == [False] * 20
    assert len(looks) == 1
    (tmp_path / "inference.py").write_text(STREAMED + "# edited\n")
    time.sleep(stream_kind._LOOK_SECONDS)
    assert is_stream_function(tmp_path, "run")
    assert len(looks) == 2
    assert not is_stream_function(tmp_path / "missing", "run")

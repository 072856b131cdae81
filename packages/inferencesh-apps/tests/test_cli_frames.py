"""`inferencesh app test --frames FILE`: a stream function driven from a file of frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inferencesh.apps.runtime.frames_file import parse_frames
from inferencesh.core.cli import main

ECHO = Path(__file__).resolve().parents[3] / "examples" / "apps" / "live-echo"


def test_app_test_feeds_a_stream_function_the_frames_of_a_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    frames = ECHO / "frames.jsonl"
    code = main(["app", "test", str(ECHO), "--function", "echo", "--frames", str(frames)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {
        "audio": [],
        "transcript": "file 0.5s",
        "frames": 30,
        "seconds": 0.6,
    }
    assert err.count("-- sent binary, 640 bytes") == 30
    assert '-- sent text: {"transcript":"file 0.5s"}' in err


def test_a_stream_function_without_frames_fails_saying_how_to_feed_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["app", "test", str(ECHO), "--function", "echo"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "--frames FILE" in err


def test_bad_frame_files_are_refused_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "frames.jsonl"
    bad.write_text('{"hex": "00"}\n{"binary": "not base64!"}\n')
    code = main(["app", "test", str(ECHO), "--function", "echo", "--frames", str(bad)])
    _, err = capsys.readouterr()
    assert code != 0 and "line 2" in err
    with pytest.raises(ValueError, match="line 1: expected one of"):
        parse_frames('{"text": "a", "hex": "00"}')
    with pytest.raises(ValueError, match="line 1"):
        parse_frames("[1]")

"""``probe_video`` and ``VideoMeta.from_file``: ffprobe's answer read into numbers, a clear error
naming what to install when ffprobe is missing, ``{}`` for what ffprobe cannot read.

An ``ffprobe`` executable written into the test's folder stands in for FFmpeg's (none is
installed here): it prints what the real one prints for a file, so the parsing is what is tested.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from inferencesh import VideoMeta, VideoResolution, probe_video
from inferencesh.apps.output_meta import FFprobeNotFoundError


def _fake_ffprobe(folder: Path, answer: object, exit_code: int = 0) -> None:
    script = folder / "ffprobe"
    body = answer if isinstance(answer, str) else json.dumps(answer)
    script.write_text(
        "#!/bin/sh\n"
        'echo "$@" > "$(dirname "$0")/args"\n'
        f"cat <<'EOF'\n{body}\nEOF\nexit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return folder


STREAMS = {
    "streams": [
        {"codec_type": "audio", "sample_rate": "48000"},
        {
            "codec_type": "video",
            "width": 1920,
            "height": 1080,
            "avg_frame_rate": "30000/1001",
            "r_frame_rate": "30000/1001",
            "nb_frames": "300",
            "duration": "10.010000",
        },
    ]
}


def test_probe_reads_the_first_video_stream(bin_dir: Path, tmp_path: Path) -> None:
    _fake_ffprobe(bin_dir, STREAMS)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0")
    facts = probe_video(video)
    assert facts["width"] == 1920 and facts["height"] == 1080
    assert facts["fps"] == pytest.approx(29.97, abs=0.01)
    assert facts["nb_frames"] == 300
    assert facts["seconds"] == pytest.approx(10.01, abs=0.01)
    assert (bin_dir / "args").read_text().split()[-1] == str(video)

    meta = VideoMeta.from_file(str(video), resolution=VideoResolution.VIDEO_RES1080_P)
    assert (meta.width, meta.height, meta.fps) == (1920, 1080, 30)
    assert meta.resolution_mp == pytest.approx(2.0736)
    assert meta.resolution == "1080p"


def test_probe_without_frame_count_uses_the_duration(bin_dir: Path) -> None:
    stream = {"codec_type": "video", "width": 640, "height": 360, "r_frame_rate": "25/1"}
    _fake_ffprobe(bin_dir, {"streams": [{**stream, "duration": "4.0"}]})
    facts = probe_video("x.webm")
    assert (facts["nb_frames"], facts["seconds"], facts["fps"]) == (100, 4.0, 25.0)


ZEROS = {"width": 0, "height": 0, "fps": 0.0, "nb_frames": 0, "seconds": 0.0}


@pytest.mark.parametrize(
    ("answer", "exit_code", "expected"),
    [
        ("not json at all", 0, {}),
        ({"streams": [{"codec_type": "audio"}]}, 0, {}),  # no video stream
        ({"streams": []}, 1, {}),  # ffprobe failed on the file
        ('["a list"]', 0, {}),
        (
            {"streams": [{"codec_type": "video", "avg_frame_rate": "0/0", "nb_frames": "x"}]},
            0,
            ZEROS,
        ),
    ],
)
def test_unreadable_answers_give_no_facts(
    bin_dir: Path, answer: object, exit_code: int, expected: dict[str, object]
) -> None:
    _fake_ffprobe(bin_dir, answer, exit_code)
    assert probe_video("broken.mp4") == expected


def test_missing_ffprobe_says_what_to_install(bin_dir: Path) -> None:
    with pytest.raises(FFprobeNotFoundError, match="install FFmpeg") as info:
        probe_video("clip.mp4")
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(FFprobeNotFoundError):
        VideoMeta.from_file("clip.mp4")

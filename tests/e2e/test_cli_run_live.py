"""``inferencesh run`` on a stream function, against the real local platform with the live-echo
example: frames from files and stdin go through the relay to the app and back, what comes back
is printed as JSON lines (binary frames summarised or written to a file), and the command exits
with the task's final status; bad frames, a run function given frames and a missing
``websockets`` are refused with what was wrong."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inferencesh import TaskStatus, inference
from inferencesh.core.cli import main
from inferencesh.core.errors import TaskCancelledError
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"
FRAMES = EXAMPLES / "live-echo" / "frames.jsonl"
CLI = Path(sys.executable).with_name("inferencesh")
ECHO = ["local/live-echo", "--function", "echo"]


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([EXAMPLES])


@pytest.fixture
def env(server: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("INFERENCE_API_KEY", server.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", server.base_url)
    return dict(os.environ)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def audio(count: int) -> list[bytes]:
    return [bytes([i]) * 640 for i in range(count)]


def test_run_opens_the_session_sends_a_frames_file_and_prints_what_comes_back(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = run_cli(capsys, *ECHO, "--frames", str(FRAMES), "--linger", "3")
    assert code == 0, err
    assert lines[:-1].count({"bytes": 640}) == 30  # every frame echoed
    patches = [line["json"] for line in lines if "json" in line]
    # the file changes the label after 10 frames: the transcript entry at 0.5 s says so
    assert {"transcript": "file 0.5s"} in patches
    assert set().union(*map(set, lines)) == {"bytes", "json", "output"}
    assert lines[-1] == {
        "output": {"audio": [], "transcript": "file 0.5s", "frames": 30, "seconds": 0.6}
    }


def test_binary_frames_go_to_a_file_in_order_and_several_sources_are_sent_in_turn(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent = audio(30)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(
        "".join(json.dumps({"hex": f.hex()}) + "\n" for f in sent[:10])
        + '# the label for what follows\n{"json": {"label": "two"}}\n'
    )
    second.write_text(
        "".join(json.dumps({"binary": base64.b64encode(f).decode()}) + "\n" for f in sent[10:])
    )
    out_file = tmp_path / "echo.pcm"
    code, lines, err = run_cli(
        capsys,
        *ECHO,
        "--frames",
        str(first),
        "--frames",
        str(second),
        "--binary-out",
        str(out_file),
        "--linger",
        "3",
    )
    assert code == 0, err
    assert out_file.read_bytes() == b"".join(sent)  # every frame, in the order sent
    assert {"bytes": 640} not in lines  # written to the file instead
    assert {"json": {"transcript": "two 0.5s"}} in lines
    assert lines[-1]["output"]["frames"] == 30


def test_stdin_is_the_default_source_read_as_it_arrives(server: LocalPlatform) -> None:
    frames = audio(25)
    text = "".join(json.dumps({"hex": f.hex()}) + "\n" for f in frames)
    result = subprocess.run(
        [
            str(CLI),
            "run",
            *ECHO,
            "--input",
            '{"label": "piped"}',
            "--linger",
            "3",
            "--api-key",
            server.api_key,
            "--base-url",
            server.base_url,
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines.count({"bytes": 640}) == 25
    assert {"json": {"transcript": "piped 0.5s"}} in lines
    assert lines[-1]["output"]["frames"] == 25
    assert result.stderr == ""  # off a terminal stderr stays silent


def test_a_bad_frame_on_stdin_closes_the_session_naming_the_line(server: LocalPlatform) -> None:
    text = json.dumps({"hex": "0000"}) + "\n# fine\n" + '{"binary": "not base64!"}\n'
    result = subprocess.run(
        [
            str(CLI),
            "run",
            *ECHO,
            "--frames",
            "-",
            "--api-key",
            server.api_key,
            "--base-url",
            server.base_url,
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "<stdin> line 3:" in result.stderr and "base64" in result.stderr
    assert "session was closed" in result.stderr


def test_a_bad_frames_file_is_refused_before_any_request_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An API nobody listens on: a request would fail with "cannot reach the API" (exit 1).
    nowhere = ["--base-url", "http://127.0.0.1:9", "--api-key", "k"]
    bad = tmp_path / "frames.jsonl"
    bad.write_text('{"hex": "00"}\n\n{"hex": "zz"}\n')
    code = main(["run", *ECHO, *nowhere, "--frames", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert f"--frames {bad}: line 3:" in err
    for content, reason in [
        ("[1, 2]\n", "line 1: expected one of"),
        ('{"text": "a", "hex": "00"}\n', "line 1: expected one of"),
        ("{nope\n", "line 1: invalid JSON"),
        ('{"json": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "line 1: invalid JSON"),
        ('{"text": 5}\n', "line 1: expected one of"),
        ('# ok\n{"binary": "AAA="}\n{"binary": "not base64!"}\n', "line 3:"),
    ]:
        bad.write_text(content)
        assert main(["run", *ECHO, *nowhere, "--frames", str(bad)]) == 2
        assert f"--frames {bad}: {reason}" in capsys.readouterr().err
    missing = tmp_path / "missing.jsonl"
    assert main(["run", *ECHO, *nowhere, "--frames", str(missing)]) == 2
    assert f"--frames: cannot read {str(missing)!r}" in capsys.readouterr().err
    assert main(["run", *ECHO, *nowhere, "--frames", str(FRAMES), "--linger", "-1"]) == 2
    assert "--linger must be" in capsys.readouterr().err
    assert main(["run", *ECHO, *nowhere, "--binary-out", str(tmp_path / "no" / "x")]) == 2
    assert "--binary-out: cannot write" in capsys.readouterr().err


def test_frames_for_a_run_function_cancel_the_task_and_say_why(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], server: LocalPlatform
) -> None:
    code = main(["run", "local/hello", "--input", '{"prompt": "x"}', "--frames", str(FRAMES)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "not a stream function" in err and "was cancelled" in err
    task_id = err.split("task ")[-1].split()[0]
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        assert client.get_task(task_id).status in (TaskStatus.CANCELLED, TaskStatus.COMPLETED)


def test_without_websockets_the_command_says_what_to_install(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: LocalPlatform,
) -> None:
    for name in ("websockets", "websockets.asyncio", "websockets.asyncio.client"):
        monkeypatch.setitem(sys.modules, name, None)  # `import websockets...` fails
    code = main(["run", *ECHO, "--frames", str(FRAMES)])
    _, err = capsys.readouterr()
    assert code == 2
    assert 'pip install "inferencesh-core[live]"' in err and "was cancelled" in err
    task_id = err.split("task ")[-1].split()[0]
    client = inference(api_key=server.api_key, base_url=server.base_url)
    with client, pytest.raises(TaskCancelledError):
        client.wait_for_completion(task_id, timeout=60)


def test_a_non_stream_run_is_unchanged_without_live_flags(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "local/hello", "--input", '{"prompt": "a lighthouse"}'])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["result"] == "modern: a lighthouse"  # one indented JSON value


def test_text_frames_that_are_not_patches_are_sent_and_answered(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frames = tmp_path / "text.jsonl"
    frames.write_text('{"text": "not json"}\n{"json": {"label": 5}}\n{"hex": "0000"}\n')
    code, lines, err = run_cli(capsys, *ECHO, "--frames", str(frames), "--linger", "3")
    assert code == 0, err
    errors = [line["json"]["$error"] for line in lines if "$error" in line.get("json", {})]
    assert len(errors) == 2  # Live answers what it cannot map, and goes on
    assert {"bytes": 2} in lines
    assert lines[-1]["output"]["frames"] == 1

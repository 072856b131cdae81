"""Upload progress and ``inferencesh run`` against the real local platform: the callback's
sequence on sync and async uploads, the command's output, bars and live status on a terminal,
silence elsewhere, and its exit codes and messages on failure."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inferencesh import TaskStatus, async_inference, inference
from inferencesh.core.cli import main
from inferencesh.core.progress import ProgressCallback
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"
CLI = Path(sys.executable).with_name("inferencesh")


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([EXAMPLES])


@pytest.fixture
def env(server: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The command's environment: the key and URL as a user would export them."""
    monkeypatch.setenv("INFERENCE_API_KEY", server.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", server.base_url)
    monkeypatch.setenv("COLUMNS", "120")
    return dict(os.environ)


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "report.txt"
    path.write_bytes(b"quarterly numbers\n" * 200_000)  # 3.6 MB: four upload chunks
    return path


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []
        self.closed = 0

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    def close(self) -> None:
        self.closed += 1


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def check_sequence(calls: list[tuple[int, int | None]], total: int) -> None:
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and len(dones) == len(set(dones)) >= 3


# -- upload progress against the platform ------------------------------------------------------


def test_sync_upload_progress_on_the_platform(server: LocalPlatform, document: Path) -> None:
    seen = Recorder()
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        record = client.upload_file(document, progress=seen)
        made: dict[str, Recorder] = {}

        def factory(name: str) -> ProgressCallback:
            made[name] = Recorder()
            return made[name]

        result = client.run(
            {"app": "local/files", "input": {"document": document}}, upload_progress=factory
        )
    check_sequence(seen.calls, document.stat().st_size)
    assert record.uri and record.size == document.stat().st_size
    assert list(made) == ["report.txt"] and made["report.txt"].closed == 1
    check_sequence(made["report.txt"].calls, document.stat().st_size)
    assert result.output["size"] == document.stat().st_size


def test_async_upload_progress_on_the_platform(server: LocalPlatform, document: Path) -> None:
    seen = Recorder()

    async def go() -> str:
        async with async_inference(api_key=server.api_key, base_url=server.base_url) as client:
            record = await client.files.upload(str(document), progress=seen)
            return record.uri

    assert asyncio.run(go())
    check_sequence(seen.calls, document.stat().st_size)


# -- inferencesh run ---------------------------------------------------------------------------


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, tty: bool
) -> tuple[int, str, str]:
    err = TTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["run", *argv])
    return code, capsys.readouterr().out, err.getvalue()


def test_run_prints_the_output_and_is_silent_off_a_terminal(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(
        capsys, monkeypatch, "local/hello", "--input", '{"prompt": "a lighthouse"}', tty=False
    )
    assert code == 0, err
    assert json.loads(out) == {"result": "modern: a lighthouse", "model_id": "gpt2"}
    assert err == ""


def test_run_uploads_with_a_bar_and_shows_live_status_on_a_terminal(
    env: dict[str, str],
    document: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = tmp_path / "input.json"
    spec.write_text(json.dumps({"document": str(document)}))
    code, out, err = run_cli(capsys, monkeypatch, "local/files", "--input", f"@{spec}", tty=True)
    assert code == 0, err
    size = document.stat().st_size
    assert json.loads(out)["size"] == size
    assert "\ruploading report.txt   0% [" in err
    assert "uploading report.txt 100% [####################] 3.6 MB/3.6 MB" in err
    status = [frame for frame in err.split("\r") if frame.startswith("local/files ")]
    assert any("] running" in frame for frame in status)
    assert status[-1].split("] ", 1)[1].strip().startswith("completed")
    assert err.endswith("\n") and all(len(f.rstrip("\n")) < 120 for f in err.split("\r"))


def test_run_setup_and_function_are_sent(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(
        capsys,
        monkeypatch,
        "local/hello",
        "--input",
        '{"prompt": "x"}',
        "--setup",
        '{"model_id": "tiny"}',
        tty=False,
    )
    assert code == 0, err
    assert json.loads(out)["model_id"] == "tiny"
    code, out, err = run_cli(
        capsys,
        monkeypatch,
        "local/multi-function",
        "--function",
        "reverse",
        "--input",
        '{"text": "abc"}',
        tty=False,
    )
    assert code == 0, err
    assert "cba" in out


def test_a_failing_task_exits_1_with_its_error_and_logs(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(
        capsys, monkeypatch, "local/failing", "--input", '{"message": "disk on fire"}', tty=False
    )
    assert code == 1 and out == ""
    assert err.startswith("error: task ") and "failed: ValueError: disk on fire" in err
    assert "last log lines:" in err and "about to decide" in err


def test_api_errors_and_bad_arguments_say_what_was_wrong(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(capsys, monkeypatch, "local/no-such-app", tty=False)
    assert code == 1 and out == ""
    assert "error: API error: HTTP 404" in err and "local/no-such-app" in err

    cases = {
        ("--input", '{"prompt": '): "--input: invalid JSON in the argument: Expecting value",
        ("--input", "[1, 2]"): "--input must be a JSON object, got an array",
        ("--input", f"@{tmp_path / 'absent.json'}"): "--input: cannot read",
        ("--setup", "not json"): "--setup: invalid JSON in the argument",
        ("--timeout", "0"): "--timeout must be a positive number",
    }
    for args, message in cases.items():
        code, out, err = run_cli(capsys, monkeypatch, "local/hello", *args, tty=False)
        assert (code, out) == (2, ""), args
        assert err.startswith("error: ") and message in err, (args, err)

    bad = tmp_path / "bad.json"
    bad.write_text("{\n  'single': 'quotes'\n}")
    code, _, err = run_cli(capsys, monkeypatch, "local/hello", "--input", f"@{bad}", tty=False)
    assert code == 2 and f"invalid JSON in {bad}" in err and "line 2" in err

    monkeypatch.delenv("INFERENCE_API_KEY")
    code, _, err = run_cli(capsys, monkeypatch, "local/hello", tty=False)
    assert code == 2 and "no API key" in err and "--api-key" in err


def test_wait_timeout_exits_1(
    server: LocalPlatform,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The app logs every 50 ms: the deadline holds on a stream that never goes quiet.
    argv = ["local/slow", "--input", '{"seconds": 20, "step": 0.05}', "--timeout", "0.5"]
    code, out, err = run_cli(capsys, monkeypatch, *argv, tty=False)
    assert code == 1 and out == ""
    assert err.startswith("error: timed out waiting: task ") and "within 0.5 s" in err
    assert "the task was not cancelled" in err
    task_id = err.split("task ", 1)[1].split()[0]
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        assert not client.get_task(task_id).is_terminal
        client.cancel(task_id, force=True)


def test_a_reader_that_stops_early_gets_no_traceback(server: LocalPlatform, tmp_path: Path) -> None:
    # `inferencesh run ... | head`: the output (about 300 kB) outgrows the pipe, the reader
    # closes it after a few bytes, and the command still ends quietly with the run's status.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    env.update(INFERENCE_API_KEY=server.api_key, INFERENCE_BASE_URL=server.base_url)
    request = tmp_path / "input.json"
    request.write_text(json.dumps({"prompt": "x" * 300_000}))
    process = subprocess.Popen(
        [str(CLI), "run", "local/hello", "-i", f"@{request}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10).startswith(b"{")
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_console_script_end_to_end_with_flags(server: LocalPlatform) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    ok = subprocess.run(
        [
            str(CLI),
            "run",
            "local/hello",
            "-i",
            '{"prompt": "cli"}',
            "--api-key",
            server.api_key,
            "--base-url",
            server.base_url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["result"] == "modern: cli" and ok.stderr == ""
    failed = subprocess.run(
        [
            str(CLI),
            "run",
            "local/failing",
            "--api-key",
            server.api_key,
            "--base-url",
            server.base_url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1 and failed.stdout == ""
    assert "failed: ValueError: boom" in failed.stderr


def start_slow(server: LocalPlatform) -> tuple[subprocess.Popen[str], str]:
    """``inferencesh run local/slow`` in a subprocess, once its task is running; and its id."""
    env = {**os.environ, "INFERENCE_API_KEY": server.api_key, "INFERENCE_BASE_URL": server.base_url}
    before = set(slow_tasks(server, running=False))
    process = subprocess.Popen(
        [str(CLI), "run", "local/slow", "--input", '{"seconds": 30}'],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A terminal's Ctrl-C reaches a process whose SIGINT is at its default; a runner started
        # in the background by a non-interactive shell passes SIGINT down ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while True:
        started = [t for t in slow_tasks(server, running=True) if t not in before]
        if started:
            return process, started[0]
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(f"the task did not start: {process.communicate()}")
        time.sleep(0.1)


def slow_tasks(server: LocalPlatform, *, running: bool) -> list[str]:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        page = client.http.request("POST", "/tasks/list", json={"limit": 50})
    return [
        t["id"]
        for t in page["items"]
        if t.get("app", "").endswith("slow") and (not running or t["status"] == TaskStatus.RUNNING)
    ]


def test_a_task_cancelled_elsewhere_exits_1(server: LocalPlatform) -> None:
    process, task_id = start_slow(server)
    try:
        with inference(api_key=server.api_key, base_url=server.base_url) as client:
            client.cancel(task_id, force=True)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 1 and out == ""
        assert err == f"error: task {task_id} was cancelled\n"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_ctrl_c_cancels_the_task_and_exits_130(server: LocalPlatform) -> None:
    process, task_id = start_slow(server)
    try:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert out == "" and f"interrupted: cancelling task {task_id}" in err
        with inference(api_key=server.api_key, base_url=server.base_url) as client:
            final = client.get_task(task_id)
        assert final.status in (TaskStatus.CANCELLING, TaskStatus.CANCELLED)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

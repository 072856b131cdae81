"""`inferencesh app init|test|schema|serve`, in-process through core's CLI entry point and, for the
console script and the worker, as real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from apps_testkit import PRINTING_APP, SETUP_STATE_APP, app_in
from inferencesh.core.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"
# File's download cache in each test's own folder (conftest.py).
pytestmark = pytest.mark.usefixtures("file_cache")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["app", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_scaffolds_an_app_that_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "my-app"
    code, out, _ = cli(capsys, "init", str(target))
    assert code == 0
    assert "created" in out
    names = {p.name for p in target.iterdir()}
    assert {"inf.yml", "inference.py", "requirements.txt", "input.json"} <= names
    code, out, err = cli(capsys, "test", str(target))
    assert code == 0, err
    assert json.loads(out) == {"message": "Hello, World!"}
    assert "greeting World" in err
    code, out, err = cli(
        capsys,
        "test",
        str(target),
        "--input",
        '{"name": "Ada", "times": 2}',
        "--setup",
        '{"greeting": "Hi"}',
    )
    assert code == 0, err
    assert json.loads(out) == {"message": "Hi, Ada! Hi, Ada!"}


def test_init_refuses_existing_directory_and_bad_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    code, _, err = cli(capsys, "init", str(tmp_path / "taken"))
    assert code == 1
    assert "already exists" in err
    assert (tmp_path / "taken" / "file").read_text() == "x"
    code, _, err = cli(capsys, "init", str(tmp_path / "bad name!"))
    assert code == 1
    assert "invalid app name" in err


def test_test_input_forms_and_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = str(EXAMPLES / "multi_function")
    input_file = tmp_path / "in.json"
    input_file.write_text('{"text": "stressed"}')
    code, out, _ = cli(capsys, "test", app, "--input", str(input_file), "--function", "reverse")
    assert code == 0
    assert json.loads(out) == {"reversed_text": "desserts"}
    code, out, _ = cli(capsys, "test", app, "-i", f"@{input_file}", "-f", "reverse")
    assert json.loads(out) == {"reversed_text": "desserts"}
    # Without --input: the app's input.json.
    code, out, _ = cli(capsys, "test", app)
    assert json.loads(out) == {"message": "Hello, inference.sh!"}


def test_test_prints_logs_partials_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "test", str(EXAMPLES / "streaming"), "--input", '{"text": "x y"}')
    assert code == 0
    assert json.loads(out) == {"text": "x y", "words": 2, "done": True}
    lines = err.splitlines()
    assert lines[0] == "-- running"
    assert '-- partial output: {"text": "x", "words": 1, "done": false}' in lines
    assert "[progress] 50% (1/2)" in lines


def test_test_failures_exit_1_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "test", str(EXAMPLES / "failing"), "--input", '{"fail": true}')
    assert code == 1
    assert out == ""
    assert "ValueError: boom" in err
    assert "in explode" in err
    assert err.rstrip().endswith("error: app: ValueError: boom")

    code, _, err = cli(capsys, "test", str(EXAMPLES / "hello"), "--input", '{"count": "x"}')
    assert code == 1
    assert "error: validation: invalid input: prompt: Field required" in err

    code, _, err = cli(capsys, "test", str(EXAMPLES / "hello"), "--input", "{bad")
    assert code == 1
    assert "--input: invalid JSON in the argument" in err

    code, _, err = cli(capsys, "test", str(EXAMPLES / "hello"), "--input", "nope.json")
    assert code == 1
    assert "neither JSON nor an existing file" in err

    code, _, err = cli(capsys, "test", str(tmp_path), "--input", "{}")
    assert code == 1
    assert "has no inference.py" in err

    empty = tmp_path / "noinput"
    shutil.copytree(EXAMPLES / "multi_function", empty)
    (empty / "input.json").unlink()
    code, _, err = cli(capsys, "test", str(empty))
    assert code == 1
    assert "no input: pass --input" in err

    code, _, err = cli(capsys, "test", str(EXAMPLES / "hello"), "--input", "{}", "--setup", "[1]")
    assert code == 1
    assert "--setup must be a JSON object" in err


def test_test_leaves_output_files_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("keep me")
    cwd = os.getcwd()
    code, out, err = cli(
        capsys, "test", str(EXAMPLES / "files"), "--input", json.dumps({"document": str(doc)})
    )
    assert code == 0, err
    assert os.getcwd() == cwd
    path = json.loads(out)["upper"]["path"]
    assert Path(path).read_text() == "KEEP ME"
    assert f"-- output file: {path}" in err


def test_relative_input_paths_are_read_from_the_app_directory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(capsys, "test", str(EXAMPLES / "files"))
    assert code == 0, err
    assert Path(json.loads(out)["upper"]["path"]).read_text() == "HELLO FROM A FILE\n"


def test_schema_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", app)
    code, out, _ = cli(capsys, "schema", str(app))
    assert code == 0
    written = sorted(p.name for p in app.glob("*_schema.json"))
    assert written == [
        "functions_schema.json",
        "input_schema.json",
        "output_schema.json",
        "setup_schema.json",
    ]
    assert out.count("wrote ") == 4
    inputs = json.loads((app / "input_schema.json").read_text())
    assert list(inputs["properties"]) == ["prompt", "style", "count"]
    functions = json.loads((app / "functions_schema.json").read_text())
    assert functions["run"]["input_schema"] == inputs
    assert not list(app.glob(".*.tmp"))

    multi = tmp_path / "multi"
    shutil.copytree(EXAMPLES / "multi_function", multi)
    assert cli(capsys, "schema", str(multi))[0] == 0
    assert not (multi / "setup_schema.json").exists()
    functions = json.loads((multi / "functions_schema.json").read_text())
    assert list(functions) == ["run", "reverse"]
    assert functions["reverse"]["output_schema"]["properties"]["reversed_text"]["type"] == "string"

    # An app whose setup model was removed: the old setup_schema.json would still announce one.
    (multi / "setup_schema.json").write_text('{"title": "AppSetup"}')
    assert cli(capsys, "schema", str(multi))[0] == 0
    assert not (multi / "setup_schema.json").exists()


def test_serve_runs_the_worker_and_console_script_works(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    script = Path(sys.executable).parent / "inferencesh"
    proc = subprocess.Popen(
        [
            str(script),
            "app",
            "serve",
            str(EXAMPLES / "counter"),
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.02)
        port = json.loads(ready.read_text())["port"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/health").json()["app"] == "counter"
            lines = client.post("/run", json={"input": {"by": 3}, "function": "increment"})
            assert json.loads(lines.text.splitlines()[-1])["output"] == {"value": 3}
            client.post("/shutdown")
        assert proc.wait(15) == 0
        assert proc.stderr is not None
        assert f"on http://127.0.0.1:{port}" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_console_script_app_test_end_to_end() -> None:
    script = Path(sys.executable).parent / "inferencesh"
    done = subprocess.run(
        [str(script), "app", "test", str(EXAMPLES / "hello"), "--input", '{"prompt": "p"}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"result": "modern: p", "model_id": "gpt2"}
    assert done.stderr.splitlines()[:4] == [
        "-- setting up",
        "loading gpt2",
        "-- running",
        "Processing...",
    ]


def test_ctrl_c_during_app_test_cancels_unloads_and_exits_130(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "inferencesh"
    proc = subprocess.Popen(
        [str(script), "app", "test", str(EXAMPLES / "slow"), "--input", '{"seconds": 30}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A terminal's Ctrl-C reaches a process whose SIGINT is at its default; a test runner
        # started in the background by a non-interactive shell passes SIGINT down ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    while proc.stderr.readline().strip() != "step 1":
        assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert out == ""
    assert "slow app unloaded" in err
    assert err.rstrip().endswith("interrupted")


# -- apps run from their own directory, odd inputs and outputs, init and serve -------------


def test_app_test_imports_the_app_from_its_directory_and_keeps_stdout_for_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat dog\n")
    monkeypatch.chdir(tmp_path)  # not the app directory
    code, out, err = cli(capsys, "test", "app", "--input", "{}")
    assert code == 0, err
    # Before: module-level code ran from the caller's directory (FileNotFoundError), and what
    # it printed landed on stdout before the output JSON.
    assert json.loads(out) == {"labels": ["cat", "dog"]}
    assert "module level print" in err
    assert "constructor print" in err
    assert Path.cwd() == tmp_path


def test_app_test_keeps_the_output_when_unload_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    monkeypatch.setenv("FAIL_UNLOAD", "1")
    code, out, err = cli(capsys, "test", str(app), "--input", "{}")
    # Before: the unload error escaped as a traceback and the output was never printed.
    assert code == 1
    assert json.loads(out) == {"labels": ["cat"]}
    assert "RuntimeError: unload broke" in err
    assert err.rstrip().endswith("error: unload failed: RuntimeError: unload broke")


def test_app_test_input_files_that_are_not_utf8_or_carry_a_bom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"x": "caf\xe9"}'.encode("latin-1"))
    code, out, err = cli(capsys, "test", str(app), "--input", str(latin))
    assert code == 1
    assert out == ""
    assert f"error: --input: {latin} is not UTF-8 text" in err
    assert "Traceback" not in err
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + b'{"x": 2}')
    code, out, err = cli(capsys, "test", str(app), "--input", str(bom))
    assert code == 0, err
    assert json.loads(out) == {"labels": ["cat"]}


def test_app_init_in_the_current_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "my-app"
    target.mkdir()
    monkeypatch.chdir(target)
    code, out, err = cli(capsys, "init", ".")
    # Before: "invalid app name ''".
    assert code == 0, err
    assert "name: my-app" in (target / "inf.yml").read_text()
    code, out, err = cli(capsys, "test", ".")
    assert code == 0, err
    assert json.loads(out) == {"message": "Hello, World!"}


def test_app_serve_imports_the_app_from_its_directory(tmp_path: Path) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("owl\n")
    ready = tmp_path / "ready.json"
    script = Path(sys.executable).parent / "inferencesh"
    proc = subprocess.Popen(
        [str(script), "app", "serve", "app", "--ready-file", "ready.json"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read() if proc.stderr else "worker exited")
            assert time.monotonic() < deadline
            time.sleep(0.02)
        port = json.loads(ready.read_text())["port"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            lines = client.post("/run", json={"input": {}})
            assert json.loads(lines.text.splitlines()[-1])["output"] == {"labels": ["owl"]}
            client.post("/shutdown")
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_app_schema_reports_a_file_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    (app / "output_schema.json").mkdir()  # in the way of the file
    code, out, err = cli(capsys, "schema", str(app))
    assert code == 1
    assert "wrote" not in out
    assert err.startswith(f"error: cannot write the schema files into {app}:")
    assert "Traceback" not in err
    assert not [p.name for p in app.iterdir() if p.name.endswith(".tmp")]


def test_app_commands_given_a_file_instead_of_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    code, _, err = cli(capsys, "test", str(app / "inference.py"), "--input", "{}")
    assert code == 1
    assert f"error: {app / 'inference.py'} is a file; give the app directory that holds it" in err
    (tmp_path / "plain").write_text("x")
    code, _, err = cli(capsys, "init", str(tmp_path / "plain" / "new-app"))
    assert code == 1
    assert err.startswith(f"error: cannot create {tmp_path / 'plain' / 'new-app'}:")
    assert "Traceback" not in err


def test_app_test_inline_json_that_is_not_an_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    code, out, err = cli(capsys, "test", str(app), "--input", "42")
    assert code == 1
    # Before: "--input '42' is neither JSON nor an existing file".
    assert "error: validation: invalid input: expected a JSON object, got a number" in err
    code, out, err = cli(capsys, "test", str(app), "--input", "{not json")
    assert (code, out) == (1, "")
    assert "error: --input: invalid JSON in the argument" in err


def test_app_test_with_invalid_input_reports_only_the_validation_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, SETUP_STATE_APP)
    code, out, err = cli(capsys, "test", str(app), "--input", '{"x": "many"}')
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1].startswith("error: validation: invalid input: x: ")
    assert "unload" not in err


def test_app_test_prints_non_ascii_output_to_a_stdout_that_cannot_encode_it(
    tmp_path: Path,
) -> None:
    app = app_in(
        tmp_path,
        """
        class In(BaseModel):
            x: int = 1

        class Out(BaseModel):
            text: str

        class App:
            def run(self, data: In) -> Out:
                return Out(text="naïve 图")
        """,
    )
    script = Path(sys.executable).parent / "inferencesh"
    # A Windows console or redirected file (cp1252) fails the same way as ascii here.
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [str(script), "app", "test", str(app), "--input", "{}"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    # Before: UnicodeEncodeError, a traceback and no output.
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == {"text": "naïve 图"}


def test_app_init_into_a_fresh_git_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "repo-app"
    (target / ".git").mkdir(parents=True)  # `git init` made it
    code, _, err = cli(capsys, "init", str(target))
    # Before: "already exists and is not an empty directory".
    assert code == 0, err
    assert (target / "inference.py").is_file()
    assert (target / ".git").is_dir()
    # A file the scaffold would overwrite is still refused.
    again = tmp_path / "has-ignore"
    again.mkdir()
    (again / ".gitignore").write_text("mine\n")
    code, _, err = cli(capsys, "init", str(again))
    assert code == 1
    assert "already exists" in err
    assert (again / ".gitignore").read_text() == "mine\n"


def test_app_test_stdout_holds_only_the_output_even_for_child_processes(tmp_path: Path) -> None:
    app = app_in(
        tmp_path,
        """
        import subprocess

        os.write(1, b"raw write at import\\n")

        class In(BaseModel):
            x: int = 1

        class Out(BaseModel):
            x: int

        class App:
            def run(self, data: In) -> Out:
                subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
                return Out(x=data.x)
        """,
    )
    script = Path(sys.executable).parent / "inferencesh"
    proc = subprocess.run(
        [str(script), "app", "test", str(app), "--input", "{}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    # Before: both lines landed on stdout, ahead of the output JSON.
    assert json.loads(proc.stdout) == {"x": 1}
    assert "raw write at import" in proc.stderr
    assert "from a child process" in proc.stderr

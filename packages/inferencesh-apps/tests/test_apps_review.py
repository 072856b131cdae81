"""Bugs an app author would hit, found in review: each test runs real app directories through the
real runtime or CLI (and, for downloads, a real loopback HTTP server)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import inferencesh.apps.file as file_module
import pytest
from inferencesh.apps import BaseAppInput, File
from inferencesh.apps.runtime import AppLoadError, AppRunner, load_app
from inferencesh.core.cli import main
from pydantic import ValidationError

HEADER = """
import asyncio, os, sys, threading, time
from pydantic import BaseModel, Field
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
"""


def make_app(root: Path, body: str, name: str = "app") -> Path:
    app = root / name
    app.mkdir(exist_ok=True)
    (app / "inference.py").write_text(HEADER + textwrap.dedent(body))
    return app


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["app", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def file_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(cache))
    monkeypatch.setattr(file_module, "_BACKOFF", (0.0, 0.0))
    return cache


# -- File input forms ---------------------------------------------------------------------


class _In(BaseAppInput):
    doc: File


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"uri": 123}, "'uri' must be a string, not int"),
        ({"uri": ["http://x/a.png"]}, "'uri' must be a string, not list"),
        ({"path": "/tmp/a.txt", "filename": 3}, "'filename' must be a string, not int"),
        ({"path": "/tmp/a.txt", "content_type": {}}, "'content_type' must be a string"),
        ({"path": "/tmp/a.txt", "size": "big"}, "'size' must be a whole number"),
        ({"path": "/tmp/a.txt", "size": True}, "'size' must be a whole number"),
        ({"path": "/tmp/a.txt", "size": -1}, "'size' must be a whole number"),
        ({"path": "/tmp/a.txt", "size": 1.5}, "'size' must be a whole number"),
    ],
)
def test_a_file_object_with_a_wrongly_typed_key_is_a_validation_error(
    value: dict[str, Any], message: str
) -> None:
    # Before: {"uri": 123} escaped validation as an AttributeError (a runtime crash, not a
    # validation error naming the field).
    with pytest.raises(ValidationError) as info:
        _In.model_validate({"doc": value})
    error = info.value.errors()[0]
    assert error["loc"] == ("doc",)
    assert message in error["msg"]


async def test_a_wrongly_typed_file_object_is_reported_as_invalid_input(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        """
        class In(BaseAppInput):
            doc: File

        class Out(BaseAppOutput):
            ok: bool = True

        class App(BaseApp):
            async def run(self, input_data: In) -> Out:
                return Out()
        """,
    )
    runner = AppRunner.from_dir(app)
    result = await runner.run({"doc": {"uri": 5}})
    assert result.error is not None
    assert result.error["kind"] == "validation"
    assert (
        result.error["error"]
        == "invalid input: doc: invalid file: 'uri' must be a string, not int (got {\"uri\": 5})"
    )
    await runner.unload()


def test_file_object_sizes_that_are_whole_numbers_are_kept() -> None:
    for size in (12, "12", 12.0):
        assert _In.model_validate({"doc": {"path": "/tmp/a.txt", "size": size}}).doc.size == 12


def test_home_is_expanded_in_every_path_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "note.txt").write_text("hi")
    expected = str(tmp_path / "note.txt")
    # Before: only the bare string form expanded `~`; the others made `<cwd>/~/note.txt`.
    for made in (
        File("~/note.txt"),
        File(path="~/note.txt"),
        File({"path": "~/note.txt"}),
        File({"uri": "~/note.txt"}),
        _In.model_validate({"doc": {"path": "~/note.txt"}}).doc,
    ):
        assert made.path == expected
        assert made.exists()


@pytest.mark.parametrize(
    "uri",
    [
        "data:text/plain;BASE64,aGVsbG8=",  # the marker is case-insensitive (RFC 2397)
        "data:text/plain;Base64,aGVsbG8",
        "data:text/plain;base64,aGVsbG8===",  # excess padding
        "data:text/plain;base64,aGVs%0AbG8=",  # an escaped newline inside
    ],
)
def test_data_uri_forms_decode(uri: str) -> None:
    file = File(uri)
    assert Path(file.path).read_bytes() == b"hello"
    assert file.content_type == "text/plain"


# -- downloads ------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"payload"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def httpd() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_a_url_with_a_long_non_ascii_name_downloads(httpd: str) -> None:
    # 150 three-byte characters: 450 bytes, over the 255-byte limit of a file name.
    name = "é" * 20 + "图" * 150 + ".txt"
    url = f"{httpd}/{urllib.parse.quote(name)}?sig=abc"
    file = await File(url).aresolve()
    assert Path(file.path).read_bytes() == b"payload"
    assert len(os.path.basename(file.path).encode()) <= 255
    assert file.path.endswith(".txt")
    # The cached copy is found again.
    again = await File(url).aresolve()
    assert again.path == file.path


# -- exceptions from app code -------------------------------------------------------------

_RAISING_APP = """
class Stop(BaseException):
    pass

class In(BaseModel):
    kind: str = "ok"

class Out(BaseModel):
    ok: bool = True

def boom(kind):
    if kind == "interrupt":
        raise KeyboardInterrupt("from the app")
    if kind == "base":
        raise Stop("custom base exception")

class App:
    def run(self, data: In) -> Out:
        boom(data.kind)
        return Out()

    async def arun(self, data: In) -> Out:
        boom(data.kind)
        return Out()

    async def agen(self, data: In) -> Out:
        yield Out(ok=False)
        boom(data.kind)
        yield Out()
"""


@pytest.mark.parametrize("function", ["run", "arun", "agen"])
@pytest.mark.parametrize(
    ("kind", "message"),
    [("interrupt", "KeyboardInterrupt: from the app"), ("base", "Stop: custom base exception")],
)
async def test_base_exceptions_raised_by_app_code_fail_only_that_run(
    tmp_path: Path, function: str, kind: str, message: str
) -> None:
    # Before: a KeyboardInterrupt escaped the runner's task and stopped the event loop (the
    # worker with it); other BaseExceptions read "internal runtime error" with no traceback.
    runner = AppRunner.from_dir(make_app(tmp_path, _RAISING_APP))
    failed = await runner.run({"kind": kind}, function=function)
    assert failed.error is not None
    assert failed.error["kind"] == "app"
    assert failed.error["error"] == message
    assert "in boom" in failed.error.get("traceback", "")
    assert any(message in line for line in failed.logs("run"))
    ok = await runner.run({"kind": "ok"}, function=function)
    assert ok.output == {"ok": True}
    await runner.unload()


async def test_a_base_exception_in_setup_fails_setup_and_the_next_run_retries(
    tmp_path: Path,
) -> None:
    app = make_app(
        tmp_path,
        """
        class AppSetup(BaseModel):
            fail: bool = False

        class In(BaseModel):
            x: int = 1

        class Out(BaseModel):
            x: int

        class App:
            def setup(self, config: AppSetup):
                if config.fail:
                    raise KeyboardInterrupt("setup interrupted")

            def run(self, data: In) -> Out:
                return Out(x=data.x)
        """,
    )
    runner = AppRunner.from_dir(app)
    failed = await runner.run({}, setup={"fail": True})
    assert failed.error is not None
    assert failed.error["kind"] == "setup"
    assert failed.error["error"] == "setup failed: KeyboardInterrupt: setup interrupted"
    assert runner.status == "setup_failed"
    ok = await runner.run({"x": 2})
    assert ok.output == {"x": 2}
    await runner.unload()


async def test_an_output_file_that_does_not_exist_fails_the_run_naming_the_field(
    tmp_path: Path,
) -> None:
    app = make_app(
        tmp_path,
        """
        import tempfile

        class In(BaseModel):
            keep: bool = False

        class Out(BaseAppOutput):
            files: list[File]

        class App(BaseApp):
            async def run(self, input_data: In) -> Out:
                with tempfile.TemporaryDirectory() as folder:
                    path = os.path.join(folder, "out.txt")
                    with open(path, "w") as handle:
                        handle.write("x")
                    if input_data.keep:
                        kept = os.path.join(os.path.dirname(__file__), "kept.txt")
                        os.replace(path, kept)
                        path = kept
                # Written in a temporary directory that is gone by now (unless kept).
                return Out(files=[File(path=path)])
        """,
    )
    runner = AppRunner.from_dir(app)
    failed = await runner.run({})
    assert failed.error is not None
    assert failed.error["kind"] == "app"
    assert failed.error["error"].startswith(
        "FileNotFoundError: the app returned a file that does not exist (`run`, output field "
        "'files[0]'): "
    )
    assert failed.error["error"].endswith("out.txt")
    ok = await runner.run({"keep": True}, metadata={"task_id": "t"})
    assert ok.output is not None
    assert ok.output["files"][0]["path"].endswith("kept.txt")
    await runner.unload()


# -- loading --------------------------------------------------------------------------------


def test_a_syntax_error_names_file_and_line_without_import_machinery(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "inference.py").write_text("x = 1\n\ndef run(self) -> None\n    pass\n")
    with pytest.raises(AppLoadError) as info:
        load_app(app)
    text = str(info.value)
    assert "inference.py, line 3" in text
    assert "def run(self) -> None" in text
    # Before: the whole importlib traceback followed the message.
    assert "importlib" not in text
    assert "Traceback" not in text


def test_a_runtime_error_at_import_names_file_and_line_in_its_first_line(tmp_path: Path) -> None:
    app = make_app(tmp_path, "\nVALUE = undefined_name\n")
    with pytest.raises(AppLoadError) as info:
        load_app(app)
    first = str(info.value).splitlines()[0]
    assert "NameError: name 'undefined_name' is not defined" in first
    assert f"{app / 'inference.py'}, line 6" in first


# -- the CLI --------------------------------------------------------------------------------

_PRINTING_APP = """
print("module level print")
with open("labels.txt") as labels:  # relative: the app's own directory
    LABELS = labels.read().split()

class In(BaseModel):
    x: int = 1

class Out(BaseModel):
    labels: list[str]

class App:
    def __init__(self):
        print("constructor print")

    def run(self, data: In) -> Out:
        return Out(labels=LABELS)

    def unload(self):
        if os.environ.get("FAIL_UNLOAD"):
            raise RuntimeError("unload broke")
"""


def test_app_test_imports_the_app_from_its_directory_and_keeps_stdout_for_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, _PRINTING_APP)
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
    app = make_app(tmp_path, _PRINTING_APP)
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
    app = make_app(tmp_path, _PRINTING_APP)
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
    app = make_app(tmp_path, _PRINTING_APP)
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


def test_base64_helper_is_urlsafe() -> None:
    # URL-safe alphabet and missing padding, as browsers' btoa replacements produce.
    raw = bytes(range(250, 256)) * 3
    encoded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert Path(File(f"data:application/octet-stream;base64,{encoded}").path).read_bytes() == raw


async def test_on_cancel_raising_a_base_exception_still_cancels_the_run(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        """
        class In(BaseModel):
            seconds: float = 5

        class Out(BaseModel):
            ok: bool = True

        class App:
            async def run(self, data: In) -> Out:
                await asyncio.sleep(data.seconds)
                return Out()

            async def on_cancel(self):
                raise SystemExit("on_cancel exits")
        """,
    )
    runner = AppRunner.from_dir(app)
    handle = runner.start({})
    async for event in handle:
        if event["type"] == "status" and event["status"] == "running":
            break
    # Before: the SystemExit escaped `cancel()` and the run went on to the end.
    assert await handle.cancel() is True
    result = await handle.result()
    assert result.error is not None
    assert result.error["kind"] == "cancelled"
    assert "on_cancel failed: SystemExit: on_cancel exits" in result.logs()
    assert (await runner.run({"seconds": 0})).output == {"ok": True}
    await runner.unload()


def test_app_schema_reports_a_file_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path, _PRINTING_APP)
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
    app = make_app(tmp_path, _PRINTING_APP)
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
    app = make_app(tmp_path, _PRINTING_APP)
    (app / "labels.txt").write_text("cat\n")
    code, out, err = cli(capsys, "test", str(app), "--input", "42")
    assert code == 1
    # Before: "--input '42' is neither JSON nor an existing file".
    assert "error: validation: invalid input: expected a JSON object, got a number" in err
    code, out, err = cli(capsys, "test", str(app), "--input", "{not json")
    assert (code, out) == (1, "")
    assert "error: --input: invalid JSON in the argument" in err


async def test_apps_with_same_named_sibling_modules_each_get_their_own(tmp_path: Path) -> None:
    source = """
    import review_shared_helpers

    class In(BaseModel):
        x: int = 1

    class Out(BaseModel):
        who: str

    class App:
        def run(self, data: In) -> Out:
            return Out(who=review_shared_helpers.WHO)
    """
    first = make_app(tmp_path, source, name="first")
    second = make_app(tmp_path, source, name="second")
    (first / "review_shared_helpers.py").write_text("WHO = 'first'\n")
    (second / "review_shared_helpers.py").write_text("WHO = 'second'\n")

    async def who(app: Path) -> Any:
        runner = AppRunner.from_dir(app)
        try:
            return (await runner.run({})).output
        finally:
            await runner.unload()

    # Before: the second app silently imported the first app's module of the same name, and a
    # reload never saw an edited sibling module.
    assert await who(first) == {"who": "first"}
    assert await who(second) == {"who": "second"}
    assert await who(first) == {"who": "first"}
    (first / "review_shared_helpers.py").write_text("WHO = 'first, edited'\n")
    assert await who(first) == {"who": "first, edited"}


async def test_a_bad_data_uri_names_its_input_field(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        """
        class In(BaseModel):
            docs: list[File]

        class Out(BaseModel):
            n: int

        class App:
            def run(self, data: In) -> Out:
                return Out(n=len(data.docs))
        """,
    )
    runner = AppRunner.from_dir(app)
    result = await runner.run(
        {"docs": ["data:text/plain;base64,aGk=", "data:text/plain;base64,a!!"]}
    )
    assert result.error is not None
    assert result.error["kind"] == "validation"
    # Before: the message did not say which field held the bad data: URI.
    assert result.error["error"].startswith("invalid input: invalid base64 in data: URI")
    assert result.error["error"].endswith("(field 'docs[1]')")
    await runner.unload()


_SETUP_STATE_APP = """
UNLOADED = []

class In(BaseModel):
    x: int

class Out(BaseModel):
    x: int

class App(BaseApp):
    async def setup(self):
        self.model = "weights"

    async def run(self, input_data: In) -> Out:
        return Out(x=input_data.x)

    async def unload(self):
        del self.model  # what setup loaded
        UNLOADED.append(True)
"""


async def test_unload_follows_setup_only(tmp_path: Path) -> None:
    # Before: unload ran even when setup never had (the first input was invalid, or no call came
    # at all), so an unload releasing what setup loaded failed with an AttributeError.
    app = make_app(tmp_path, _SETUP_STATE_APP)
    idle = AppRunner.from_dir(app)
    await idle.unload()
    assert idle.app.module.UNLOADED == []
    invalid = AppRunner.from_dir(app)
    assert (await invalid.run({"x": "many"})).error is not None
    await invalid.unload()
    assert invalid.app.module.UNLOADED == []
    used = AppRunner.from_dir(app)
    assert (await used.run({"x": 1})).output == {"x": 1}
    await used.unload()
    assert used.app.module.UNLOADED == [True]
    # An app without a setup of its own is unloaded whatever happened.
    plain = AppRunner.from_dir(
        make_app(tmp_path, _SETUP_STATE_APP.replace("setup(self)", "prepare(self)"), name="plain")
    )
    plain.instance.model = "from __init__"
    await plain.unload()
    assert plain.app.module.UNLOADED == [True]


def test_app_test_with_invalid_input_reports_only_the_validation_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path, _SETUP_STATE_APP)
    code, out, err = cli(capsys, "test", str(app), "--input", '{"x": "many"}')
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1].startswith("error: validation: invalid input: x: ")
    assert "unload" not in err


def test_app_test_prints_non_ascii_output_to_a_stdout_that_cannot_encode_it(
    tmp_path: Path,
) -> None:
    app = make_app(
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


def test_loading_an_app_leaves_installed_packages_alone_even_in_a_venv_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pydantic

    app = make_app(tmp_path, _PRINTING_APP)
    (app / "labels.txt").write_text("x\n")
    # A virtual environment kept in the app folder, holding a package that is already imported.
    site = app / ".venv" / "lib" / "site-packages" / "review_venv_pkg"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(site.parent)  # as if installed there (pytest restores sys.path)
    try:
        import review_venv_pkg  # type: ignore[import-not-found]

        cwd = os.getcwd()
        os.chdir(app)
        try:
            load_app(app)
            load_app(app)
        finally:
            os.chdir(cwd)
        assert sys.modules["review_venv_pkg"] is review_venv_pkg
        assert sys.modules["pydantic"] is pydantic
    finally:
        sys.modules.pop("review_venv_pkg", None)


def test_a_default_function_that_is_not_a_name_is_a_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, _PRINTING_APP)
    (app / "labels.txt").write_text("x\n")
    monkeypatch.chdir(app)
    (app / "inf.yml").write_text("default_function: [run]\n")
    # Before: TypeError: unhashable type: 'list'.
    with pytest.raises(AppLoadError, match=r"default_function \['run'\] is not a function"):
        load_app(app)


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
    app = make_app(
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

"""``File``: construction forms, wire form, schema, and downloads against a real loopback server."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps_testkit import app_in, serving
from inferencesh.apps import BaseAppInput, BaseAppOutput, File, FileDownloadError, resolve_files
from inferencesh.apps.file import cache_dir, iter_files
from inferencesh.apps.runtime import AppRunner
from inferencesh.core import retry
from pydantic import Field, ValidationError

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        route = self.path.split("?")[0]
        if route == "/missing.png":
            self._send(404, b"nope", "text/plain")
        elif route == "/partial.bin":
            # Promise more than is sent, then hang up: the client sees a truncated body.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            self.close_connection = True
        elif route == "/flaky.png":
            fails = self.server.flaky_failures
            if fails > 0:
                self.server.flaky_failures = fails - 1
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, PNG, "image/png")
        elif route == "/slow.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 1024 * 50))
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b"s" * 64 * 1024)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            self.close_connection = True
        elif route == "/trickle.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024))
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"t" * 1024)
                self.wfile.flush()
                time.sleep(0.03)
        elif route == "/noext":
            self._send(200, PNG, "image/png")
        elif route == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/img.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(200, PNG, "image/png")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    flaky_failures: int


@pytest.fixture(scope="module")
def _httpd() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    with serving(httpd):
        yield httpd


@pytest.fixture
def server(_httpd: _Server) -> _Server:
    _httpd.hits = []
    _httpd.flaky_failures = 0
    return _httpd


def url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture(autouse=True)
def file_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(cache))
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    return cache


def visible_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


class Inp(BaseAppInput):
    image: File
    extra: File | None = None
    gallery: list[File] = Field(default_factory=list)


# -- construction --------------------------------------------------------------------------


def test_local_path_forms(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("hello")
    for made in (
        File(str(target)),
        File(target),
        File(path=str(target)),
        File(uri=str(target)),
        File({"path": str(target)}),
        File(target.as_uri()),
    ):
        assert made.path == str(target)
        assert made.is_local()
        assert made.filename == "a.txt"
    relative = File("a.txt")
    assert relative.path == os.path.abspath("a.txt")


def test_file_uri_decodes_percent_escapes(tmp_path: Path) -> None:
    target = tmp_path / "with space.txt"
    target.write_text("x")
    assert File(target.as_uri()).path == str(target)
    with pytest.raises(ValueError, match="remote host"):
        File("file://otherhost/etc/passwd")


def test_rejects_empty_and_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="'uri' or a 'path'"):
        File()
    with pytest.raises(ValueError, match="unsupported file URI scheme 's3'"):
        File("s3://bucket/key.png")
    with pytest.raises(TypeError, match="not int"):
        File(5)  # type: ignore[arg-type]


def test_constructing_a_url_does_not_download(server: _Server) -> None:
    made = File(url(server, "/img.png"))
    assert made.is_remote() and not made.is_resolved()
    assert made.filename == "img.png"
    assert server.hits == []


def test_dict_with_server_file_fields_is_accepted() -> None:
    dto = {
        "id": "f1",
        "uri": "https://cdn.example/x.png",
        "upload_url": "https://up",
        "category": "input",
        "content_type": "image/png",
        "size": 12,
        "filename": "x.png",
    }
    made = Inp.model_validate({"image": dto}).image
    assert made.uri == dto["uri"]
    assert made.content_type == "image/png"
    assert made.size == 12


def test_validation_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Inp.model_validate({"image": {"id": "no-uri"}})
    assert info.value.errors()[0]["loc"] == ("image",)
    assert "'uri' or 'path'" in str(info.value)
    with pytest.raises(ValidationError) as info:
        Inp.model_validate({"image": 42})
    assert "not int" in str(info.value)
    with pytest.raises(ValidationError, match="empty file value"):
        Inp.model_validate({"image": ""})
    with pytest.raises(ValidationError) as info:
        Inp.model_validate({"image": "ftp://host/x"})
    assert info.value.errors()[0]["loc"] == ("image",)


def test_blank_optional_file_reads_as_none() -> None:
    assert Inp.model_validate({"image": "/x.png", "extra": ""}).extra is None
    assert Inp.model_validate({"image": "/x.png", "extra": {}}).extra is None


# -- wire form and schema ------------------------------------------------------------------


def test_output_file_serializes_to_object_form(tmp_path: Path) -> None:
    class Out(BaseAppOutput):
        image: File
        maybe: File | None = None

    target = tmp_path / "out.png"
    made = File(path=str(target))  # made before the content exists
    target.write_bytes(PNG)
    dumped = Out(image=made).model_dump(mode="json", exclude_none=True)
    assert dumped == {
        "image": {
            "path": str(target),
            "content_type": "image/png",
            "size": len(PNG),
            "filename": "out.png",
        }
    }
    remote = File("https://cdn.example/a.png")
    assert remote.to_dict() == {"uri": "https://cdn.example/a.png", "filename": "a.png"}
    # The object form validates back to the same file.
    assert Out.model_validate(dumped).image == made


def test_json_schema_is_the_platform_string_form() -> None:
    schema = Inp.model_json_schema()
    props = schema["properties"]
    assert props["image"] == {"type": "string", "format": "file", "title": "Image"}
    assert props["extra"]["anyOf"] == [{"type": "string", "format": "file"}, {"type": "null"}]
    assert props["gallery"]["items"] == {"type": "string", "format": "file"}
    assert "$defs" not in schema


# -- data: URIs ----------------------------------------------------------------------------


def test_base64_data_uri(file_cache: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    made = File(uri)
    assert made.content_type == "image/png"
    path = Path(made.path)
    assert path.read_bytes() == PNG
    assert path.suffix == ".png"
    assert str(path).startswith(str(file_cache))
    assert File(uri).path == str(path)  # cached by content


def test_plain_and_urlsafe_data_uris() -> None:
    assert Path(File("data:,hello%20world").path).read_text() == "hello world"
    raw = b"\xfb\xff\xfe"
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert Path(File(f"data:application/octet-stream;base64,{urlsafe}").path).read_bytes() == raw


async def test_bad_base64_fails_clearly() -> None:
    with pytest.raises(ValueError, match="invalid base64"):
        await File("data:image/png;base64,@@@@").aresolve()
    with pytest.raises(ValueError, match="malformed data: URI"):
        File("data:nocomma")


# -- downloads -----------------------------------------------------------------------------


async def test_resolve_files_downloads_into_cache(server: _Server, file_cache: Path) -> None:
    model = Inp.model_validate(
        {
            "image": url(server, "/img.png"),
            "gallery": [url(server, "/img.png"), url(server, "/b/other.png?sig=1")],
        }
    )
    await resolve_files(model)
    path = Path(model.image.path)
    assert path.read_bytes() == PNG
    assert path.name == "img.png"
    assert path.is_relative_to(file_cache)
    assert model.gallery[0].path == model.image.path
    assert model.image.size == len(PNG)
    assert model.image.content_type == "image/png"
    # One request per distinct URL even though two fields name the first.
    assert sorted(server.hits) == ["/b/other.png?sig=1", "/img.png"]
    assert not [p for p in visible_files(file_cache) if p.name.endswith(".part")]


async def test_cache_hit_skips_the_network(server: _Server) -> None:
    first = await File(url(server, "/img.png")).aresolve()
    again = await File(url(server, "/img.png")).aresolve()
    assert again.path == first.path
    assert server.hits == ["/img.png"]
    # A different query string is a different resource.
    await File(url(server, "/img.png?v=2")).aresolve()
    assert server.hits == ["/img.png", "/img.png?v=2"]


async def test_missing_url_names_url_and_field(server: _Server, file_cache: Path) -> None:
    model = Inp.model_validate(
        {"image": url(server, "/img.png"), "gallery": [url(server, "/missing.png")]}
    )
    with pytest.raises(FileDownloadError) as info:
        await resolve_files(model)
    message = str(info.value)
    assert url(server, "/missing.png") in message
    assert "gallery[0]" in message
    assert "HTTP 404" in message
    assert info.value.field == "gallery[0]"
    assert server.hits.count("/missing.png") == 1  # a 404 is not retried
    assert not list((file_cache).rglob("missing.png"))


async def test_truncated_download_leaves_nothing(server: _Server, file_cache: Path) -> None:
    made = File(url(server, "/partial.bin"))
    with pytest.raises(FileDownloadError, match="after 3 attempts") as info:
        await made.aresolve()
    assert "partial.bin" in str(info.value)
    assert server.hits == ["/partial.bin"] * 3
    assert visible_files(file_cache) == []
    assert not made.is_resolved()


async def test_cancelled_download_leaves_nothing(server: _Server, file_cache: Path) -> None:
    task = asyncio.create_task(File(url(server, "/slow.bin")).aresolve())
    deadline = time.monotonic() + 5
    while not list(file_cache.rglob("*.part")):
        assert time.monotonic() < deadline, "download never started"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert visible_files(file_cache) == []


async def test_download_does_not_block_the_loop(server: _Server) -> None:
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    model = Inp.model_validate({"image": url(server, "/trickle.bin")})
    await resolve_files(model)
    done.set()
    await ticking
    assert Path(model.image.path).stat().st_size == 10 * 1024
    # The server takes ~0.3 s; a blocking download would have let the ticker run once or twice.
    assert ticks >= 10


async def test_download_fsyncs_off_the_event_loop(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    synced_on: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced_on.append(threading.get_ident())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    made = await File(url(server, "/img.png")).aresolve()
    assert Path(made.path).read_bytes() == PNG
    assert synced_on  # the file (and, where possible, its folder) is made durable ...
    assert loop_thread not in synced_on  # ... in a worker thread, not on the loop


async def test_concurrent_downloads_of_one_url(server: _Server, file_cache: Path) -> None:
    files = [File(url(server, "/same.png")) for _ in range(5)]
    await asyncio.gather(*(f.aresolve() for f in files))
    assert {f.path for f in files} == {files[0].path}
    assert Path(files[0].path).read_bytes() == PNG
    assert [p.name for p in visible_files(file_cache)] == ["same.png"]


async def test_transient_errors_are_retried(server: _Server) -> None:
    server.flaky_failures = 2
    made = await File(url(server, "/flaky.png")).aresolve()
    assert Path(made.path).read_bytes() == PNG
    assert server.hits == ["/flaky.png"] * 3


async def test_extension_from_content_type_and_redirects(server: _Server) -> None:
    noext = await File(url(server, "/noext")).aresolve()
    assert noext.path.endswith("noext.png")
    redirected = await File(url(server, "/redirect")).aresolve()
    assert Path(redirected.path).read_bytes() == PNG


async def test_path_inside_event_loop_does_not_block(server: _Server) -> None:
    made = File(url(server, "/img.png"))
    with pytest.raises(RuntimeError, match="aresolve"):
        _ = made.path
    with pytest.raises(RuntimeError, match="aresolve"):
        made.resolve()
    assert server.hits == []


def test_sync_resolve_and_path_outside_a_loop(server: _Server) -> None:
    made = File(url(server, "/img.png"))
    assert Path(made.path).read_bytes() == PNG  # .path fetches when no loop is running
    other = File(url(server, "/b/x.png")).resolve()
    assert Path(other.path).read_bytes() == PNG
    with open(other, "rb") as handle:  # File is path-like
        assert handle.read(4) == PNG[:4]


async def test_missing_local_input_names_the_field(tmp_path: Path) -> None:
    model = Inp.model_validate({"image": str(tmp_path / "nope.png")})
    with pytest.raises(FileNotFoundError, match=r"nope\.png.*field 'image'"):
        await resolve_files(model)


async def test_resolve_files_walks_nested_models(server: _Server) -> None:
    class Msg(BaseAppInput):
        images: list[File] = Field(default_factory=list)

    class Chat(BaseAppInput):
        context: list[Msg] = Field(default_factory=list)
        by_name: dict[str, File] = Field(default_factory=dict)

    model = Chat.model_validate(
        {
            "context": [{"images": [url(server, "/c/1.png")]}],
            "by_name": {"a": url(server, "/c/2.png")},
        }
    )
    assert [where for where, _ in iter_files(model)] == ["context[0].images[0]", "by_name['a']"]
    await resolve_files(model)
    assert Path(model.context[0].images[0].path).read_bytes() == PNG
    assert Path(model.by_name["a"].path).read_bytes() == PNG


def test_cache_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("INFERENCESH_FILE_CACHE")
    monkeypatch.setenv("FILE_CACHE_DIR", str(tmp_path / "b"))
    assert cache_dir() == tmp_path / "b"
    monkeypatch.delenv("FILE_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "inferencesh" / "files"


def test_query_strings_are_kept_out_of_errors() -> None:
    error = FileDownloadError("https://h/x.png?X-Signature=secret", "HTTP 403", field="image")
    assert "secret" not in str(error)
    assert json.dumps(str(error))


def test_local_and_data_inputs_need_no_http_client(tmp_path: Path) -> None:
    # Resolving inputs that need no download must not build an HTTP client (nor import httpx).
    script = (
        "import asyncio, sys\n"
        "from inferencesh.apps import BaseAppInput, File, resolve_files\n"
        "class I(BaseAppInput):\n"
        "    a: File\n"
        "    b: File\n"
        f"m = I(a={str(tmp_path / 'x.txt')!r}, b='data:,hi')\n"
        "asyncio.run(resolve_files(m))\n"
        "print(open(m.b.path).read(), 'httpx' in sys.modules)\n"
    )
    (tmp_path / "x.txt").write_text("x")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["hi", "False"]


# -- storage directories and download() ---------------------------------------------------


def test_storage_dirs_under_a_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inferencesh.apps import StorageDir

    monkeypatch.setenv("INFERENCESH_STORAGE_ROOT", str(tmp_path / "root"))
    assert StorageDir.DATA.path == tmp_path / "root" / "data"
    assert StorageDir.TEMP.path.is_dir()
    assert str(StorageDir.CACHE) == str(tmp_path / "root" / "cache")
    assert StorageDir.DATA.value == "/app/data"


def test_download_into_a_directory(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferencesh.apps import StorageDir, download

    first = download(url(server, "/weights.bin"), tmp_path / "models")
    assert Path(first).read_bytes() == PNG
    assert Path(first).name == "weights.bin"
    assert Path(first).is_relative_to(tmp_path / "models")
    again = download(url(server, "/weights.bin"), str(tmp_path / "models"))
    assert again == first
    assert server.hits == ["/weights.bin"]
    assert not list((tmp_path / "models").rglob("*.part"))
    # TEMP always gets a fresh copy (from the download cache, not the network).
    monkeypatch.setenv("INFERENCESH_STORAGE_ROOT", str(tmp_path / "root"))
    temp = Path(download(url(server, "/weights.bin"), StorageDir.TEMP))
    assert temp.is_relative_to(tmp_path / "root" / "tmp")
    temp.write_bytes(b"changed")
    assert Path(download(url(server, "/weights.bin"), StorageDir.TEMP)).read_bytes() == PNG
    assert server.hits == ["/weights.bin"]


async def test_adownload_and_its_errors(server: _Server, tmp_path: Path) -> None:
    from inferencesh.apps import adownload, download

    path = await adownload(url(server, "/a/b.png"), tmp_path)
    assert Path(path).read_bytes() == PNG
    with pytest.raises(FileDownloadError, match="HTTP 404"):
        await adownload(url(server, "/missing.png"), tmp_path)
    with pytest.raises(RuntimeError, match="aresolve"):
        download(url(server, "/c.png"), tmp_path)  # blocking inside a running loop is refused


async def test_url_names_cannot_escape_the_cache(server: _Server, file_cache: Path) -> None:
    made = await File(url(server, "/..%2F..%2Fescape.png")).aresolve()
    path = Path(made.path).resolve()
    assert path.is_relative_to(file_cache.resolve())
    assert "/" not in path.name and not path.name.startswith(".")
    assert path.read_bytes() == PNG


# -- file input forms: wrongly typed keys, whole-number sizes, ~ in every path form --------


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
    app = app_in(
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


# -- a URL with a long non-ASCII name downloads ---------------------------------------------


class _PayloadHandler(http.server.BaseHTTPRequestHandler):
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
def payload_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PayloadHandler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


async def test_a_url_with_a_long_non_ascii_name_downloads(payload_server: str) -> None:
    # 150 three-byte characters: 450 bytes, over the 255-byte limit of a file name.
    name = "é" * 20 + "图" * 150 + ".txt"
    url = f"{payload_server}/{urllib.parse.quote(name)}?sig=abc"
    file = await File(url).aresolve()
    assert Path(file.path).read_bytes() == b"payload"
    assert len(os.path.basename(file.path).encode()) <= 255
    assert file.path.endswith(".txt")
    # The cached copy is found again.
    again = await File(url).aresolve()
    assert again.path == file.path

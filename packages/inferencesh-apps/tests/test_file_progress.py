"""Opt-in download progress of ``File`` against a real loopback HTTP server: ``aresolve(progress=)``,
``resolve_files(progress=factory)``, ``download_progress``, retries restarting from 0, a failing
callback aborting cleanly, and the bars of ``inferencesh app test`` on a terminal."""

from __future__ import annotations

import asyncio
import http.server
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps_testkit import serving
from inferencesh.apps import BaseAppInput, File
from inferencesh.apps.file import download_progress, resolve_files
from inferencesh.core import retry
from inferencesh.core.cli import main
from inferencesh.core.progress import ProgressBar, ProgressCallback

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"
BODY = bytes(range(256)) * 1000  # 256 kB: several 64 kB chunks


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        route = self.path.split("?")[0]
        self.server.hits.append(route)
        if route == "/flaky.bin" and self.server.hits.count(route) == 1:
            self._send(503, b"busy")
        elif route == "/unsized.bin":
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif route == "/doc.txt":
            self._send(200, b"hello from the loopback server\n", "text/plain")
        else:
            self._send(200, BODY)

    def _send(
        self, status: int, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]


@pytest.fixture(scope="module")
def _httpd() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    with serving(httpd):
        yield httpd


@pytest.fixture
def server(_httpd: _Server) -> _Server:
    _httpd.hits = []
    return _httpd


def url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture(autouse=True)
def file_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(cache))
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    return cache


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


def increasing(calls: list[tuple[int, int | None]]) -> bool:
    dones = [done for done, _ in calls]
    return dones == sorted(dones)


def test_aresolve_reports_bytes_from_zero_to_the_size(server: _Server) -> None:
    seen = Recorder()
    file = asyncio.run(File(url(server, "/a.bin")).aresolve(progress=seen))
    total = len(BODY)
    assert Path(file.path).read_bytes() == BODY
    assert seen.calls[0] == (0, total) and seen.calls[-1] == (total, total)
    assert increasing(seen.calls) and len(seen.calls) >= 3
    assert all(t == total for _, t in seen.calls)
    again = Recorder()
    asyncio.run(File(url(server, "/a.bin")).aresolve(progress=again))
    assert again.calls == [] and server.hits == ["/a.bin"]  # the cached copy: nothing fetched


def test_unknown_size_reports_none_then_the_final_size(server: _Server) -> None:
    seen = Recorder()
    File(url(server, "/unsized.bin")).resolve(progress=seen)
    assert seen.calls[0] == (0, None)
    assert all(total is None for _, total in seen.calls[:-1])
    assert seen.calls[-1] == (len(BODY), len(BODY)) and increasing(seen.calls[:-1])


def test_a_retried_download_restarts_from_zero(server: _Server) -> None:
    seen = Recorder()
    asyncio.run(File(url(server, "/flaky.bin")).aresolve(progress=seen))
    assert server.hits == ["/flaky.bin", "/flaky.bin"]
    # The 503 carried no body: the first attempt ends before reporting; the retry starts at 0.
    assert seen.calls[0] == (0, len(BODY)) and seen.calls[-1] == (len(BODY), len(BODY))
    assert increasing(seen.calls)


def test_a_failing_callback_aborts_and_leaves_nothing(server: _Server, file_cache: Path) -> None:
    class Stop(Exception):
        pass

    def stop(done: int, total: int | None) -> None:
        if done > 0:
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        asyncio.run(File(url(server, "/b.bin")).aresolve(progress=stop))
    assert [p for p in file_cache.rglob("*") if p.is_file()] == []
    assert server.hits == ["/b.bin"]  # not retried: the caller's error, not the network's


class Two(BaseAppInput):
    first: File
    second: File
    same: File
    local: File


def test_resolve_files_makes_one_callback_per_download_and_closes_it(
    server: _Server, tmp_path: Path
) -> None:
    local = tmp_path / "here.txt"
    local.write_text("local")
    model = Two(
        first=url(server, "/one.bin"),
        second=url(server, "/two.bin?sig=SECRET"),
        same=url(server, "/one.bin"),
        local=str(local),
    )
    made: dict[str, Recorder] = {}

    def factory(u: str) -> ProgressCallback:
        made[u] = Recorder()
        return made[u]

    asyncio.run(resolve_files(model, progress=factory))
    # The factory gets URLs fit to display: a query string (a signature) is hidden.
    assert set(made) == {url(server, "/one.bin"), url(server, "/two.bin?...")}
    for recorder in made.values():
        assert recorder.calls[-1] == (len(BODY), len(BODY)) and recorder.closed == 1
    assert Path(model.same.path).read_bytes() == BODY


def test_download_progress_reaches_downloads_started_inside_it(server: _Server) -> None:
    made: list[str] = []

    def factory(u: str) -> ProgressCallback | None:
        made.append(u)
        return None  # a factory may decline

    async def go() -> None:
        with download_progress(factory):
            await asyncio.create_task(
                resolve_files(Two.model_construct(first=File(url(server, "/c.bin"))))
            )
        await File(url(server, "/d.bin")).aresolve()  # outside: silent

    asyncio.run(go())
    assert made == [url(server, "/c.bin")]


def test_app_test_draws_download_bars_on_a_terminal_only(
    server: _Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["app", "test", str(EXAMPLES / "files"), "--input"]
    first = json.dumps({"document": url(server, "/doc.txt")})
    terminal = TTY()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([*argv, first]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["size"] == len(b"hello from the loopback server\n")
    drawn = terminal.getvalue()
    assert "\rdownloading doc.txt 100% [####################] 31 B/31 B" in drawn

    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    second = json.dumps({"document": url(server, "/doc.txt?copy=2")})
    assert main([*argv, second]) == 0
    assert "downloading" not in plain.getvalue() and "\r" not in plain.getvalue()


def test_progress_bar_is_a_valid_callback_for_downloads(server: _Server) -> None:
    out = TTY()
    with ProgressBar("e.bin", stream=out, min_interval=0) as bar:
        asyncio.run(File(url(server, "/e.bin")).aresolve(progress=bar))
    assert "e.bin 100% [####################] 256.0 kB/256.0 kB" in out.getvalue()

"""Input file downloads retry per the SDK's one policy, ``inferencesh.core.retry``.

A real loopback server answers each request from a script: an error status, a dropped
connection, or the file. The policy's decisions show through: which failures are tried again,
``Retry-After``, the shared backoff and the shared number of attempts.
"""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps_testkit import serving
from inferencesh.apps import File, FileDownloadError
from inferencesh.apps.file import cache_dir
from inferencesh.core import retry

BODY = b"the file's bytes\n" * 100
DROP = "drop"  # close the connection without an answer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        script = self.server.script
        step = script.pop(0) if len(script) > 1 else script[0]
        self.server.hits += 1
        if step == DROP:
            self.close_connection = True
            return
        status, headers = step
        body = BODY if status == 200 else b"not now"
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    script: list[object]
    hits: int


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(tmp_path / "cache"))
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.script, httpd.hits = [(200, {})], 0
    with serving(httpd):
        yield httpd


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retries the shared backoff was asked about (answered with no wait)."""
    asked: list[int] = []

    def record(attempt: int) -> float:
        asked.append(attempt)
        return 0.0

    monkeypatch.setattr(retry, "backoff", record)
    return asked


def url(server: _Server, name: str = "data.bin") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{name}"


async def test_a_5xx_is_retried_after_the_servers_retry_after(
    server: _Server, backoffs: list[int]
) -> None:
    server.script = [(503, {"Retry-After-Ms": "300"}), (200, {})]
    started = time.monotonic()
    made = await File(url(server)).aresolve()
    assert time.monotonic() - started >= 0.3  # the server's wait, not the backoff
    assert Path(made.path).read_bytes() == BODY
    assert server.hits == 2 and backoffs == []


async def test_dropped_connections_are_retried_with_the_shared_backoff(
    server: _Server, backoffs: list[int]
) -> None:
    server.script = [DROP, DROP, (200, {})]
    made = await File(url(server)).aresolve()
    assert Path(made.path).read_bytes() == BODY
    assert server.hits == 3 and backoffs == [0, 1]


async def test_a_download_gives_up_after_the_shared_number_of_attempts(
    server: _Server, backoffs: list[int]
) -> None:
    server.script = [(502, {})]
    with pytest.raises(FileDownloadError, match=r"HTTP 502 Bad Gateway \(after 3 attempts\)"):
        await File(url(server)).aresolve()
    assert server.hits == retry.DEFAULT_MAX_RETRIES + 1 == 3 and backoffs == [0, 1]
    assert not [p for p in cache_dir().rglob("*") if p.is_file()]  # no part left behind


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (404, {}, r"HTTP 404 Not Found$"),  # not worth another try
        (503, {"x-should-retry": "false"}, r"HTTP 503 Service Unavailable$"),  # the server says
        (429, {"Retry-After": "3600"}, r"HTTP 429 Too Many Requests \(after 1 attempt\)$"),
    ],
)
async def test_what_the_policy_does_not_retry_fails_at_once(
    server: _Server, backoffs: list[int], status: int, headers: dict[str, str], reason: str
) -> None:
    server.script = [(status, headers), (200, {})]
    started = time.monotonic()
    with pytest.raises(FileDownloadError, match=reason):
        await File(url(server)).aresolve()
    assert server.hits == 1 and backoffs == []
    assert time.monotonic() - started < 5  # an hour's Retry-After is not waited for

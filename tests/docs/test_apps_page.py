"""Every ```python example of docs/apps.md runs as written, in a reader's environment.

The page is run top to bottom in one namespace (``tests/docs/docs_examples.py`` has the rules: skip
markers, and ``# claimed output`` comments on print lines, where ``...`` matches whatever differs
between runs). The reader's environment is a working directory holding ``examples/``, a private
download cache and storage root (``INFERENCESH_FILE_CACHE``, ``INFERENCESH_STORAGE_ROOT``), and,
for the Progress section, a file to download: the page asks the reader to set ``URL`` to the
address of any file, and the test sets it to a loopback server's ``/report.txt`` once the page's
own assignment has run. Nothing needs a platform: the runtime examples use ``AppRunner``.

The app the page opens with (``# inference.py``) is also saved as a folder's ``inference.py`` and
run through the runtime, as the page says an app is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docs_examples as docs
import pytest
from inferencesh.apps.file import cache_dir
from inferencesh.apps.runtime import AppRunner

ROOT = Path(__file__).resolve().parents[2]

REPORT = b"quarterly report: revenue up, costs down\n" * 200


class _FileServer(ThreadingHTTPServer):
    """Serves ``REPORT`` at ``/report.txt`` on 127.0.0.1 and records the paths asked for."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _FileServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path != "/report.txt":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(REPORT)))
        self.end_headers()
        self.wfile.write(REPORT)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@pytest.fixture
def file_server() -> Iterator[_FileServer]:
    server = _FileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def reader_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What the page's reader has: `examples/` in the working directory, private caches."""
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INFERENCESH_STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.delenv("FILE_CACHE_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(work)
    return work


def test_every_example_runs_and_prints_what_it_claims(
    reader_env: Path, file_server: _FileServer
) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_apps"}
    app_code: list[str] = []
    url_blocks: list[str] = []
    checked: list[str] = []

    def after_block(block: Any, printed: list[str]) -> None:
        # Output the page shows in comments on calls rather than on prints: checked in full.
        if "metadata.set_sink(print)" in block.code:
            checked.append(block.where)
            assert printed == [
                "Processing... 3 images",
                "[progress] 30% (3/10) denoising",
                "[progress] 0.5",
            ]
        if "download_progress" in block.code:
            checked.append(block.where)
            assert printed == [f"{len(REPORT)} upper-report.txt"]
        if block.code.startswith("# inference.py\n"):
            app_code.append(block.code)
        if block.code.startswith("URL = "):
            # The page's URL stands for any file the reader picks; this one is on loopback.
            url_blocks.append(namespace["URL"])
            namespace["URL"] = f"{file_server.url}/report.txt"

    ran, skipped = docs.run_page("apps.md", namespace, after_block=after_block)
    assert [b.where for b in skipped] == []
    assert len(ran) == 17  # 13, plus VideoMeta, @function and two delta examples
    assert url_blocks == ["https://example.com/report.txt"]
    assert len(checked) == 2

    # The Progress examples downloaded the file once; the runner's run found it in the cache.
    assert file_server.requests == ["/report.txt"]
    assert [p.read_bytes() for p in cache_dir().rglob("report.txt")] == [REPORT]

    # The page's opening app is an app: a folder with that inference.py runs under the runtime.
    assert len(app_code) == 1
    folder = reader_env / "greeter"
    folder.mkdir()
    (folder / "inference.py").write_text(app_code[0])

    async def run_app() -> Any:
        runner = AppRunner.from_dir(folder)
        try:
            return await runner.run({"name": "Ada", "shout": True}, setup={"greeting": "Hi"})
        finally:
            await runner.unload()

    result = asyncio.run(run_app())
    assert result.error is None, result.error
    assert result.output["message"] == "HI, ADA!"
    assert Path(result.output["card"]["path"]).read_text() == "HI, ADA!"
    assert "greeting Ada" in result.logs()

"""Stored files are served so that a browser cannot be made to run them in the server's origin,
their content types cannot inject headers, and their names keep their Unicode and extension
(issue 16, items 6 and 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inferencesh import Inference
from inferencesh.core.files import UploadFileOptions
from platform_testkit import App, PlatformFactory, SharedPlatform, api_client, data

ECHO = """
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class App(BaseApp):
    async def run(self, input_data: BaseAppInput) -> BaseAppOutput:
        return BaseAppOutput()
"""


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> SharedPlatform:
    return local_platform([App("noop", ECHO)])


@pytest.fixture(scope="module")
def http(server: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def upload(http: httpx.Client, filename: str, content_type: str | None, body: bytes) -> dict:
    spec = {"filename": filename, "size": len(body)}
    if content_type is not None:
        spec["content_type"] = content_type
    (record,) = data(http.post("/files", json={"files": [spec]}))
    reply = httpx.put(record["upload_url"], content=body, trust_env=False)
    assert reply.status_code == 200, reply.text
    return data(http.get(f"/files/{record['id']}"))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("x.html", "text/html"),
        ("x.svg", "image/svg+xml"),
        ("x.js", "application/javascript"),
        ("x.xml", "text/xml"),
        ("x.bin", None),
    ],
)
def test_active_content_is_served_as_an_attachment_never_sniffed(
    http: httpx.Client, name: str, kind: str | None
) -> None:
    record = upload(http, name, kind, b"<script>alert(document.cookie)</script>")
    reply = httpx.get(record["uri"], trust_env=False)
    assert reply.status_code == 200
    assert reply.headers["content-disposition"].startswith("attachment")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["content-security-policy"] == "sandbox"


@pytest.mark.parametrize(
    ("name", "kind"), [("a.png", "image/png"), ("a.txt", "text/plain"), ("a.mp3", "audio/mpeg")]
)
def test_safe_types_stay_inline(http: httpx.Client, name: str, kind: str) -> None:
    record = upload(http, name, kind, b"bytes")
    reply = httpx.get(record["uri"], trust_env=False)
    assert reply.headers["content-disposition"].startswith("inline")
    assert reply.headers["content-type"].startswith(kind)
    assert reply.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "kind", ["text/plain\r\nSet-Cookie: a=b", "text/plain\nX-Evil: 1", "no-subtype", "a b/c"]
)
def test_a_content_type_that_is_not_a_plain_type_is_refused(http: httpx.Client, kind: str) -> None:
    reply = http.post("/files", json={"files": [{"filename": "a.txt", "content_type": kind}]})
    assert reply.status_code == 400, reply.text
    assert "`content_type`" in reply.json()["error"]["message"]


def test_an_upload_header_with_a_bad_type_does_not_break_downloads(http: httpx.Client) -> None:
    (record,) = data(http.post("/files", json={"files": [{"filename": "blob", "size": 2}]}))
    reply = httpx.put(
        record["upload_url"], content=b"hi", headers={"Content-Type": "a\tb/c"}, trust_env=False
    )
    assert reply.status_code == 200
    served = httpx.get(data(http.get(f"/files/{record['id']}"))["uri"], trust_env=False)
    assert served.status_code == 200 and served.content == b"hi"
    assert served.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("файл 🙂.txt", "файл 🙂.txt"),
        ("../../etc/passwd", "passwd"),
        ("résumé\r\n.pdf", "résumé_.pdf"),
        ("日本語" * 60 + ".tar", "日本語" * 38 + "日本.tar"),
    ],
)
def test_names_keep_their_unicode_and_extension(
    server: SharedPlatform, tmp_path: Path, given: str, kept: str
) -> None:
    with Inference(api_key=server.api_key, base_url=server.base_url) as client:
        record = client.upload_file(b"hello", UploadFileOptions(filename=given))
        assert record.filename == kept
        reply = httpx.get(record.uri, trust_env=False)
        assert reply.content == b"hello"
        assert "filename*=utf-8''" in reply.headers["content-disposition"].lower() or kept.isascii()

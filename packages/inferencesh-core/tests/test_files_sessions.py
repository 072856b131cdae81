"""Uploads, input auto-upload, run-parameter validation and sessions, through both clients; what
an upload refuses before any request, a file that grows while it is uploaded (sent to a real
server on 127.0.0.1, which shows the ``PUT`` never completes), and the one data: URI decoder."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from core_testkit import BASE, Driver, FakePlatform, serve
from inferencesh.core import (
    APIError,
    AsyncInference,
    Inference,
    SessionEndedError,
    SessionInfo,
    SessionNotFoundError,
    UploadedFile,
    UploadFileOptions,
)
from inferencesh.core.files import Source, decode_data_uri, source_of
from pytest_httpx import HTTPXMock
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@pytest.fixture
def platform(httpx_mock: HTTPXMock) -> FakePlatform:
    return FakePlatform().install(httpx_mock)


def test_upload_path_streams_and_sends_metadata(
    driver: Driver, platform: FakePlatform, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 9000  # > 2 chunks of 1 MiB
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    record = driver.call(lambda c: c.upload_file(path))
    assert isinstance(record, UploadedFile)
    assert record["uri"] == "https://cdn.example/files/f1/clip.mp4"
    spec = platform.files["f1"]["spec"]
    assert spec == {
        "uri": "",
        "filename": "clip.mp4",
        "content_type": "video/mp4",
        "path": None,
        "size": len(data),
        "public": None,
    }
    assert platform.uploads["f1"] == data
    put = next(r for r in httpx_mock.get_requests() if r.method == "PUT")
    assert "authorization" not in put.headers  # the presigned URL is its own auth
    assert put.headers["content-length"] == str(len(data))
    assert put.headers["content-type"] == "video/mp4"


PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)


@pytest.mark.parametrize(
    ("data", "expected", "content_type"),
    [
        (b"raw bytes", b"raw bytes", "application/octet-stream"),
        ("data:text/plain;base64,aGVsbG8=", b"hello", "text/plain"),
        ("data:,a%20b", b"a b", "application/octet-stream"),
        (io.BytesIO(b"from a file object"), b"from a file object", "application/octet-stream"),
        # No name to go by: the first bytes say what it is (files=[f.read()] of an image).
        (PNG, PNG, "image/png"),
        (
            io.BytesIO(b"\xff\xd8\xff\xe0" + bytes(20)),
            b"\xff\xd8\xff\xe0" + bytes(20),
            "image/jpeg",
        ),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x18ftypqt  ", b"\x00\x00\x00\x18ftypqt  ", "video/quicktime"),
        ("data:;base64,JVBERi0xLjc=", b"%PDF-1.7", "application/pdf"),
    ],
)
def test_upload_kinds(
    driver: Driver, platform: FakePlatform, data: object, expected: bytes, content_type: str
) -> None:
    if isinstance(data, io.BytesIO):
        data.seek(0)
    driver.call(lambda c: c.files.upload(data))
    assert platform.uploads["f1"] == expected  # sniffing moved nothing
    assert platform.files["f1"]["spec"]["content_type"] == content_type


def test_a_name_wins_over_the_first_bytes_and_a_nameless_path_is_sniffed(
    driver: Driver, platform: FakePlatform, tmp_path: Path
) -> None:
    named = tmp_path / "notes.txt"
    named.write_bytes(PNG)  # the name is what the user chose to say
    nameless = tmp_path / "capture"
    nameless.write_bytes(PNG)
    driver.call(lambda c: c.upload_file(named))
    driver.call(lambda c: c.upload_file(nameless))
    types = [f["spec"]["content_type"] for f in platform.files.values()]
    assert types == ["text/plain", "image/png"]


def test_upload_options_do_not_mutate(
    driver: Driver, platform: FakePlatform, tmp_path: Path
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x")
    options = UploadFileOptions(content_type="text/markdown", path="docs/a.md", public=False)
    driver.call(lambda c: c.upload_file(str(path), options))
    spec = platform.files["f1"]["spec"]
    assert (spec["filename"], spec["content_type"], spec["path"], spec["public"]) == (
        "a.txt",
        "text/markdown",
        "docs/a.md",
        False,
    )
    assert options.filename is None


def test_upload_bad_inputs_fail_before_any_request(driver: Driver, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        driver.call(lambda c: c.upload_file(str(tmp_path / "missing.png")))
    with pytest.raises(IsADirectoryError):
        driver.call(lambda c: c.upload_file(tmp_path))
    with pytest.raises(TypeError, match="upload_file expects"):
        driver.call(lambda c: c.upload_file(12))
    with pytest.raises(ValueError, match="base64"):
        driver.call(lambda c: c.upload_file("data:image/png;base64,@@@"))


def test_put_retried_with_the_whole_body(
    driver: Driver, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    path = tmp_path / "b.bin"
    path.write_bytes(b"z" * 3000)
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=503)
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=200)
    driver.call(lambda c: c.upload_file(path))
    puts = [r for r in httpx_mock.get_requests() if r.method == "PUT"]
    assert [p.read() for p in puts] == [b"z" * 3000, b"z" * 3000]


def test_put_retried_from_an_open_file_at_offset_zero(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=503)
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=200)
    driver.call(lambda c: c.upload_file(io.BytesIO(b"hello world")))
    puts = [r for r in httpx_mock.get_requests() if r.method == "PUT"]
    assert [p.read() for p in puts] == [b"hello world", b"hello world"]


def test_put_rejected(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=403, text="expired")
    with pytest.raises(APIError, match="expired"):
        driver.call(lambda c: c.upload_file(b"x"))


def test_missing_upload_url_is_clear(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=f"{BASE}/files", json=[{"id": "f", "uri": "u"}])
    with pytest.raises(APIError, match="upload_url"):
        driver.call(lambda c: c.upload_file(b"x"))


def test_auto_upload_rules(driver: Driver, platform: FakePlatform, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg")
    user_input = {
        "path_obj": photo,
        "path_str": str(photo),
        "same_again": [str(photo)],
        "raw": b"bytes!",
        "uri": "data:text/plain;base64,aGk=",
        "text": "abcdefghijklmnop",  # looks like base64: must stay text
        "words": "a prompt / with a slash",
        "url": "https://example.com/x.png",
        "relative_name": "photo.jpg",  # no directory part: never a path
        "nested": {"list": [1, 2.5, None, True, ("t", photo)]},
    }
    driver.call(lambda c: c.run({"app": "a/b", "input": user_input}, wait=False))
    sent = platform.runs[0]["input"]
    uri = "https://cdn.example/files/f1/photo.jpg"
    assert sent["path_obj"] == sent["path_str"] == sent["same_again"][0] == uri
    assert sent["nested"]["list"] == [1, 2.5, None, True, ["t", uri]]
    assert sent["raw"].startswith("https://cdn.example/files/")
    assert sent["uri"].startswith("https://cdn.example/files/")
    for key in ("text", "words", "url", "relative_name"):
        assert sent[key] == user_input[key]
    assert sorted(platform.uploads.values()) == sorted([b"jpeg", b"bytes!", b"hi"])
    assert user_input["path_obj"] == photo  # the caller's dict is untouched


def test_auto_upload_of_strings_can_be_turned_off(platform: FakePlatform, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg")
    Driver("sync", upload_paths=False).call(
        lambda c: c.run({"app": "a/b", "input": {"p": str(photo)}}, wait=False)
    )
    Driver("async").call(
        lambda c: c.run({"app": "a/b", "input": {"p": str(photo)}}, wait=False, upload_paths=False)
    )
    assert [r["input"]["p"] for r in platform.runs] == [str(photo), str(photo)]
    assert platform.uploads == {}


def test_uploaded_file_in_input_becomes_uri(driver: Driver, platform: FakePlatform) -> None:
    record = UploadedFile(id="f9", uri="https://cdn.example/f9")
    driver.call(lambda c: c.run({"app": "a/b", "input": {"img": record}}, wait=False))
    assert platform.runs[0]["input"] == {"img": "https://cdn.example/f9"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"app": "a/b", "session": "new", "session_timeout": 0}, "from 1 to 3600"),
        ({"app": "a/b", "session": "new", "session_timeout": 3601}, "from 1 to 3600"),
        ({"app": "a/b", "session": "new", "session_timeout": "300"}, "from 1 to 3600"),
        ({"app": "a/b", "session_timeout": 30}, "only valid together"),
        ({"input": {}}, "params\\['app'\\] is required"),
        ({"app": ""}, "non-empty string"),
        ({"app": "a/b", "stream": True}, "client.run\\(params, stream=True\\)"),
        ({"app": "a/b", "session": 5}, "'new' or a session id"),
    ],
)
def test_run_params_validated_before_any_request(
    driver: Driver, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        driver.call(lambda c: c.run(params))


def test_run_params_must_be_a_mapping(driver: Driver) -> None:
    with pytest.raises(TypeError, match="dict of params"):
        driver.call(lambda c: c.run("infsh/flux"))


def test_unencodable_input_is_clear(driver: Driver) -> None:
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        driver.call(lambda c: c.run({"app": "a/b", "input": {"x": object()}}))


def test_session_handle(driver: Driver, platform: FakePlatform) -> None:
    def scenario(client):
        handle = client.session(
            "my-app", input={"action": "init"}, session_timeout=120, setup={"k": 1}
        )
        return handle

    if driver.kind == "sync":

        def go_sync(client):
            with scenario(client) as handle:
                assert handle.session_id == "sess_1"
                assert handle.result.output["echo"] == {"action": "init"}
                second = handle.call("process", {"n": 2})
                assert second.session_id == "sess_1"
                assert handle.info().call_count == 2
                assert handle.keepalive().id == "sess_1"
            assert handle.ended
            with pytest.raises(SessionEndedError):
                handle.call("process", {})

        driver.call(go_sync)
    else:

        async def go(client):
            async with await scenario(client) as handle:
                second = await handle.call("process", {"n": 2})
                assert second.session_id == "sess_1"
                assert (await handle.info()).call_count == 2
            assert handle.ended

        driver.call(go)
    first, second = platform.runs
    assert first == {
        "app": "my-app",
        "input": {"action": "init"},
        "setup": {"k": 1},
        "session_timeout": 120,
        "session": "new",
    }
    assert second == {
        "app": "my-app",
        "input": {"n": 2},
        "function": "process",
        "session": "sess_1",
    }
    assert platform.sessions["sess_1"]["status"] == "ended"


def test_sessions_namespace(driver: Driver, platform: FakePlatform) -> None:
    platform.sessions["sess_9"] = {"id": "sess_9", "status": "active", "call_count": 3}
    listed = driver.call(lambda c: c.sessions.list())
    assert listed == [SessionInfo(id="sess_9", status="active", call_count=3)]
    assert driver.call(lambda c: c.sessions.get("sess_9"))["call_count"] == 3
    assert driver.call(lambda c: c.sessions.end("sess_9")) is None
    with pytest.raises(SessionNotFoundError):
        driver.call(lambda c: c.sessions.get("sess_nope"))


def test_ended_session_call_raises(driver: Driver, platform: FakePlatform) -> None:
    platform.sessions["sess_1"] = {"id": "sess_1", "status": "ended", "call_count": 1}
    with pytest.raises(SessionEndedError):
        driver.call(lambda c: c.run({"app": "a/b", "input": {}, "session": "sess_1"}))


def test_cancel_and_tasks_namespace(driver: Driver, platform: FakePlatform) -> None:
    created = driver.call(lambda c: c.tasks.run({"app": "a/b", "input": {}}, wait=False))
    assert driver.call(lambda c: c.tasks.cancel(created.id)) is None
    assert driver.call(lambda c: c.tasks.get(created.id)).status == 12


def test_task_id_validated(driver: Driver) -> None:
    with pytest.raises(ValueError, match="task_id"):
        driver.call(lambda c: c.get_task(""))


@pytest.mark.parametrize("bad", ["", "  ", 7, None])
def test_waiting_on_or_streaming_a_bad_task_id_sends_nothing(
    driver: Driver, httpx_mock: HTTPXMock, bad: object
) -> None:
    with pytest.raises(ValueError, match="task_id"):
        driver.call(lambda c: c.wait_for_completion(bad))
    with pytest.raises(ValueError, match="task_id"):
        driver.call(lambda c: c.stream_task(bad))
    assert httpx_mock.get_requests() == []


def test_request_body_encodes_wire_structs(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=f"{BASE}/x", json={"ok": True})
    Driver("sync").call(
        lambda c: c.http.request("POST", "/x", json={"f": UploadedFile(id="1", uri="u")})
    )
    request = httpx_mock.get_request()
    assert request is not None
    assert request.read() == b'{"f":{"id":"1","uri":"u"}}'
    assert request.headers["content-type"] == "application/json"
    assert isinstance(request, httpx.Request)


def test_upload_open_file_from_its_position(
    driver: Driver, platform: FakePlatform, tmp_path: Path
) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"HEADER" + b"body" * 1000)
    with open(path, "rb") as handle:
        handle.read(6)
        driver.call(lambda c: c.upload_file(handle))
        assert not handle.closed  # the caller's file stays the caller's
    assert platform.uploads["f1"] == b"body" * 1000
    spec = platform.files["f1"]["spec"]
    assert (spec["filename"], spec["content_type"], spec["size"]) == (
        "doc.pdf",
        "application/pdf",
        4000,
    )


# -- uploads refused before a request: pipes, text-mode files, shrinking files, data: URIs --


def test_a_pipe_is_refused_instead_of_uploaded_empty(driver: Driver, httpx_mock: HTTPXMock) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"hello from a pipe")
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe, pytest.raises(ValueError, match="size is unknown"):
        driver.call(lambda c: c.upload_file(pipe))
    assert httpx_mock.get_requests() == []


def test_a_text_mode_file_is_refused_before_any_request(
    driver: Driver, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hi")
    with path.open() as text, pytest.raises(TypeError, match="open it with 'rb'"):
        driver.call(lambda c: c.upload_file(text))
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    "uri",
    [
        "data:image/png;BASE64,aGVsbG8=",  # the flag in capitals
        "data:image/png;base64,aGVs\nbG8=\n",  # wrapped, as the `base64` tool prints it
        "data:image/png;base64,aGVsbG8%3D",  # percent-encoded
    ],
)
def test_data_uris_are_decoded_as_browsers_read_them(
    driver: Driver, httpx_mock: HTTPXMock, uri: str
) -> None:
    platform = FakePlatform().install(httpx_mock)
    record = driver.call(lambda c: c.upload_file(uri))
    assert platform.uploads[record.id] == b"hello"  # not the base64 text, not an error
    assert record.content_type == "image/png"


def test_a_file_that_shrinks_while_uploading_fails_clearly(
    driver: Driver, httpx_mock: HTTPXMock, tmp_path: Path, no_waits: list[float]
) -> None:
    FakePlatform().install(httpx_mock)
    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * (3 << 20))

    def truncate_on_start(done: int, total: int | None) -> None:
        if done == 0:
            path.write_bytes(b"x" * 100)  # rewritten by another process meanwhile

    with pytest.raises(OSError, match=r"'growing.log': it changed while uploading"):
        driver.call(lambda c: c.upload_file(path, progress=truncate_on_start))
    assert no_waits == []  # not retried: reading it again would not help


# -- a file that grows while it is uploaded: it fails and nothing is stored ------------------


class _Storage:
    """A presigned-URL store on 127.0.0.1 that keeps only complete bodies."""

    def __init__(self) -> None:
        self.url = ""
        self.stored: list[int] = []
        self.aborted = 0

    def app(self) -> Starlette:
        async def files(request: Request) -> Response:
            spec = json.loads(await request.body())["files"][0]
            upload = f"{self.url}/upload/f1"
            return JSONResponse([{**spec, "id": "f1", "uri": "u", "upload_url": upload}])

        async def upload(request: Request) -> Response:
            try:
                body = await request.body()
            except ClientDisconnect:
                self.aborted += 1
                return Response(status_code=400)
            self.stored.append(len(body))
            return Response(status_code=200)

        return Starlette(
            routes=[
                Route("/files", files, methods=["POST"]),
                Route("/upload/f1", upload, methods=["PUT"]),
            ]
        )


@pytest.fixture
def storage() -> Iterator[_Storage]:
    state = _Storage()
    with serve(state.app()) as url:
        state.url = url
        yield state


def _upload(kind: str, url: str, data: Any, progress: Any) -> Any:
    if kind == "sync":
        with Inference(api_key="inf_k", base_url=url) as client:
            return client.upload_file(data, progress=progress)

    async def go() -> Any:
        async with AsyncInference(api_key="inf_k", base_url=url) as client:
            return await client.upload_file(data, progress=progress)

    return asyncio.run(go())


@pytest.mark.httpx_mock(should_mock=lambda request: False)
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("size", [3 << 20, 1000])
def test_a_file_that_grows_while_uploading_fails_and_is_not_stored(
    storage: _Storage, tmp_path: Path, kind: str, size: int
) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * size)

    def append_on_start(done: int, total: int | None) -> None:
        if done == 0:
            with path.open("ab") as log:  # another process keeps writing to it
                log.write(b"more")

    with pytest.raises(OSError, match=r"'growing.log': it changed while uploading") as info:
        _upload(kind, storage.url, path, append_on_start)
    assert f"{size} bytes when measured, more when read" in str(info.value)
    # Before: the measured size was sent, the rest silently dropped, and the upload succeeded.
    assert storage.stored == []


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_a_file_of_unchanged_size_still_uploads(storage: _Storage, tmp_path: Path) -> None:
    path = tmp_path / "steady.bin"
    path.write_bytes(b"y" * ((1 << 20) * 2))  # a whole number of chunks: the probe hits EOF
    for kind in ("sync", "async"):
        assert _upload(kind, storage.url, path, None).id == "f1"
    assert storage.stored == [2 << 20, 2 << 20]


def test_growth_is_caught_before_the_last_chunk_is_handed_out(tmp_path: Path) -> None:
    # The body must not end complete: a server that got all announced bytes would store them.
    path = tmp_path / "g.bin"
    path.write_bytes(b"z" * 2500)
    source = source_of(path).probe()
    sent: list[bytes] = []
    chunks = source.iter_chunks(chunk_size=1000)
    sent.append(next(chunks))
    with path.open("ab") as log:
        log.write(b"!")
    with pytest.raises(OSError, match="it changed while uploading"):
        sent.extend(chunks)
    assert sum(map(len, sent)) < 2500


def test_an_empty_file_that_grows_fails(tmp_path: Path) -> None:
    # Its body (Content-Length: 0) is complete with the headers, so storage may keep an empty
    # object; the caller still gets the error, never a record.
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    source = source_of(path).probe()
    path.write_bytes(b"late")
    with pytest.raises(OSError, match=r"0 bytes when measured, more when read"):
        list(source.iter_chunks())


def test_a_growing_file_object_fails_too() -> None:
    buffer = io.BytesIO(b"a" * 10)
    source = source_of(buffer).probe()
    buffer.seek(0, io.SEEK_END)
    buffer.write(b"b")
    buffer.seek(0)
    with pytest.raises(OSError, match="it changed while uploading"):
        list(source.iter_chunks(chunk_size=4))


def test_an_exact_file_object_reads_once_past_its_end_only() -> None:
    source = Source("file", io.BytesIO(b"abcdef"), size=6)
    assert b"".join(source.iter_chunks(chunk_size=4)) == b"abcdef"


# -- the one data: URI decoder ------------------------------------------------------------


RAW = bytes(range(250, 256)) * 3 + b"hello?>"
STD = base64.b64encode(RAW).decode()
URLSAFE = base64.urlsafe_b64encode(RAW).decode()


@pytest.mark.parametrize(
    "payload",
    [
        STD,
        STD.rstrip("="),  # missing padding
        URLSAFE,  # the URL-safe alphabet
        URLSAFE.rstrip("="),  # both, as browsers' btoa replacements produce
        STD + "==",  # excess padding (accepted before by apps' File)
        STD[:8] + "\n " + STD[8:],  # wrapped
        STD.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"),  # percent-encoded
    ],
)
def test_base64_forms_accepted(payload: str) -> None:
    assert decode_data_uri(f"data:application/octet-stream;base64,{payload}") == (
        RAW,
        "application/octet-stream",
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("a-b+", "it mixes the standard (+ /) and URL-safe (- _) alphabets"),
        ("ab_/", "it mixes the standard (+ /) and URL-safe (- _) alphabets"),
        ("aGVsb", "5 base64 characters cannot be whole bytes (one is missing or one too many)"),
        ("a!!a", "'!' at position 1 is not a base64 character"),
        ("aGVs=bG8=", "'=' at position 4 is padding inside the data"),
        ("=aGVs", "'=' at position 0 is padding inside the data"),
    ],
)
def test_bad_base64_says_what_is_wrong(payload: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid base64") as info:
        decode_data_uri(f"data:text/plain;base64,{payload}")
    assert str(info.value) == f"invalid base64 in data: URI: {message}"


def test_upload_of_a_urlsafe_data_uri(driver: Driver, httpx_mock: HTTPXMock) -> None:
    platform = FakePlatform().install(httpx_mock)
    record = driver.call(lambda c: c.upload_file(f"data:image/png;base64,{URLSAFE.rstrip('=')}"))
    assert platform.uploads[record.id] == RAW
    assert record.content_type == "image/png"

"""Follow-ups in the core client: envelope detection, empty replies where an object is due,
files that grow while uploading, the rest of ``TaskDTO``, and the one data: URI decoder.

Replies a real server does not give on demand (a bare v2 object that has a ``success`` key, a
204 from ``POST /apps/run``) go through pytest-httpx with both clients; a file that grows while
it is uploaded is sent to a real server on 127.0.0.1, which shows the ``PUT`` never completes.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from core_testkit import BASE, Driver, FakePlatform, serve
from inferencesh.core import (
    AsyncInference,
    Inference,
    MalformedResponseError,
    PermissionDeniedError,
    Task,
    TaskStatus,
    decode,
    encode,
)
from inferencesh.core.files import Source, decode_data_uri, source_of
from pytest_httpx import HTTPXMock
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# -- 1. which replies are the v1 envelope ---------------------------------------------------

THING = f"{BASE}/things/1"


def get_thing(client: Any) -> Any:
    return client.http.request("GET", "/things/1")


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "name": "job", "id": "1"},  # a resource with a `success` field
        {"success": True, "data": {"a": 1}, "id": "1"},  # `data` beside resource fields
        {"success": False, "reason": "quota"},  # a bare 200 answer, not an error envelope
    ],
)
@pytest.mark.parametrize("api_version", [1, 2])
def test_an_object_with_other_keys_is_never_an_envelope(
    httpx_mock: HTTPXMock, body: dict[str, Any], api_version: int
) -> None:
    # Before: any object with a boolean `success` was unwrapped (None, or its `data`) or raised.
    httpx_mock.add_response(url=THING, json=body, is_reusable=True)
    for kind in ("sync", "async"):
        assert Driver(kind, api_version=api_version).call(get_thing) == body


@pytest.mark.parametrize(
    ("body", "v1", "v2"),
    [
        # As the platform sends it (with `status`): unwrapped whatever was asked for, since a
        # server may ignore X-API-Version.
        ({"success": True, "status": 200, "data": {"a": 1}}, {"a": 1}, {"a": 1}),
        ({"success": True, "status": 200}, None, None),
        # Without `status`: an envelope only for a client that asked for v1; a v2 client got
        # what it asked for, a bare object that happens to use these names.
        ({"success": True, "data": {"a": 1}}, {"a": 1}, {"success": True, "data": {"a": 1}}),
        ({"success": True}, None, {"success": True}),
        (
            {"success": True, "data": None, "meta": {"n": 1}},
            None,
            {"success": True, "data": None, "meta": {"n": 1}},
        ),
    ],
)
def test_envelope_by_requested_version(
    httpx_mock: HTTPXMock, body: dict[str, Any], v1: Any, v2: Any
) -> None:
    httpx_mock.add_response(url=THING, json=body, is_reusable=True)
    for kind in ("sync", "async"):
        assert Driver(kind, api_version=1).call(get_thing) == v1
        assert Driver(kind, api_version=2).call(get_thing) == v2


def test_a_v2_task_output_with_success_survives(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # A task read by a v2 client is bare; its own `success`-like content is left alone.
    httpx_mock.add_response(
        url=f"{BASE}/tasks/t1",
        json={"success": True, "id": "t1", "status": 10, "output": {"success": True}},
    )
    result = driver.call(lambda c: c.get_task("t1"))
    assert result.id == "t1"
    assert result.output == {"success": True}


def test_a_v1_error_envelope_on_200_still_raises(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=THING,
        json={"success": False, "status": 403, "error": {"code": "forbidden", "message": "no"}},
    )
    with pytest.raises(PermissionDeniedError, match="no") as info:
        driver.call(get_thing)
    assert info.value.status == 403


# -- 2. an empty reply where an object is due -----------------------------------------------


@pytest.mark.parametrize("status", [204, 200])
def test_an_empty_reply_to_run_says_so(driver: Driver, httpx_mock: HTTPXMock, status: int) -> None:
    httpx_mock.add_response(method="POST", url=f"{BASE}/apps/run", status_code=status)
    with pytest.raises(MalformedResponseError) as info:
        driver.call(lambda c: c.run({"app": "a/b", "input": {}}, wait=False))
    assert info.value.status == status
    assert str(info.value) == (
        f"HTTP {status}: POST /apps/run answered {status} with no body where a task was expected"
    )


def test_an_empty_reply_to_get_task_says_so(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", status_code=204)
    with pytest.raises(MalformedResponseError, match="GET /tasks/t1 answered 204 with no body"):
        driver.call(lambda c: c.get_task("t1"))


def test_an_empty_reply_while_following_says_so(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # The follower fetches the task when its stream ends without news.
    httpx_mock.add_response(
        url=f"{BASE}/tasks/t1/stream",
        headers={"content-type": "application/x-ndjson"},
        content=b"",
        is_reusable=True,
    )
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", status_code=204, is_reusable=True)
    with pytest.raises(MalformedResponseError, match="GET /tasks/t1 answered 204 with no body"):
        driver.call(lambda c: c.wait_for_completion("t1"))


def test_an_empty_reply_to_get_session_and_files_says_so(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=f"{BASE}/sessions/s1", status_code=204)
    with pytest.raises(MalformedResponseError, match="answered 204 with no body where a session"):
        driver.call(lambda c: c.get_session("s1"))
    httpx_mock.add_response(method="POST", url=f"{BASE}/files", status_code=204)
    with pytest.raises(MalformedResponseError, match="POST /files answered 204 with no body"):
        driver.call(lambda c: c.upload_file(b"x"))


def test_http_request_expect(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=THING, status_code=204, is_reusable=True)
    assert driver.call(get_thing) is None  # nothing expected: an empty reply is None
    with pytest.raises(MalformedResponseError, match="answered 204 with no body where a thing"):
        driver.call(lambda c: c.http.request("GET", "/things/1", expect="a thing"))


def test_a_v1_envelope_without_data_where_a_task_is_due(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", json={"success": True, "status": 200})
    with pytest.raises(MalformedResponseError) as info:
        driver.call(lambda c: c.get_task("t1"))
    assert info.value.message == "GET /tasks/t1 answered 200 with no data where a task was expected"


# -- 3. a file that grows while it is uploaded ----------------------------------------------


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


# -- 4. the rest of TaskDTO -----------------------------------------------------------------


def test_task_rating_and_usage_events_round_trip() -> None:
    wire = {
        "id": "t1",
        "status": 10,
        "rating": {"score": 1, "comment": "good"},
        "usage_events": [{"type": "gpu_seconds", "quantity": 2.5}, {"type": "tokens"}],
    }
    task = decode(json.dumps(wire), Task)
    assert task.status == TaskStatus.COMPLETED
    assert task.rating == {"score": 1, "comment": "good"}
    assert task["usage_events"] == wire["usage_events"]
    assert json.loads(encode(task)) == wire
    bare = decode(b'{"id":"t2","status":1,"rating":0}', Task)
    assert bare.rating == 0 and bare.usage_events is None
    assert json.loads(encode(bare)) == {"id": "t2", "status": 1, "rating": 0}


# -- 5. the one data: URI decoder -----------------------------------------------------------

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

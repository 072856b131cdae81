"""Review findings in the core client, each pinned by the case that showed it.

Transport edge cases a real server cannot produce on demand (a gzip-encoded stream, a
``Retry-After: nan``, a redirect, a byte order mark) go through pytest-httpx with both
clients; the follower and the errors are exercised directly.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import io
import json
import math
import os
import pickle
import sys
import time
from pathlib import Path

import httpx
import pytest
from core_testkit import BASE, KEY, Chunks, Driver, FakePlatform, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncInference,
    Inference,
    InferenceError,
    MalformedResponseError,
    RequirementsNotMetError,
    ServerError,
    SessionExpiredError,
    Task,
    TaskCancelledError,
    TaskFailedError,
    TaskStatus,
    WorkerLostError,
)
from inferencesh.core._follow import TaskFollower
from inferencesh.core.cli import main
from inferencesh.core.protocol import Call, OpenStream, Sleep
from inferencesh.core.retry import retry_after
from pytest_httpx import HTTPXMock

STREAM = f"{BASE}/tasks/t1/stream"
GET = f"{BASE}/tasks/t1"
NDJSON_HEADERS = {"content-type": "application/x-ndjson"}

RUNNING = {"data": {"id": "t1", "status": 7}, "fields": ["status"]}
DONE = {"data": {"status": 10, "output": {"ok": True}}, "fields": ["status", "output"]}


def wait_t1(client):
    return client.wait_for_completion("t1")


# -- transport ----------------------------------------------------------------------------


def test_a_gzip_encoded_task_stream_is_decoded(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # httpx asks for gzip on every request; a proxy that compresses NDJSON must not turn the
    # stream into "bad stream line" errors.
    body = gzip.compress(ndjson(RUNNING, DONE))
    httpx_mock.add_response(
        url=STREAM,
        headers={**NDJSON_HEADERS, "content-encoding": "gzip"},
        stream=Chunks([body[:9], body[9:]]),
    )
    result = driver.call(wait_t1)
    assert result.status == TaskStatus.COMPLETED
    assert result.output == {"ok": True}


def test_a_generic_gzip_encoded_stream_is_decoded(httpx_mock: HTTPXMock) -> None:
    body = gzip.compress(ndjson({"data": {"n": 1}}, {"data": {"n": 2}}))
    httpx_mock.add_response(
        url=f"{BASE}/chats/c1/stream",
        headers={**NDJSON_HEADERS, "content-encoding": "gzip"},
        stream=Chunks([body]),
    )
    with Inference(api_key=KEY, base_url=BASE) as client:
        events = list(client.http.stream("GET", "/chats/c1/stream"))
    assert [e.data for e in events] == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
def test_a_nan_retry_after_falls_back_to_backoff(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float], header: str
) -> None:
    httpx_mock.add_response(url=GET, status_code=503, headers={header: "nan"})
    httpx_mock.add_response(url=GET, json=task(status=7))
    assert driver.call(lambda c: c.get_task("t1")).status == TaskStatus.RUNNING
    assert len(no_waits) == 1 and math.isfinite(no_waits[0]) and 0 < no_waits[0] <= 1


def test_an_infinite_retry_after_is_not_waited_for(
    httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(url=GET, status_code=429, headers={"retry-after": "inf"})
    with pytest.raises(APIError) as info:
        Driver("sync").call(lambda c: c.get_task("t1"))
    assert info.value.status == 429 and no_waits == []


def test_an_http_date_without_a_zone_is_read_as_gmt(monkeypatch: pytest.MonkeyPatch) -> None:
    # "-0000" parses to a naive datetime, which `.timestamp()` would read as local time.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        when = email.utils.formatdate(time.time() + 30, usegmt=False).rsplit(" ", 1)[0]
        delay = retry_after({"retry-after": when + " -0000"})
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert delay is not None and 25 <= delay <= 31


def test_a_redirect_is_an_error_naming_its_target(driver: Driver, httpx_mock: HTTPXMock) -> None:
    # e.g. base_url http:// where the API redirects to https://: the reply is not a task.
    httpx_mock.add_response(
        url=GET,
        status_code=301,
        headers={"location": "https://api.example/tasks/t1?X-Signature=secret"},
    )
    with pytest.raises(APIError) as info:
        driver.call(lambda c: c.get_task("t1"))
    error = info.value
    assert not isinstance(error, MalformedResponseError)
    assert error.status == 301 and error.code == "redirect"
    assert "GET /tasks/t1 was redirected to https://api.example/tasks/t1" in str(error)
    assert "secret" not in str(error)
    assert len(httpx_mock.get_requests()) == 1  # not retried, not followed


def test_a_redirected_run_does_not_pass_for_a_success(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", url=f"{BASE}/apps/run", status_code=302)
    with pytest.raises(APIError, match=r"POST /apps/run was redirected to an unnamed location"):
        driver.call(lambda c: c.run({"app": "a/b", "input": {}}, wait=False))


def test_a_redirected_stream_is_an_error_and_its_connection_is_closed(
    httpx_mock: HTTPXMock,
) -> None:
    closed: list[bool] = []

    class Body(Chunks):
        def close(self) -> None:
            closed.append(True)

    httpx_mock.add_response(
        url=f"{BASE}/chats/c1/stream",
        status_code=307,
        headers={"location": "/elsewhere"},
        stream=Body([b"moved"]),
    )
    with Inference(api_key=KEY, base_url=BASE) as client, pytest.raises(APIError) as info:
        list(client.http.stream("GET", "/chats/c1/stream"))
    assert info.value.status == 307 and closed == [True]


def test_a_key_echoed_by_the_server_is_not_in_the_error(
    driver: Driver, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=GET, status_code=401, json={"detail": f"invalid API key {KEY} for this team"}
    )
    with pytest.raises(APIError) as info:
        driver.call(lambda c: c.get_task("t1"))
    texts = [str(info.value), repr(info.value), repr(info.value.body), info.value.message]
    assert not [text for text in texts if KEY in text]
    assert "invalid API key *** for this team" in str(info.value)


# -- streams -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/event-stream", b"\xef\xbb\xbfdata: " + json.dumps(DONE).encode() + b"\n\n"),
        ("application/x-ndjson", b"\xef\xbb\xbf" + ndjson(RUNNING, DONE)),
    ],
)
def test_a_byte_order_mark_does_not_lose_the_first_event(
    driver: Driver, httpx_mock: HTTPXMock, content_type: str, body: bytes
) -> None:
    httpx_mock.add_response(
        url=STREAM, headers={"content-type": content_type}, stream=Chunks([body])
    )
    result = driver.call(wait_t1)  # no GET is served: the stream alone must end the wait
    assert result.output == {"ok": True}


def test_a_line_of_another_task_is_not_merged(driver: Driver, httpx_mock: HTTPXMock) -> None:
    other_done = {"id": "t9", "status": 10, "output": "not yours"}
    other_partial = {"data": {"id": "t9", "status": 11, "error": "x"}, "fields": ["status"]}
    httpx_mock.add_response(
        url=STREAM,
        headers=NDJSON_HEADERS,
        stream=Chunks([ndjson(RUNNING, other_done, other_partial, DONE)]),
    )
    result = driver.call(wait_t1)
    assert result.id == "t1" and result.output == {"ok": True}


def test_a_platform_restart_while_following_is_survived(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    # The stream drops; while the platform restarts, reopening answers 503 (past the request's
    # own retries) and the GET fallback cannot connect: two failed reconnects of the five
    # allowed, not the end of the wait.
    httpx_mock.add_response(
        url=STREAM,
        headers=NDJSON_HEADERS,
        stream=Chunks([ndjson(RUNNING)], fail=httpx.RemoteProtocolError("peer closed")),
    )
    for _ in range(3):
        httpx_mock.add_response(url=STREAM, status_code=503, json={"detail": "restarting"})
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("refused"), url=GET)
    _stream_then(httpx_mock, DONE)
    result = driver.call(wait_t1)
    assert result.status == TaskStatus.COMPLETED and result.output == {"ok": True}
    assert len(no_waits) == 5  # two retries of each request, then one pause before reopening


def test_a_platform_that_stays_down_still_ends_the_wait(
    httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(url=STREAM, status_code=503, is_reusable=True)
    httpx_mock.add_response(url=GET, status_code=502, is_reusable=True)
    with pytest.raises(ServerError):
        Driver("sync", max_retries=0, max_reconnects=3).call(wait_t1)
    stream_opens = [r for r in httpx_mock.get_requests() if r.url.path.endswith("/stream")]
    assert len(stream_opens) == 2  # bounded by max_reconnects (stream, fetch, stream, fetch)


def test_a_lost_session_worker_ends_the_wait_at_once(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM, status_code=500, json={"error": {"code": "WORKER_LOST", "message": "gone"}}
    )
    with pytest.raises(WorkerLostError):
        Driver("sync", max_retries=0).call(wait_t1)


def test_a_long_quiet_wait_does_not_overflow_its_backoff() -> None:
    # A stream that keeps ending without news (a proxy closing idle streams) while the task
    # runs for hours: thousands of fetch-and-sleep rounds, each under the 5 s cap.
    now = [0.0]
    follower = TaskFollower("t1", idle_timeout=60, clock=lambda: now[0])
    pauses: list[float] = []
    for _ in range(3300):  # 1100 rounds: 2.0**1024 would overflow
        action = follower.next_action()
        if isinstance(action, OpenStream):
            follower.stream_ended(None)
        elif isinstance(action, Call):
            follower.fetched(Task(id="t1", status=TaskStatus.RUNNING))
        else:
            assert isinstance(action, Sleep)
            pauses.append(action.seconds)
            now[0] += action.seconds
            follower.slept()
    assert len(pauses) == 1100 and pauses[-1] == 5.0


def test_a_long_sse_event_in_many_chunks() -> None:
    from inferencesh.core.streaming import SSEDecoder

    big = "y" * 300_000
    body = (
        b": heartbeat\r\n\r\n"
        + b"event: update\r\ndata: "
        + json.dumps({"output": big}).encode()
        + b"\r\n\r\ndata: 2\r\r"
    )
    decoder: SSEDecoder[object] = SSEDecoder()
    events = []
    for start in range(0, len(body), 1000):  # CR and LF land on chunk edges too
        events += decoder.feed(body[start : start + 1000])
    events += decoder.close()
    assert events == [("update", {"output": big}), (None, 2)]


def _stream_then(httpx_mock: HTTPXMock, *lines: object) -> None:
    """A task stream sending each line in its own chunk."""
    chunks = [ndjson(line) for line in lines]
    httpx_mock.add_response(url=STREAM, headers=NDJSON_HEADERS, stream=Chunks(chunks))


def test_wait_after_closing_a_stream_early_says_what_to_do(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        first = next(iter(stream))
        stream.close()
        with pytest.raises(
            InferenceError,
            match=r"closed before the task ended.*"
            r"wait_for_completion\('t1'\)",
        ):
            stream.wait()
    assert first.status == TaskStatus.RUNNING


def test_async_wait_after_closing_a_stream_early_says_what_to_do(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)

    async def go() -> None:
        async with AsyncInference(api_key=KEY, base_url=BASE) as client:
            stream = client.stream_task("t1")
            async for _ in stream:
                break
            await stream.aclose()
            with pytest.raises(InferenceError, match="closed before the task ended"):
                await stream.wait()

    asyncio.run(go())


def test_wait_after_iterating_a_failed_task_raises_its_error_again(
    httpx_mock: HTTPXMock,
) -> None:
    failed = {"data": {"status": 11, "error": "boom"}, "fields": ["status", "error"]}
    _stream_then(httpx_mock, RUNNING, failed)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        with pytest.raises(TaskFailedError):
            list(stream)
        with pytest.raises(TaskFailedError, match="boom"):
            stream.wait()


def test_wait_after_iterating_to_the_end_returns_the_result(httpx_mock: HTTPXMock) -> None:
    _stream_then(httpx_mock, RUNNING, DONE)
    with Inference(api_key=KEY, base_url=BASE) as client:
        stream = client.stream_task("t1")
        assert [u.status for u in stream] == [TaskStatus.RUNNING, TaskStatus.COMPLETED]
        assert list(stream) == []  # a second pass has nothing new
        assert stream.wait().output == {"ok": True} == stream.result.output  # type: ignore[union-attr]


# -- files ---------------------------------------------------------------------------------


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


# -- errors --------------------------------------------------------------------------------

ERRORS = [
    APIError(404, "no such task", code="not_found", request_id="req_1", body={"a": 1}),
    RequirementsNotMetError([{"type": "secret", "key": "K", "message": "missing K"}]),
    SessionExpiredError(410, "idle", code="SESSION_EXPIRED"),
    WorkerLostError(500, "gone"),
    MalformedResponseError(200, "not JSON"),
    APIConnectionError("GET /tasks/t1 failed"),
    APITimeoutError("too slow", task_id="t1", task=Task(id="t1", status=7)),
    TaskFailedError(Task(id="t1", status=11, error="boom")),
    TaskCancelledError(Task(id="t1", status=12)),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error: InferenceError) -> None:
    # Errors cross process boundaries (multiprocessing, ProcessPoolExecutor) by pickle.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__dict__ == error.__dict__
    assert isinstance(copy, TimeoutError) == isinstance(error, TimeoutError)


# -- inferencesh run -------------------------------------------------------------------------


@pytest.fixture
def cli_platform(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> FakePlatform:
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    monkeypatch.setenv("INFERENCE_BASE_URL", BASE)
    return FakePlatform().install(httpx_mock)


def _stdout(monkeypatch: pytest.MonkeyPatch, encoding: str) -> io.BytesIO:
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding=encoding))
    return raw


def test_run_output_survives_a_narrow_stdout_encoding(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _stdout(monkeypatch, "cp1252")  # a Windows console or pipe
    text = "snow ☃ and café 😀"
    code = main(["run", "local/echo", "--input", json.dumps({"prompt": text})])
    sys.stdout.flush()
    assert code == 0
    printed = raw.getvalue().decode("cp1252")
    assert json.loads(printed)["echo"]["prompt"] == text  # escaped, nothing lost


def test_run_output_stays_readable_when_the_encoding_can_hold_it(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _stdout(monkeypatch, "utf-8")
    assert main(["run", "local/echo", "--input", '{"prompt": "café ☃"}']) == 0
    sys.stdout.flush()
    assert '"prompt": "café ☃"' in raw.getvalue().decode("utf-8")


def test_run_reads_an_input_file_with_a_byte_order_mark(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"prompt": "from a BOM file"}', encoding="utf-8-sig")
    raw = _stdout(monkeypatch, "utf-8")
    assert main(["run", "local/echo", "--input", f"@{request}"]) == 0
    sys.stdout.flush()
    assert json.loads(raw.getvalue())["echo"] == {"prompt": "from a BOM file"}
    assert cli_platform.runs[0]["input"] == {"prompt": "from a BOM file"}


def test_run_refuses_a_nan_timeout(
    cli_platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "local/echo", "--timeout", "nan"]) == 2
    assert "--timeout must be a positive number of seconds, got nan" in capsys.readouterr().err
    assert cli_platform.runs == []


def test_a_nan_wait_timeout_is_refused(driver: Driver) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None, got nan"):
        driver.call(lambda c: c.wait_for_completion("t1", timeout=float("nan")))

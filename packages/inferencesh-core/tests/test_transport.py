"""Transport edge cases, run through both clients: envelopes, retries, errors, malformed bodies."""

from __future__ import annotations

import email.utils
import gzip
import math
import time

import httpx
import pytest
from core_testkit import BASE, KEY, RUN_URL, Chunks, Driver, envelope, ndjson, task
from inferencesh.core import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Inference,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    RequirementsNotMetException,
    ServerError,
    SessionEndedError,
    SessionExpiredError,
    SessionNotFoundError,
    Task,
    TaskStatus,
    WorkerLostError,
)
from inferencesh.core.retry import retry_after
from pytest_httpx import HTTPXMock

URL = f"{BASE}/tasks/t1"


def get_t1(client):
    return client.get_task("t1")


def test_v2_bare_body_and_headers(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json=task(status=7, output={"x": 1}))
    result = driver.call(get_t1)
    assert isinstance(result, Task)
    assert result.status == TaskStatus.RUNNING
    assert result["output"] == {"x": 1}
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-api-version"] == "2"
    assert request.headers["user-agent"].startswith("inferencesh-py/")


def test_v1_envelope_unwrapped(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json=envelope(task(status=10, output="done")))
    result = Driver("sync", api_version=1).call(get_t1)
    assert result["status"] == 10
    assert result["output"] == "done"
    request = httpx_mock.get_request()
    assert request is not None
    assert "x-api-version" not in request.headers


def test_204_gives_none(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="DELETE", url=f"{BASE}/sessions/s1", status_code=204)
    assert driver.call(lambda c: c.end_session("s1")) is None


def test_retries_5xx_then_succeeds(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(url=URL, status_code=503, json={"detail": "busy"})
    httpx_mock.add_response(url=URL, status_code=502, text="bad gateway")
    httpx_mock.add_response(url=URL, json=task(status=2))
    assert driver.call(get_t1).status == TaskStatus.QUEUED
    assert len(httpx_mock.get_requests()) == 3
    assert len(no_waits) == 2
    assert all(0 < d <= 8 for d in no_waits)


def test_retry_limit(httpx_mock: HTTPXMock, no_waits: list[float]) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=URL, status_code=500, json={"detail": "boom"})
    with pytest.raises(ServerError) as info:
        Driver("sync", max_retries=2).call(get_t1)
    assert info.value.status == 500
    assert "boom" in str(info.value)
    assert len(httpx_mock.get_requests()) == 3


def test_no_retries_when_disabled(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=503)
    driver.options["max_retries"] = 0
    with pytest.raises(ServerError):
        driver.call(get_t1)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
    ],
)
def test_retry_after_is_honoured(
    driver: Driver,
    httpx_mock: HTTPXMock,
    no_waits: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers=headers)
    httpx_mock.add_response(url=URL, json=task())
    driver.call(get_t1)
    assert no_waits == [expected]


def test_retry_after_http_date(httpx_mock: HTTPXMock, no_waits: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    httpx_mock.add_response(url=URL, status_code=503, headers={"Retry-After": when})
    httpx_mock.add_response(url=URL, json=task())
    Driver("sync").call(get_t1)
    assert 25 < no_waits[0] <= 30


def test_retry_after_too_long_gives_up(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError):
        driver.call(get_t1)


def test_4xx_not_retried(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=400,
        json={"success": False, "error": {"code": "invalid_request", "message": "bad input"}},
    )
    with pytest.raises(BadRequestError) as info:
        driver.call(get_t1)
    assert info.value.code == "invalid_request"
    assert len(httpx_mock.get_requests()) == 1


def test_x_should_retry_false_wins(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=503, headers={"x-should-retry": "false"})
    with pytest.raises(ServerError):
        driver.call(get_t1)
    assert len(httpx_mock.get_requests()) == 1


def test_connection_errors_retried_then_raised(driver: Driver, httpx_mock: HTTPXMock) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=URL)
    with pytest.raises(APIConnectionError) as info:
        driver.call(get_t1)
    assert "GET /tasks/t1" in str(info.value)
    assert len(httpx_mock.get_requests()) == 3


def test_timeout_is_api_timeout_and_timeouterror(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=URL)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=URL)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=URL)
    with pytest.raises(TimeoutError) as info:
        driver.call(get_t1)
    assert isinstance(info.value, APITimeoutError)
    assert info.value.task_id is None and info.value.task is None  # a request, not a wait


def test_idempotency_key_reused_across_retries(driver: Driver, httpx_mock: HTTPXMock) -> None:
    run_url = f"{BASE}/apps/run"
    httpx_mock.add_response(url=run_url, method="POST", status_code=503)
    httpx_mock.add_exception(httpx.ReadError("reset"), url=run_url, method="POST")
    httpx_mock.add_response(url=run_url, method="POST", json=task("a"))
    httpx_mock.add_response(url=run_url, method="POST", json=task("b"))
    driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    keys = [r.headers["idempotency-key"] for r in httpx_mock.get_requests()]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]


REQS = [
    {"type": "secret", "key": "OPENAI_API_KEY", "message": "add the secret"},
    {
        "type": "integration",
        "key": "google.sheets",
        "message": "connect",
        "action": {"type": "connect"},
    },
]


@pytest.mark.parametrize("api_version", [1, 2])
def test_412_requirements(httpx_mock: HTTPXMock, api_version: int) -> None:
    httpx_mock.add_response(url=RUN_URL, status_code=412, json={"satisfied": False, "errors": REQS})
    with pytest.raises(RequirementsNotMetException) as info:
        Driver("sync", api_version=api_version).call(
            lambda c: c.run({"app": "my-app", "input": {}})
        )
    err = info.value
    assert [(e["type"], e["key"]) for e in err.errors] == [
        ("secret", "OPENAI_API_KEY"),
        ("integration", "google.sheets"),
    ]
    assert err.status == 412
    assert isinstance(err, RuntimeError)
    assert len(httpx_mock.get_requests()) == 1


def test_v1_error_envelope(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=404,
        headers={"X-Request-ID": "req-42"},
        json={
            "success": False,
            "status": 404,
            "error": {"code": "not_found", "message": "no task t1"},
        },
    )
    with pytest.raises(NotFoundError) as info:
        driver.call(get_t1)
    assert info.value.code == "not_found"
    assert info.value.message.startswith("no task t1")
    assert info.value.request_id == "req-42"
    assert "req-42" in str(info.value)


def test_v2_problem_json(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=401,
        headers={"Content-Type": "application/problem+json"},
        json={
            "type": "https://api.inference.sh/errors/unauthorized",
            "title": "Unauthorized",
            "status": 401,
            "detail": "invalid API key",
        },
    )
    with pytest.raises(AuthenticationError) as info:
        driver.call(get_t1)
    assert info.value.code == "unauthorized"
    assert "invalid API key" in info.value.message


def test_success_false_on_200_raises(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL, json={"success": False, "status": 403, "error": {"message": "forbidden"}}
    )
    with pytest.raises(APIError) as info:
        driver.call(get_t1)
    assert info.value.status == 403


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "SESSION_NOT_FOUND", SessionNotFoundError),
        (410, "SESSION_EXPIRED", SessionExpiredError),
        (410, "SESSION_ENDED", SessionEndedError),
        (500, "WORKER_LOST", WorkerLostError),
    ],
)
def test_session_errors_mapped(
    httpx_mock: HTTPXMock, status: int, code: str, cls: type[Exception]
) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/sessions/s1",
        status_code=status,
        json={"success": False, "error": {"code": code, "message": "session s1"}},
    )
    with pytest.raises(cls):
        Driver("sync", max_retries=0).call(lambda c: c.get_session("s1"))


def test_session_not_found_is_also_not_found() -> None:
    assert issubclass(SessionNotFoundError, NotFoundError)


def test_malformed_json_body(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, text="<html>gateway</html>")
    with pytest.raises(MalformedResponseError) as info:
        driver.call(get_t1)
    assert "not JSON" in str(info.value)
    assert "<html>gateway" in str(info.value)


def test_wrong_shape_names_the_field(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json={"id": 5, "status": 1})
    with pytest.raises(MalformedResponseError) as info:
        driver.call(get_t1)
    assert "$.id" in str(info.value)


def test_html_error_page(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=418, text="<h1>teapot</h1>")
    with pytest.raises(APIError) as info:
        Driver("sync").call(get_t1)
    assert info.value.status == 418
    assert "teapot" in str(info.value)


def test_low_level_request_returns_builtins(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/tasks/t1/status?x=1", json=envelope({"id": "t1", "status": 7})
    )
    data = driver.call(lambda c: c.http.request("GET", "/tasks/t1/status", params={"x": 1}))
    assert data == {"id": "t1", "status": 7}


def test_base_url_from_env(monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock) -> None:
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    monkeypatch.setenv("INFERENCE_BASE_URL", "http://127.0.0.1:8/")
    httpx_mock.add_response(url="http://127.0.0.1:8/tasks/t1", json=task())
    from inferencesh.core import inference

    with inference() as client:
        assert client.get_task("t1").id == "t1"


def test_missing_key_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERENCE_API_KEY", raising=False)
    from inferencesh.core import Inference

    with pytest.raises(ValueError, match="INFERENCE_API_KEY"):
        Inference()


# -- redirects, gzip, odd Retry-After values, a key echoed back -----------------------------


STREAM = f"{BASE}/tasks/t1/stream"


GET = f"{BASE}/tasks/t1"


NDJSON_HEADERS = {"content-type": "application/x-ndjson"}


RUNNING = {"data": {"id": "t1", "status": 7}, "fields": ["status"]}


DONE = {"data": {"status": 10, "output": {"ok": True}}, "fields": ["status", "output"]}


def wait_t1(client):
    return client.wait_for_completion("t1")


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

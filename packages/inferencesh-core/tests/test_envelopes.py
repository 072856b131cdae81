"""Response envelopes: which replies are the v1 envelope, and an empty reply where an object is
due, through both clients.

Replies a real server does not give on demand (a bare v2 object that has a ``success`` key, a
204 from ``POST /apps/run``) go through pytest-httpx.
"""

from __future__ import annotations

from typing import Any

import pytest
from core_testkit import BASE, Driver
from inferencesh.core import (
    MalformedResponseError,
    PermissionDeniedError,
)
from pytest_httpx import HTTPXMock

# -- which replies are the v1 envelope ------------------------------------------------------

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


# -- an empty reply where an object is due --------------------------------------------------


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

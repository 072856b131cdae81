"""A state-conflict 409 is answered at once; a request whose retries ran out with its outcome
unknown tells the caller how to find what it may have created (issue 16, item 12)."""

from __future__ import annotations

import httpx
import pytest
from core_testkit import BASE, Driver, task
from inferencesh.core import APIConnectionError, BadRequestError, ConflictError, ServerError
from pytest_httpx import HTTPXMock

RUN = f"{BASE}/apps/run"
CONFLICT = {"success": False, "error": {"code": "conflict", "message": "task t1 is still running"}}


def test_a_plain_409_is_not_retried(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", method="DELETE", status_code=409, json=CONFLICT)
    with pytest.raises(ConflictError) as info:
        driver.call(lambda c: c.http.request("DELETE", "/tasks/t1"))
    assert "still running" in str(info.value)
    assert len(httpx_mock.get_requests()) == 1
    assert no_waits == []


@pytest.mark.parametrize("mark", [{"Retry-After": "0.2"}, {"x-should-retry": "true"}])
def test_a_409_marked_retryable_is_retried(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float], mark: dict[str, str]
) -> None:
    # An idempotency key whose first request is still in flight: try again shortly.
    httpx_mock.add_response(url=RUN, method="POST", status_code=409, headers=mark, json=CONFLICT)
    httpx_mock.add_response(url=RUN, method="POST", json=task("t9"))
    created = driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    assert created.id == "t9"
    assert len(httpx_mock.get_requests()) == 2
    assert len(no_waits) == 1


def test_a_run_whose_retries_ran_out_carries_its_idempotency_key(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=RUN, method="POST", status_code=503, json={"detail": "x"})
    with pytest.raises(ServerError) as info:
        driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    keys = {r.headers["idempotency-key"] for r in httpx_mock.get_requests()}
    assert len(keys) == 1
    key = keys.pop()
    assert info.value.idempotency_key == key
    assert key in str(info.value)
    # Sending it again with that key finds the task the lost attempt created.
    httpx_mock.add_response(
        url=RUN, method="POST", json=task("t7"), match_headers={"Idempotency-Key": key}
    )
    found = driver.call(
        lambda c: c.http.request(
            "POST", "/apps/run", json={"app": "x/y", "input": {}}, idempotency_key=key
        )
    )
    assert found["id"] == "t7"


def test_a_lost_connection_on_a_run_carries_its_key(
    driver: Driver, httpx_mock: HTTPXMock, no_waits: list[float]
) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ReadError("reset"), url=RUN, method="POST")
    with pytest.raises(APIConnectionError) as info:
        driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    assert info.value.idempotency_key is not None
    assert info.value.idempotency_key in str(info.value)


def test_a_get_or_a_4xx_carries_no_key(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=RUN, method="POST", status_code=400, json=CONFLICT)
    with pytest.raises(BadRequestError) as info:
        driver.call(lambda c: c.run({"app": "x/y", "input": {}}, wait=False))
    assert info.value.idempotency_key is None

"""The front layer (``inferencesh.platform.front``): the API key, the ``/v1/`` prefix and the
error guard for every request, and ``POST /apps/run`` served without the router with the same
answers it gets through it."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.config import PlatformConfig
from inferencesh.platform.server import create_app
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

KEY = "inf_local_front-test"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Starlette]:
    app = create_app(PlatformConfig(data_dir=tmp_path / "data", apps=[], api_key=KEY))
    yield app
    app.state.platform.store.close()


def _routed(app: Starlette) -> list[str]:
    """The paths the router was asked for (wraps its ASGI entry)."""
    seen: list[str] = []
    inner = app.router.middleware_stack

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        await inner(scope, receive, send)

    app.router.middleware_stack = counting
    return seen


def _call(app: Starlette, *requests: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return [await http.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(go())


def _auth(**headers: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"Bearer {KEY}", **headers}}


def test_runs_are_served_without_the_router_with_the_same_answers(app: Starlette) -> None:
    routed = _routed(app)
    body = {"app": "local/nope", "input": {}}
    v1, v1_prefixed, v2, bad = _call(
        app,
        ("POST", "/apps/run", {"json": body, **_auth()}),
        ("POST", "/v1/run", {"json": body, **_auth()}),
        ("POST", "/apps/run", {"json": body, **_auth(**{"X-API-Version": "2"})}),
        ("POST", "/apps/run", {"content": b"{", **_auth()}),
    )
    for reply in (v1, v1_prefixed):
        assert reply.status_code == 404
        assert reply.json()["success"] is False
        assert reply.json()["error"]["code"] == "not_found"
    assert v2.status_code == 404
    assert v2.headers["content-type"].startswith("application/problem+json")
    assert v2.json()["code"] == "not_found"
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    assert routed == []  # none of them went through the router
    # Other methods on the same path still get the router's answer.
    (put,) = _call(app, ("PUT", "/v1/run", _auth()))
    assert put.status_code == 405 and put.json()["error"]["code"] == "method_not_allowed"
    assert routed == ["/run"]


def test_every_request_needs_the_key_direct_or_routed(app: Starlette) -> None:
    replies = _call(
        app,
        ("POST", "/apps/run", {"json": {"app": "local/nope"}}),
        ("POST", "/v1/apps/run", {"json": {}, "headers": {"Authorization": "Bearer nope"}}),
        ("POST", "/tasks/list", {"json": {}}),
    )
    assert [r.status_code for r in replies] == [401, 401, 401]
    assert replies[0].json()["error"]["message"].startswith("missing API key")
    assert replies[1].json()["error"]["message"] == "invalid API key"
    (listed,) = _call(app, ("POST", "/v1/tasks/list", {"json": {}, **_auth()}))
    assert listed.status_code == 200 and listed.json()["data"]["items"] == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (KeyError("a bug"), 500, "internal_error"),
        (OSError(errno.ENOSPC, "No space left on device"), 507, "disk_full"),
    ],
)
def test_an_unhandled_error_in_a_run_is_answered_by_the_guard(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, code: str
) -> None:
    def fails(ref: str) -> None:
        raise error

    monkeypatch.setattr(app.state.platform, "resolve_app", fails)
    (reply,) = _call(app, ("POST", "/apps/run", {"json": {"app": "local/x"}, **_auth()}))
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    if status == 500:
        assert reply.json()["error"]["message"] == "internal error: KeyError"
    else:
        assert reply.headers["x-should-retry"] == "false"

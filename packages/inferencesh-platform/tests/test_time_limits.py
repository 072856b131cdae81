"""Task time limits (issue 16, item 11): a run that sleeps or spins forever ends failed with a
reason naming its limit, from the app's ``inf.yml`` ``timeout`` or the server's
``--task-timeout``; a run within its limit completes, and the app keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from platform_testkit import App, PlatformFactory, SharedPlatform, api_client, data

FOREVER = """
import asyncio
import time
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    how: str = "sleep"
    seconds: float = 0

class App(BaseApp):
    async def run(self, input_data: AppInput) -> BaseAppOutput:
        if input_data.how == "quick":
            await asyncio.sleep(input_data.seconds)
        elif input_data.how == "spin":
            while True:  # blocks the worker's event loop
                time.sleep(0.01)
        else:
            await asyncio.sleep(3600)
        return BaseAppOutput()
"""


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> SharedPlatform:
    return local_platform(
        [App("server-limit", FOREVER), App("app-limit", FOREVER, "timeout: 1\n")],
        args=["--task-timeout", "2", "--cancel-timeout", "1", "--concurrency", "1"],
    )


@pytest.fixture(scope="module")
def http(server: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def finish(http: httpx.Client, app: str, how: str, seconds: float = 0) -> tuple[dict, float]:
    started = time.monotonic()
    task = data(
        http.post(
            "/apps/run", json={"app": app, "input": {"how": how, "seconds": seconds}, "wait": True}
        )
    )
    return task, time.monotonic() - started


@pytest.mark.parametrize("how", ["sleep", "spin"])
def test_the_server_limit_fails_a_run_that_never_ends(http: httpx.Client, how: str) -> None:
    task, took = finish(http, "local/server-limit", how)
    assert task["status"] == 11, task
    assert task["error"].startswith("timed out")
    assert "2s (--task-timeout)" in task["error"]
    assert 2 <= took < 20


def test_the_app_limit_wins(http: httpx.Client) -> None:
    task, took = finish(http, "local/app-limit", "sleep")
    assert task["status"] == 11, task
    assert "1s (its inf.yml `timeout`)" in task["error"]
    assert 1 <= took < 15


def test_a_run_within_its_limit_completes_after_one_timed_out(http: httpx.Client) -> None:
    task, _ = finish(http, "local/app-limit", "quick", 0.2)
    assert task["status"] == 10, task
    task, _ = finish(http, "local/server-limit", "quick", 0.5)
    assert task["status"] == 10, task

"""Platforms several of the local platform's test modules share (through ``local_platform``).

Each fixture is one configuration: the modules asking for it in one test process use one
running platform. Their apps are in ``platform_apps.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from platform_apps import RECORDER_APP, SEVER_APP, STUCK_APP, TWO_FILES_APP, echo_source
from platform_testkit import App, PlatformFactory, SharedPlatform, api_client

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"


@pytest.fixture(scope="module")
def one_slot(local_platform: PlatformFactory) -> SharedPlatform:
    """One worker per app, a 1 s cancel grace: example apps and a ``stuck`` and an
    ``unloadable`` one."""
    return local_platform(
        [
            *(EXAMPLES / name for name in ("hello", "setup_config", "failing", "slow")),
            App("stuck", STUCK_APP),
            App("unloadable", "def run(:\n"),
        ],
        args=["--concurrency", "1", "--heartbeat", "0.2", "--cancel-timeout", "1"],
    )


@pytest.fixture(scope="module")
def one_slot_http(one_slot: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(one_slot) as client:
        yield client


@pytest.fixture(scope="module")
def recording(local_platform: PlatformFactory) -> SharedPlatform:
    """One worker per app, a 5 s cancel grace: ``slow``, a ``recorder`` of the cancels its worker
    gets, a worker that can ``sever`` its connections, and ``two-files`` whose second is missing."""
    return local_platform(
        [
            EXAMPLES / "slow",
            App("recorder", RECORDER_APP),
            App("sever", SEVER_APP),
            App("two-files", TWO_FILES_APP),
        ],
        args=["--concurrency", "1", "--heartbeat", "0.2", "--cancel-timeout", "5"],
    )


@pytest.fixture(scope="module")
def recording_http(recording: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(recording) as client:
        yield client


@pytest.fixture(scope="module")
def echo_server(local_platform: PlatformFactory) -> SharedPlatform:
    """One worker per app: ``echo``, ``queue`` and ``waiting`` at code version v1, in the
    platform's own folder (``echo_apps``), where the reload tests edit them."""
    apps = [App(name, echo_source("v1")) for name in ("echo", "queue", "waiting")]
    return local_platform(apps, args=["--concurrency", "1"])


@pytest.fixture(scope="module")
def echo_apps(echo_server: SharedPlatform) -> Path:
    return echo_server.home / "apps"


@pytest.fixture(scope="module")
def echo_http(echo_server: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(echo_server) as client:
        yield client

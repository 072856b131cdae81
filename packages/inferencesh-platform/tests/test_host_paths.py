"""Host files stay out of reach of API callers (issue 16, item 4): local paths in inputs are
refused unless under an ``--allow-path`` folder, and an output becomes a served file only when
the task produced it; apps writing under /tmp or tempfile keep working, and the client's own
upload of local files is unaffected."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inferencesh import Inference
from inferencesh.platform.paths import local_paths, produced_by_task
from platform_testkit import OWN, App, PlatformFactory, SharedPlatform, api_client, data

READER = """
from typing import Any
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File

class AppInput(BaseAppInput):
    doc: File

class AppOutput(BaseAppOutput):
    text: str

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(text=open(input_data.doc.path).read())
"""

RETURNER = """
import os
import tempfile
from pathlib import Path
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File

class AppInput(BaseAppInput):
    how: str
    where: str = ""

class AppOutput(BaseAppOutput):
    out: File

class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        if input_data.how == "host":
            return AppOutput(out=File(path=input_data.where[::-1]))  # reversed: not an input path
        if input_data.how == "tempfile":
            fd, path = tempfile.mkstemp(suffix=".txt")
            os.write(fd, b"temp")
            os.close(fd)
            return AppOutput(out=File(path=path))
        if input_data.how == "slash-tmp":
            path = "/tmp/inferencesh-test-" + str(os.getpid()) + ".txt"
            Path(path).write_text("under /tmp")
            return AppOutput(out=File(path=path))
        return AppOutput(out=File(path=str(Path(__file__).with_name("asset.txt"))))
"""


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> SharedPlatform:
    return local_platform(
        [App("reader", READER), App("returner", RETURNER)],
        files={"allowed/ok.txt": "allowed content", "apps/returner/asset.txt": "bundled"},
        args=["--allow-path", OWN / "allowed"],
    )


@pytest.fixture(scope="module")
def http(server: SharedPlatform) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def run(http: httpx.Client, app: str, value: object) -> httpx.Response:
    return http.post("/apps/run", json={"app": app, "input": value, "wait": True})


@pytest.mark.parametrize(
    "doc",
    ["/etc/passwd", "file:///etc/passwd", {"path": "/etc/passwd"}, "file:///etc/../etc/passwd"],
)
def test_a_host_path_in_an_input_is_refused(http: httpx.Client, doc: object) -> None:
    reply = run(http, "local/reader", {"doc": doc})
    assert reply.status_code == 403, reply.text
    message = reply.json()["error"]["message"]
    assert "/etc/passwd" in message
    assert "--allow-path" in message or "allowed folders" in message
    setup = http.post(
        "/apps/run", json={"app": "local/reader", "input": {}, "setup": {"x": "/etc/passwd"}}
    )
    assert setup.status_code == 403 and "`setup`" in setup.text


def test_a_path_under_an_allowed_folder_is_read(server: SharedPlatform, http: httpx.Client) -> None:
    allowed = server.home / "allowed" / "ok.txt"
    task = data(run(http, "local/reader", {"doc": str(allowed)}))
    assert task["status"] == 10 and task["output"]["text"] == "allowed content", task
    # A link inside the allowed folder to a file outside it is judged by where it leads.
    link = server.home / "allowed" / "link.txt"
    if not link.exists():
        link.symlink_to("/etc/passwd")
    assert run(http, "local/reader", {"doc": str(link)}).status_code == 403


def test_text_that_merely_starts_with_a_slash_is_not_a_path(http: httpx.Client) -> None:
    reply = run(http, "local/reader", {"doc": "/imagine a cat"})
    assert reply.status_code != 403, reply.text


def test_the_clients_own_upload_of_local_files_is_unaffected(
    server: SharedPlatform, tmp_path: Path
) -> None:
    local = tmp_path / "mine.txt"
    local.write_text("uploaded by the client")
    with Inference(api_key=server.api_key, base_url=server.base_url) as client:
        done = client.run({"app": "local/reader", "input": {"doc": str(local)}})
    assert done.output["text"] == "uploaded by the client"


def test_a_pre_existing_host_file_never_becomes_an_output(http: httpx.Client) -> None:
    task = data(run(http, "local/returner", {"how": "host", "where": "/etc/passwd"[::-1]}))
    assert task["status"] == 11, task
    assert "did not produce" in task["error"]
    assert data(http.get(f"/tasks/{task['id']}/files")) == []


@pytest.mark.parametrize(
    ("how", "text"), [("tempfile", "temp"), ("slash-tmp", "under /tmp"), ("asset", "bundled")]
)
def test_files_the_app_wrote_or_ships_are_served(http: httpx.Client, how: str, text: str) -> None:
    task = data(run(http, "local/returner", {"how": how}))
    assert task["status"] == 10, task
    assert httpx.get(task["output"]["out"]["uri"], trust_env=False).text == text


def test_the_rules_on_their_own(tmp_path: Path) -> None:
    assert local_paths(["/no/such/thing", "relative/x", {"path": "/x", "uri": "http://h/x"}]) == []
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    key = data_dir / "api_key"
    key.write_text("k")
    own = tmp_path / "home"
    own.mkdir()
    old = tmp_path / "old.txt"
    old.write_text("x")
    since = time.time() + 1
    assert not produced_by_task(key, 0, [tmp_path], data_dir)  # never the data dir
    assert not produced_by_task(old, since, [own], data_dir)  # there before the run
    (own / "made.txt").write_text("y")
    os.utime(own / "made.txt", (0, 0))  # an app cannot pass an old file off as its own
    assert produced_by_task(own / "made.txt", since, [own], data_dir)
    time.sleep(0.1)
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("z")
    assert produced_by_task(fresh, time.time() - 0.05, [own], data_dir)

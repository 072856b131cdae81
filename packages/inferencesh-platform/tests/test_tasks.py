"""Tasks on the local platform: error messages that say what went wrong once, paging that is
refused rather than replaced, and output files stored all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh.platform.config import PlatformConfig
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.server import Platform
from platform_testkit import data, run

# --- error messages say what went wrong once, and about the right thing ----------------------


def test_validation_and_setup_errors_are_not_labelled_twice_or_wrongly(
    one_slot_http: httpx.Client,
) -> None:
    bad_input = run(one_slot_http, "local/hello", {"prompt": 5}, wait=True)
    assert bad_input["status"] == 11
    assert bad_input["error"].startswith("invalid input: prompt: "), bad_input["error"]
    assert bad_input["error"].count("invalid input") == 1

    bad_setup = run(one_slot_http, "local/setup-config", {}, setup={"precision": "int3"}, wait=True)
    assert bad_setup["status"] == 11
    assert bad_setup["error"].startswith("invalid setup: precision: "), bad_setup["error"]

    failed_setup = run(
        one_slot_http, "local/failing", {"fail": False}, setup={"fail_setup": True}, wait=True
    )
    assert failed_setup["status"] == 11
    assert failed_setup["error"].count("setup failed") == 1, failed_setup["error"]
    assert "setup was told to fail" in failed_setup["error"]

    unknown = run(one_slot_http, "local/hello", {}, function="nope", wait=True)
    assert unknown["status"] == 11 and "'nope' not found" in unknown["error"]


# --- bad paging parameters are refused, not replaced ------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"limit": 0}, "`limit` must be 1..500 and `offset` at least 0, got limit 0, offset 0"),
        ({"limit": 501}, "`limit` must be 1..500"),
        ({"offset": -1}, "got limit 50, offset -1"),
        ({"limit": True}, "`limit` must be an integer, got True"),
        ({"offset": 2.5}, "`offset` must be an integer, got 2.5"),
        ({"limit": "ten"}, "`limit` must be an integer, got 'ten'"),
        ({"offset": "--5"}, "`offset` must be an integer, got '--5'"),
    ],
)
def test_bad_paging_is_a_400_in_both_envelopes(
    one_slot_http: httpx.Client, body: dict[str, Any], message: str
) -> None:
    response = one_slot_http.post("/tasks/list", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    v2 = one_slot_http.post("/files/list", json=body, headers={"X-API-Version": "2"})
    assert v2.status_code == 400
    assert v2.headers["content-type"].startswith("application/problem+json")
    assert message in v2.json()["detail"]
    listed = data(one_slot_http.post("/tasks/list?limit=1&offset=0", json={}))
    assert listed["items_per_page"] == 1


# --- output files are stored all or nothing ------------------------------------------------


def stored_files(server: LocalPlatform, http: httpx.Client) -> tuple[set[str], set[str]]:
    root = server.data_dir / "files"
    on_disk = {p.name for p in root.iterdir() if p.is_file()} if root.is_dir() else set()
    listed = data(http.post("/files/list", json={"limit": 500}))
    return on_disk, {item["id"] for item in listed["items"]}


def test_an_output_naming_a_missing_file_stores_nothing(
    recording: LocalPlatform, recording_http: httpx.Client
) -> None:
    # End to end the runtime now refuses the output before the platform stores anything; the
    # platform's own roll-back is checked in process below.
    disk_before, records_before = stored_files(recording, recording_http)
    task = run(recording_http, "local/two-files", {}, wait=True)
    assert task["status"] == 11
    assert "the app returned a file that does not exist" in task["error"]
    assert "missing.txt" in task["error"]
    disk_after, records_after = stored_files(recording, recording_http)
    assert disk_after == disk_before, "a stored output file was left behind"
    assert records_after == records_before, "a file record was left behind"


async def test_the_platform_removes_files_it_stored_before_one_that_fails(
    tmp_path: Path,
) -> None:
    # An output that reached the platform (from any worker, not only this runtime) with one
    # file that cannot be stored: the files stored before it are removed again.
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", apps=[]))
    first = tmp_path / "first.txt"
    first.write_text("stored first")
    output = {
        "first": {"path": str(first)},
        "second": {"path": str(tmp_path / "missing.txt")},
    }
    with pytest.raises(PlatformError, match="does not exist"):
        await platform.tasks._store_outputs(output, lambda path: True)
    storage = tmp_path / "data" / "files"
    assert [p for p in storage.iterdir() if p.is_file()] == []
    assert platform.store.list_files(limit=10) == []
    assert await platform.tasks._store_outputs({"only": {"path": str(first)}}, lambda path: True)
    assert len(platform.store.list_files(limit=10)) == 1

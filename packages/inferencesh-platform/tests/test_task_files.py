"""A task's files on the local platform: the task files routes in both envelopes, and a file
that cannot be deleted keeping its record and its task."""

from __future__ import annotations

import shutil
from typing import Any

import httpx
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import data, run, wait_status

COMPLETED, FAILED = 10, 11
V2 = {"X-API-Version": "2"}


def uploaded(http: httpx.Client, *names: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = data(
        http.post("/files", json={"files": [{"filename": n, "size": 2} for n in names]})
    )
    for record in records:
        assert http.put(record["upload_url"], content=b"hi").status_code == 200
    return records


def test_a_file_that_cannot_be_deleted_keeps_its_record_and_its_task(
    echo_server: LocalPlatform, echo_http: httpx.Client
) -> None:
    # Bug: the record was deleted before the bytes; a disk error then left bytes no request
    # could reach (the file vanished from every listing), and `DELETE ?files=true` failed
    # with a bare "internal error: IsADirectoryError" naming nothing.
    first, second = uploaded(echo_http, "a.txt", "b.txt")
    refs = {"nested": [[first["uri"], 3, None], {"deep": second["uri"]}], "flag": True}
    task = run(echo_http, "local/echo", {"refs": refs}, wait=True)
    assert task["status"] == COMPLETED, task
    blocked = echo_server.data_dir / "files" / second["id"]
    blocked.unlink()
    blocked.mkdir()  # its bytes can no longer be unlinked
    (blocked / "stuck").write_text("x")
    try:
        reply = echo_http.delete(f"/tasks/{task['id']}", params={"files": "true"})
        assert reply.status_code == 500, reply.text
        message = reply.json()["error"]["message"]
        assert f"task {task['id']} was kept" in message
        assert f"file {second['id']}: could not delete its content (Is a directory)" in message
        # A consistent state: the task and the file it could not delete are still there and
        # still linked; the other file is gone.
        assert data(echo_http.get(f"/tasks/{task['id']}"))["id"] == task["id"]
        listed = data(echo_http.get(f"/tasks/{task['id']}/files"))
        assert {(f["role"], f["id"]) for f in listed} == {
            ("input", second["id"]),
            ("output", second["id"]),
        }
        assert echo_http.get(f"/files/{first['id']}").status_code == 404
        assert echo_http.get(f"/files/{second['id']}").status_code == 200
        # The keep-the-task route says the same in its body (v2: bare), listing it once.
        reply = echo_http.delete(f"/tasks/{task['id']}/files", headers=V2)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["deleted"] == []
        assert [s["id"] for s in body["skipped"]] == [second["id"]]
        assert "could not delete its content" in body["skipped"][0]["reason"]
    finally:
        shutil.rmtree(blocked)
    # Once the disk lets it, the same call finishes the job.
    assert echo_http.delete(f"/tasks/{task['id']}?files=true").status_code == 204
    assert echo_http.get(f"/tasks/{task['id']}").status_code == 404
    assert echo_http.get(f"/files/{second['id']}").status_code == 404


def test_task_files_routes_in_both_envelopes_with_clear_errors(
    echo_server: LocalPlatform, echo_http: httpx.Client
) -> None:
    (kept,) = uploaded(echo_http, "c.txt")
    forged = kept["uri"].replace("sig=", "sig=0")
    task = run(echo_http, "local/echo", {"refs": [kept["uri"], forged, {"again": kept["uri"]}]})
    task = wait_status(echo_http, task["id"], {COMPLETED, FAILED})
    assert task["status"] == COMPLETED, task
    # Read and written (echoed): once per role; the forged-signature URL is not this server's.
    reply = echo_http.get(f"/tasks/{task['id']}/files", headers=V2)
    assert reply.status_code == 200
    assert [(f["role"], f["id"]) for f in reply.json()] == [
        ("input", kept["id"]),
        ("output", kept["id"]),
    ]
    assert [f["role"] for f in data(echo_http.get(f"/tasks/{task['id']}/files?role=output"))] == [
        "output"
    ]
    bad_role = echo_http.get(f"/tasks/{task['id']}/files?role=inputs", headers=V2)
    assert bad_role.status_code == 400
    assert bad_role.headers["content-type"].startswith("application/problem+json")
    assert bad_role.json()["detail"] == "`role` must be one of input, output, got 'inputs'"
    for method in ("GET", "DELETE"):
        # Bug: an empty `role` was read as no role, so `DELETE ...?role=` deleted both sides.
        empty = echo_http.request(method, f"/tasks/{task['id']}/files?role=", headers=V2)
        assert empty.status_code == 400
        assert empty.json()["detail"] == "`role` must be one of input, output, got ''"
        missing = echo_http.request(method, "/tasks/nosuchtask/files", headers=V2)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no task 'nosuchtask'"
    bad_flag = echo_http.delete(f"/tasks/{task['id']}?files=yes")
    assert bad_flag.status_code == 400
    assert bad_flag.json()["error"]["message"] == "`files` must be a boolean, got 'yes'"
    assert echo_http.delete(f"/tasks/{task['id']}?files=false").status_code == 204
    assert echo_http.get(f"/files/{kept['id']}").status_code == 200  # the record only went

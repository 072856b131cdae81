"""A task's stored files through our client (sync and async) against the local platform:
``task_files``, ``delete_task_files`` and ``delete_task(files=True)``, and their ``client.tasks``
names (published-sdk-0.36.md section 4.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from inferencesh import ConflictError, NotFoundError, async_inference, inference
from inferencesh.core import DeletedTaskFiles, TaskFile
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [ROOT / "examples" / "apps" / "files", ROOT / "examples" / "apps" / "slow"]
    )


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("quiet words\n")
    return path


def _exists(client: object, uri: str) -> bool:
    file_id = uri.split("/storage/files/")[1].split("/")[0]
    try:
        client.http.request("GET", f"/files/{file_id}")  # type: ignore[attr-defined]
    except NotFoundError:
        return False
    return True


def test_files_of_a_task_by_role_then_deleted(server: LocalPlatform, document: Path) -> None:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        task = client.run({"app": "local/files", "input": {"document": document}})
        files = client.tasks.files(task.id)
        assert all(isinstance(f, TaskFile) for f in files)
        roles = {f.role: f for f in files}
        assert set(roles) == {"input", "output"}
        assert roles["input"].filename == "notes.txt"
        assert roles["input"].size == len("quiet words\n")
        assert roles["output"].uri == task.output["upper"]["uri"]
        assert [f.id for f in client.task_files(task.id, role="output")] == [roles["output"].id]

        result = client.tasks.delete_files(task.id, role="input")
        assert isinstance(result, DeletedTaskFiles)
        assert result.deleted == [roles["input"].id]
        assert result.skipped == []
        assert not _exists(client, roles["input"].uri)
        assert _exists(client, roles["output"].uri)
        assert [f.role for f in client.task_files(task.id)] == ["output"]
        assert client.get_task(task.id).id == task.id  # the record is kept


def test_delete_task_with_its_files(server: LocalPlatform, document: Path) -> None:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        task = client.run({"app": "local/files", "input": {"document": document}})
        uris = [f.uri for f in client.task_files(task.id)]
        assert len(uris) == 2
        client.tasks.delete(task.id, files=True)
        with pytest.raises(NotFoundError):
            client.get_task(task.id)
        assert [_exists(client, uri) for uri in uris] == [False, False]

        kept = client.run({"app": "local/files", "input": {"document": document}})
        kept_uris = [f.uri for f in client.task_files(kept.id)]
        client.delete_task(kept.id)  # the record only
        assert [_exists(client, uri) for uri in kept_uris] == [True, True]


def test_a_running_task_is_not_deleted(server: LocalPlatform) -> None:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        task = client.run({"app": "local/slow", "input": {"seconds": 30}}, wait=False)
        try:
            with pytest.raises(ConflictError):
                client.delete_task(task.id, files=True)
            with pytest.raises(ConflictError):
                client.delete_task_files(task.id)
        finally:
            client.cancel(task.id, force=True)


def test_a_bad_role_is_refused_before_any_request(server: LocalPlatform) -> None:
    with inference(api_key=server.api_key, base_url="http://127.0.0.1:9") as client:
        with pytest.raises(ValueError, match="role must be 'input', 'output' or None, got 'in'"):
            client.task_files("t1", role="in")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="task_id must be a non-empty string"):
            client.delete_task_files("")


async def test_async_client_has_the_same_calls(server: LocalPlatform, document: Path) -> None:
    async with async_inference(api_key=server.api_key, base_url=server.base_url) as client:
        task = await client.run({"app": "local/files", "input": {"document": document}})
        files = await client.tasks.files(task.id, role="input")
        assert [(f.role, f.filename) for f in files] == [("input", "notes.txt")]
        result = await client.delete_task_files(task.id)
        assert len(result.deleted) == 2
        assert await client.task_files(task.id) == []
        await client.tasks.delete(task.id)
        with pytest.raises(NotFoundError):
            await client.get_task(task.id)

"""The 0.36 namespaced API classes of our client against the local platform, sync and async:
``TasksAPI``, ``FilesAPI``, ``SessionsAPI``, ``SessionHandle`` (with 0.36's ``wait``/``stream``
call options), ``AgentsAPI``, and ``get(...).data`` as 0.36 code reads it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from inferencesh import (
    AgentsAPI,
    AsyncAgentsAPI,
    AsyncFilesAPI,
    AsyncSessionHandle,
    AsyncSessionsAPI,
    AsyncTasksAPI,
    FilesAPI,
    SessionEndedError,
    SessionHandle,
    SessionsAPI,
    TasksAPI,
    TaskStatus,
    async_inference,
    inference,
    is_terminal_status,
    parse_status,
)
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([APPS / "hello", APPS / "counter"])


def test_sync_namespaces_are_the_0_36_classes_and_work(
    server: LocalPlatform, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hi there")
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        assert isinstance(client.tasks, TasksAPI)
        assert isinstance(client.files, FilesAPI)
        assert isinstance(client.sessions, SessionsAPI)
        assert isinstance(client.agents, AgentsAPI)

        task = client.tasks.run({"app": "local/hello", "input": {"prompt": "A cat"}}, wait=False)
        done = client.tasks.wait_for_completion(task.id)
        assert done.output["result"] == "modern: A cat"
        fetched = client.tasks.get(task.id)
        assert fetched.data["status"] == TaskStatus.COMPLETED == 10  # 0.36: Response.data
        assert parse_status(fetched.data["status"]) is TaskStatus.COMPLETED
        assert is_terminal_status(fetched.status)

        uploaded = client.files.upload(str(note))
        assert (uploaded.filename, uploaded.size) == ("note.txt", len("hi there"))

        agent = client.agents.create("local/assistant")
        assert type(agent).__name__ == "Agent"


def test_session_handle_call_takes_0_36_run_options(server: LocalPlatform) -> None:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        session = client.session("local/counter", session_timeout=60)
        assert isinstance(session, SessionHandle)
        with session:
            assert session.call("set_value", {"value": 41}).output == {"value": 41}
            pending = session.call("increment", wait=False)  # returns at once
            assert pending.session_id == session.session_id
            assert client.tasks.wait_for_completion(pending.id).output == {"value": 42}
            updates = list(session.call("increment", stream=True))
            assert updates[-1].status == TaskStatus.COMPLETED
            assert updates[-1].output == {"value": 43}
            assert client.sessions.get(session.session_id).status == "active"
            assert [s.id for s in client.sessions.list()].count(session.session_id) == 1
        with pytest.raises(SessionEndedError):
            session.call("increment")


def test_async_namespaces_are_the_0_36_classes_and_work(server: LocalPlatform) -> None:
    async def main() -> None:
        async with async_inference(api_key=server.api_key, base_url=server.base_url) as client:
            assert isinstance(client.tasks, AsyncTasksAPI)
            assert isinstance(client.files, AsyncFilesAPI)
            assert isinstance(client.sessions, AsyncSessionsAPI)
            assert isinstance(client.agents, AsyncAgentsAPI)
            task = await client.tasks.run({"app": "local/hello", "input": {"prompt": "A dog"}})
            assert (await client.tasks.get(task.id)).data["output"]["result"] == "modern: A dog"
            uploaded = await client.files.upload(b"bytes here")
            assert uploaded.size == len(b"bytes here")
            session = await client.session("local/counter", session_timeout=60)
            assert isinstance(session, AsyncSessionHandle)
            async with session:
                await session.call("set_value", {"value": 1})
                stream = await session.call("increment", stream=True)
                last = [update async for update in stream][-1]
                assert last.output == {"value": 2}
                info = await client.sessions.keepalive(session.session_id)
                assert info.status == "active"
            assert (await client.sessions.get(session.session_id)).status == "ended"

    asyncio.run(main())

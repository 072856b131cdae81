"""The platform's records as structs: tasks (``TaskRecord``) and chats, messages and tool
invocations (``ChatRecord``, ``MessageRecord``, ``InvocationRecord``) round-trip through SQLite,
rows written by the dict-record platform load unchanged, a failed write leaves a record as it
was, and a completed task survives the server being killed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from inferencesh.core.chat import (
    AgentRun,
    ChatData,
    ChatMessageContent,
    PlanStep,
    ToolCall,
    ToolCallFunction,
)
from inferencesh.core.requests import AgentTool, ClientToolConfig, CoreAppConfig
from inferencesh.core.types import Task, TaskEvent, TaskLog, TaskStatus
from inferencesh.platform import wire
from inferencesh.platform.agents.hub import ChatHub
from inferencesh.platform.agents.records import (
    ChatRecord,
    InvocationRecord,
    LoopConfig,
    MessageRecord,
    chat_reply,
    invocation_reply,
)
from inferencesh.platform.agents.store import ChatStore
from inferencesh.platform.config import PlatformConfig
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.records import TaskRecord, task_reply
from inferencesh.platform.reserve import SpaceReserve
from inferencesh.platform.server import Platform
from inferencesh.platform.store import Store
from inferencesh.platform.tasks import _Live
from platform_testkit import api_client, data

ROOT = Path(__file__).resolve().parents[3]


def _task(**changes: object) -> TaskRecord:
    record = TaskRecord(
        id="t1",
        short_id="t1",
        status=TaskStatus.COMPLETED,
        app="local/hello",
        app_id="local/hello",
        function="run",
        input={"prompt": "p", "nested": [1, {"a": None}]},
        output={"text": "hi"},
        setup={"k": 1},
        logs=[TaskLog(id="l1", task_id="t1", log_type=1, content="line\n")],
        events=[TaskEvent(id="e1", task_id="t1", status=10, event_time="2026-01-01T00:00:01Z")],
        session_id="sess_1",
        session_timeout=60,
        webhook="https://x.test/h",
        run_at="2026-01-01T00:00:00Z",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:02Z",
        metadata={"action": {"key": "k"}},
        output_meta={"outputs": [{"type": "text", "tokens": 3}]},
    )
    return msgspec.structs.replace(record, **changes)


# ---- tasks -------------------------------------------------------------------------------------


def test_a_task_record_round_trips_through_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    record = _task()
    store.put_task(record)
    store.close()
    again = Store(tmp_path / "p.db")
    loaded = again.get_task("t1")
    assert loaded == record and type(loaded) is TaskRecord
    assert loaded.status is TaskStatus.COMPLETED
    assert again.list_tasks() == [record] and again.unfinished_tasks() == []
    again.close()


def test_a_reply_leaves_the_platforms_own_fields_behind() -> None:
    reply = task_reply(_task())
    assert type(reply) is Task
    sent = json.loads(msgspec.json.encode(reply))
    assert "output_meta" not in sent and "metadata" not in sent
    assert sent["output"] == {"text": "hi"} and sent["logs"][0]["content"] == "line\n"


def test_a_route_reply_is_the_record_itself_only_without_the_platforms_fields() -> None:
    # Not copied when nothing private is set: the same JSON as the copy, encoded at once.
    public = _task(metadata=None, output_meta=None)
    assert wire.task(public) is public
    assert msgspec.json.encode(wire.task(public)) == msgspec.json.encode(task_reply(public))
    for private in ({"metadata": {"m": 1}}, {"output_meta": {"outputs": []}}):
        reply = wire.task(_task(**private))
        assert type(reply) is Task
        sent = json.loads(msgspec.json.encode(reply))
        assert "output_meta" not in sent and "metadata" not in sent


def test_rows_written_by_the_dict_record_platform_still_load(tmp_path: Path) -> None:
    # A row exactly as the platform wrote it when task records were dicts (explicit nulls,
    # every key present, output_meta kept on the record).
    doc = {
        "id": "old",
        "short_id": "old",
        "created_at": "2025-12-31T00:00:00.000000Z",
        "updated_at": "2025-12-31T00:00:01.000000Z",
        "status": 10,
        "app": "local/hello",
        "app_id": "local/hello",
        "app_version_id": "local",
        "app_variant": "default",
        "function": "run",
        "infra": "local",
        "input": {"prompt": "old"},
        "output": {"text": "done"},
        "logs": [
            {
                "id": "l",
                "created_at": "2025-12-31T00:00:00Z",
                "task_id": "old",
                "log_type": 1,
                "content": "x\n",
                "updated_at": "2025-12-31T00:00:00Z",
            }
        ],
        "events": [
            {"id": "e", "created_at": "c", "event_time": "c", "task_id": "old", "status": 1}
        ],
        "worker_id": "w1",
        "metadata": {"m": 1},
        "output_meta": {"inputs": []},
        "a_key_from_some_later_version": True,
    }
    Store(tmp_path / "p.db").close()
    with sqlite3.connect(tmp_path / "p.db") as db:
        db.execute(
            "INSERT INTO tasks (id, status, app, session_id, created_at, doc) VALUES (?,?,?,?,?,?)",
            ("old", 10, "local/hello", None, doc["created_at"], json.dumps(doc).encode()),
        )
    store = Store(tmp_path / "p.db")
    loaded = store.get_task("old")
    assert loaded is not None
    assert (loaded.status, loaded.output, loaded.worker_id) == (10, {"text": "done"}, "w1")
    assert loaded.logs == [
        TaskLog(
            id="l",
            created_at="2025-12-31T00:00:00Z",
            updated_at="2025-12-31T00:00:00Z",
            task_id="old",
            log_type=1,
            content="x\n",
        )
    ]
    assert loaded.metadata == {"m": 1} and loaded.output_meta == {"inputs": []}
    # Saved again, the same record reads back (nulls are left out, not lost).
    store.put_task(loaded)
    assert store.get_task("old") == loaded
    store.close()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", apps=[]))
    yield platform
    platform.store.close()


def test_a_failed_task_write_leaves_the_record_as_it_was(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk refusing a change: none of the change is applied (the output stays the last
    # saved one), and the task ends failed saying "disk full" instead of staying running for
    # good (issue 16, item 1). With no write possible at all, the end is kept in memory.
    record = _task(status=TaskStatus.RUNNING, webhook=None)
    platform.store.put_task(record)
    live = _Live(record)
    platform.tasks._live["t1"] = live
    platform.tasks.space = None
    stored_before = platform.store.get_task("t1")

    def full_disk(rows: object, keys: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(platform.store, "_write", full_disk)
    platform.tasks._update(live, TaskStatus.COMPLETED, output={"text": "new"})
    ended = live.record
    assert ended.status == TaskStatus.FAILED and str(ended.error).startswith("disk full")
    assert ended.output == {"text": "hi"}  # the refused change is nowhere
    assert [e.status for e in ended.events or []][-1] == TaskStatus.FAILED
    assert len(ended.events or []) == len(record.events or []) + 1
    assert live.done.is_set() and "t1" not in platform.tasks._live
    assert platform.tasks.get("t1") == ended  # readers see the end, not "running"
    monkeypatch.undo()
    assert platform.store.get_task("t1") == stored_before
    # Nothing changes an ended task afterwards.
    platform.tasks._update(live, TaskStatus.COMPLETED, output={"text": "new"})
    assert live.record == ended


def test_a_full_disk_saves_the_failed_end_in_the_reserved_space(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _task(status=TaskStatus.RUNNING, webhook=None)
    platform.store.put_task(record)
    live = _Live(record)
    platform.tasks._live["t1"] = live
    space = platform.tasks.space
    assert space is not None and space.path.is_file()
    real_write = platform.store._write

    def full_until_released(rows: list[tuple[object, ...]], keys: list[tuple[object, ...]]) -> None:
        if space.path.exists():
            raise sqlite3.OperationalError("database or disk is full")
        real_write(rows, keys)

    monkeypatch.setattr(platform.store, "_write", full_until_released)
    platform.tasks._update(live, TaskStatus.COMPLETED, output={"text": "new"})
    assert not space.path.exists()  # given up for the task's end
    saved = platform.store.get_task("t1")
    assert saved is not None and saved.status == TaskStatus.FAILED
    assert str(saved.error).startswith("disk full") and saved.output == {"text": "hi"}
    assert saved == live.record


def test_a_completed_task_survives_the_server_being_killed(tmp_path: Path) -> None:
    server = LocalPlatform([ROOT / "examples" / "apps" / "hello"], data_dir=tmp_path / "data")
    with server:
        with api_client(server) as http:
            body = {"app": "local/hello", "input": {"prompt": "durable"}, "wait": True}
            done = data(http.post("/apps/run", json=body))
        assert done["status"] == 10
        server.stop(kill=True)  # SIGKILL: no shutdown code runs
    again = LocalPlatform([ROOT / "examples" / "apps" / "hello"], data_dir=tmp_path / "data")
    with again, api_client(again) as http:
        task = data(http.get(f"/tasks/{done['id']}"))
    assert task["status"] == 10 and task["output"] == done["output"]
    assert [e["status"] for e in task["events"]] == [e["status"] for e in done["events"]]


# ---- chats --------------------------------------------------------------------------------------


def _config() -> LoopConfig:
    return LoopConfig(
        core_app=CoreAppConfig(ref="local/m", input={"temperature": 0.2}),
        tools=[AgentTool(name="lookup", type="client")],
        model_settings={"max_tokens": 10},
        permissions={"allow_all_tools": True},
        max_steps=3,
        _ref="local/helper",
    )


def test_chat_records_round_trip_through_the_store(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "p.db")
    chat = ChatRecord(
        id="chat_1",
        status="awaiting_input",
        name="n",
        agent_id="agent_1",
        context={"region": "eu"},
        children=["chat_2"],
        agent_data=ChatData(
            plan_steps=[PlanStep(index=0, title="t", description="d", notes="", status="pending")],
            memory={"k": [1]},
            always_allowed_tools=["lookup"],
        ),
        _config=_config(),
        _run=AgentRun(id="run_1", state="input_required", interrupt_reason="client_tool"),
        _steps=2,
        _skill_cache={"https://x.test/s.md": "skill"},
        created_at="c",
        updated_at="u",
    )
    message = MessageRecord(
        id="msg_1",
        chat_id="chat_1",
        order=1,
        status="pending",
        role="assistant",
        content=[
            ChatMessageContent(type="text", text="hi"),
            ChatMessageContent(
                type="tool",
                tool_calls=[
                    ToolCall(id="c1", function=ToolCallFunction(name="lookup", arguments={"q": 1}))
                ],
            ),
        ],
        agent_run_id="run_1",
    )
    invocation = InvocationRecord(
        id="tinv_1",
        chat_id="chat_1",
        chat_message_id="msg_1",
        tool_invocation_id="c1",
        type="client",
        status="awaiting_input",
        function=ToolCallFunction(name="lookup", arguments={"q": 1}),
        _started=True,
    )
    store.save_chat(chat)
    store.save_message(message)
    store.save_invocation(invocation)
    store.close()
    again = ChatStore(tmp_path / "p.db")
    assert again.load_chat("chat_1") == chat
    assert again.load_messages("chat_1") == [message]
    assert again.load_invocations("chat_1") == [invocation]
    assert again.chats_with_status("awaiting_input") == ["chat_1"]
    again.close()
    sent = json.loads(msgspec.json.encode(chat_reply(chat)))
    assert not any(key.startswith("_") for key in sent) and sent["context"] == {"region": "eu"}
    sent_call = json.loads(msgspec.json.encode(invocation_reply(invocation)))
    assert "chat_id" not in sent_call and "_started" not in sent_call


def test_chat_rows_written_by_the_dict_record_platform_still_load(tmp_path: Path) -> None:
    chat = {
        "id": "chat_old",
        "created_at": "c",
        "updated_at": "u",
        "status": "idle",
        "name": "",
        "description": "",
        "children": [],
        "agent_data": {"plan_steps": [], "memory": {"a": 1}, "always_allowed_tools": []},
        "agent_id": "agent_x",
        "agent_version_id": "agentver_x",
        "_config": {
            "core_app": {"ref": "local/scripted-model"},
            "tools": [{"name": "lookup", "type": "client", "client": {"input_schema": {}}}],
            "model_settings": {"temperature": 0.7},
            "_ref": "local/assistant",
        },
        "_run": {"id": "run_x", "user_message_id": "msg_a", "state": "completed"},
        "_steps": 1,
        "_finished": None,
        "output": None,
    }
    message = {
        "id": "msg_b",
        "chat_id": "chat_old",
        "created_at": "c",
        "updated_at": "u",
        "order": 1,
        "status": "ready",
        "content": [
            {
                "type": "tool",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": {"q": "x"}},
                    }
                ],
            }
        ],
        "role": "assistant",
        "agent_run_id": "run_x",
    }
    invocation = {
        "id": "tinv_old",
        "chat_id": "chat_old",
        "chat_message_id": "msg_b",
        "created_at": "c",
        "updated_at": "u",
        "status": "completed",
        "tool_invocation_id": "c1",
        "type": "client",
        "display_name": "lookup",
        "function": {"name": "lookup", "arguments": {"q": "x"}},
        "result": "found",
        "_started": True,
    }
    ChatStore(tmp_path / "p.db").close()
    with sqlite3.connect(tmp_path / "p.db") as db:
        dump = json.dumps  # the old store wrote json.dumps(record, separators=(",", ":"))
        db.execute(
            "INSERT INTO agent_chats (id, status, data) VALUES (?, ?, ?)",
            ("chat_old", "idle", dump(chat, separators=(",", ":"))),
        )
        db.execute(
            "INSERT INTO agent_chat_messages (id, chat_id, ord, data) VALUES (?, ?, ?, ?)",
            ("msg_b", "chat_old", 1, dump(message, separators=(",", ":"))),
        )
        db.execute(
            "INSERT INTO agent_tool_invocations (id, chat_id, message_id, data) VALUES (?,?,?,?)",
            ("tinv_old", "chat_old", "msg_b", dump(invocation, separators=(",", ":"))),
        )
    hub = ChatHub(ChatStore(tmp_path / "p.db"))
    live = hub.get("chat_old")
    assert live is not None
    config = live.chat._config
    assert config is not None and config._ref == "local/assistant"
    assert config.model_settings == {"temperature": 0.7}
    assert config.tools == [
        AgentTool(name="lookup", type="client", client=ClientToolConfig(input_schema={}))
    ]
    assert live.chat._run == AgentRun(id="run_x", user_message_id="msg_a", state="completed")
    assert live.chat.agent_data.memory == {"a": 1}
    (stored,) = live.messages
    assert stored.content[0].tool_calls == [
        ToolCall(id="c1", function=ToolCallFunction(name="lookup", arguments={"q": "x"}))
    ]
    (call,) = live.invocations.values()
    assert call._started and call.result == "found" and call.function.name == "lookup"
    dto = hub.chat_dto(live)
    assert dto.chat_messages is not None
    (sent_call,) = dto.chat_messages[0].tool_invocations or []
    assert sent_call.result == "found"
    hub.store.close()


def test_a_failed_chat_write_leaves_the_records_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = ChatHub(ChatStore(tmp_path / "p.db"))
    live = hub.create_chat(name="x", _config=_config())
    message = hub.add_message(live, role="assistant", status="pending")
    invocation = hub.add_invocation(
        live, message, type="client", function=ToolCallFunction(name="lookup")
    )
    before = (msgspec.structs.asdict(live.chat), msgspec.structs.asdict(invocation))

    def full_disk(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    for name in ("save_chat", "save_message", "save_invocation"):
        monkeypatch.setattr(hub.store, name, full_disk)
    with pytest.raises(sqlite3.OperationalError):
        hub.update_chat(live, status="busy", _steps=4)
    with pytest.raises(sqlite3.OperationalError):
        hub.update_invocation(live, invocation, status="in_progress", _started=True)
    with pytest.raises(sqlite3.OperationalError):
        hub.update_message(live, message, status="ready")
    with pytest.raises(sqlite3.OperationalError):
        hub.add_message(live, role="user", status="ready")
    assert (msgspec.structs.asdict(live.chat), msgspec.structs.asdict(invocation)) == before
    assert message.status == "pending" and len(live.messages) == 1
    monkeypatch.undo()
    hub.store.close()
    reloaded = ChatHub(ChatStore(tmp_path / "p.db")).get(live.chat.id)
    assert reloaded is not None
    assert reloaded.chat == live.chat and reloaded.messages == live.messages
    assert list(reloaded.invocations.values()) == [invocation]
    assert reloaded.chat.status == "idle" and reloaded.chat._steps == 0


def test_a_hub_change_to_an_unknown_field_is_refused(tmp_path: Path) -> None:
    hub = ChatHub(ChatStore(tmp_path / "p.db"))
    live = hub.create_chat(name="x")
    with pytest.raises(TypeError):
        hub.update_chat(live, no_such_field=1)
    hub.store.close()


def test_the_reserve_is_looked_at_after_a_release_and_otherwise_rarely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserve = SpaceReserve(tmp_path / "reserve", size=4096)
    assert reserve.ensure()
    looks: list[Path] = []
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:
        looks.append(path)
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    for _ in range(100):  # every task's end asks
        reserve.restore_later()
    assert looks.count(reserve.path) <= 1
    assert reserve.release()
    reserve.restore_later()  # right after a release: taken back at once
    assert real_is_file(reserve.path)

"""The agent loop's parts on their own: template files, tool collection, arguments, the store and
the tool-invocation status machine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from inferencesh.core.chat import ChatMessageContent
from inferencesh.platform.agents.hub import ChatHub, TransitionError, can_move
from inferencesh.platform.agents.internal_tools import ToolFailure
from inferencesh.platform.agents.loop import AgentRuntime, RequestError, normalize_config
from inferencesh.platform.agents.store import ChatStore
from inferencesh.platform.agents.templates import TemplateError, TemplateRegistry, split_ref
from inferencesh.platform.agents.tool_calls import ConfigError, collect_tools, parse_arguments
from inferencesh.platform.config import AppEntry
from inferencesh.platform.refs import Aliases, AppResolver

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "agents"


def test_split_ref() -> None:
    assert split_ref("my-team/support@latest") == ("my-team", "support")
    assert split_ref("support") == ("local", "support")
    with pytest.raises(TemplateError, match="empty"):
        split_ref("@v1")


def test_templates_resolve_by_namespace_and_name(tmp_path: Path) -> None:
    (tmp_path / "support.yaml").write_text(
        "namespace: my-team\nsystem_prompt: Hi\ncore_app: {ref: local/m}\n"
    )
    (tmp_path / "other.json").write_text('{"core_app": {"ref": "local/m"}}')
    registry = TemplateRegistry([tmp_path])
    config = registry.resolve("my-team/support@v3")
    assert config["system_prompt"] == "Hi" and config["name"] == "support"
    assert "namespace" not in config
    assert registry.resolve("local/other")["core_app"] == {"ref": "local/m"}
    with pytest.raises(TemplateError) as info:
        registry.resolve("local/support")
    assert "known agents: local/other, my-team/support" in str(info.value)


def test_template_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("core_app: [unclosed\n")
    with pytest.raises(TemplateError, match=r"broken\.yaml"):
        TemplateRegistry([tmp_path]).resolve("local/broken")
    (tmp_path / "broken.yaml").write_text("system_prompt: no model\n")
    with pytest.raises(TemplateError, match=r"broken\.yaml needs core_app\.ref"):
        TemplateRegistry([tmp_path]).resolve("local/broken")


def test_aliases_map_cloud_refs_to_local_apps(tmp_path: Path) -> None:
    (tmp_path / "aliases.yaml").write_text("infsh/flux-schnell: local/image-gen\n")
    # The alias files in agents directories join the platform's resolver (used by /apps/run).
    resolver = AppResolver(
        [AppEntry(name, tmp_path) for name in ("image-gen", "scripted-model", "hello")],
        Aliases(dirs=[EXAMPLES, tmp_path]),
    )
    assert resolver.resolve("infsh/flux-schnell@latest").app.name == "image-gen"
    assert resolver.resolve("infsh/claude-sonnet-4@latest").app.name == "scripted-model"
    assert resolver.resolve("local/hello").app.name == "hello"
    registry = TemplateRegistry([EXAMPLES, tmp_path])
    with pytest.raises(TemplateError):
        registry.resolve("local/aliases")  # not an agent


def test_example_agents_are_valid() -> None:
    registry = TemplateRegistry([EXAMPLES])
    for name in ("assistant", "openai-assistant", "researcher"):
        config = normalize_config(registry.resolve(f"local/{name}"))
        collect_tools(config, is_child=name == "researcher")


def _config(**extra: Any) -> dict[str, Any]:
    return {"core_app": {"ref": "local/m"}, **extra}


def test_default_internal_tools() -> None:
    top = collect_tools(_config(), is_child=False)
    assert list(top) == [
        "plan_create",
        "plan_update",
        "plan_load",
        "memory_set",
        "memory_get",
        "memory_getall",
    ]
    child = collect_tools(_config(internal_tools={"plan": False, "memory": False}), is_child=True)
    assert list(child) == ["finish"]
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    shaped = collect_tools(
        _config(output_schema=schema, internal_tools={"plan": False}), is_child=False
    )
    assert shaped["finish"].parameters == schema


def test_skills_and_capability_tools() -> None:
    specs = collect_tools(
        _config(
            internal_tools={"plan": False, "memory": False, "web_search": True},
            skills=[
                {"name": "a", "description": "A", "content": "x", "preload": True},
                {"name": "b", "description": "B", "url": "http://127.0.0.1/b.md"},
            ],
        ),
        is_child=False,
    )
    assert list(specs) == ["skill_get", "web_search"]
    assert (
        "- b: B" in specs["skill_get"].description and "- a:" not in specs["skill_get"].description
    )
    assert (
        specs["web_search"].type == "app"
        and specs["web_search"].config["ref"] == "local/web-search"
    )


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([{"name": "a b", "type": "client"}], "tools[0].name"),
        ([{"name": "a", "type": "magic"}], "tools[0].type must be one of"),
        ([{"name": "a", "type": "app", "app": {}}], "tools[0].app.ref"),
        ([{"name": "a", "type": "agent"}], "tools[0].agent.ref"),
        ([{"name": "a", "type": "hook", "hook": {"secret": "S"}}], "tools[0].hook.url"),
        ([{"name": "a", "type": "client"}, {"name": "a", "type": "client"}], "two tools are named"),
        ([{"name": "plan_load", "type": "client"}], "two tools are named 'plan_load'"),
        (["calc"], "tools[0] must be an object"),
    ],
)
def test_bad_tools_are_named(tools: list[Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        collect_tools(_config(tools=tools), is_child=False)


def test_normalize_config_folds_model_settings_and_checks_skills() -> None:
    config = normalize_config(_config(temperature=0.7, max_tokens=4096))
    assert config["model_settings"] == {"temperature": 0.7, "max_tokens": 4096}
    assert "temperature" not in config
    with pytest.raises(RequestError, match=r"skills\[0\] \(s\) needs content or url"):
        normalize_config(_config(skills=[{"name": "s"}]))
    with pytest.raises(RequestError, match=r"core_app\.ref"):
        normalize_config({"core_app": "local/m"})


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [(None, {}), ("", {}), ("{}", {}), ("null", {}), ('{"a": 1}', {"a": 1}), ({"b": 2}, {"b": 2})],
)
def test_arguments_accept_objects_and_json_strings(raw: Any, parsed: dict[str, Any]) -> None:
    assert parse_arguments(raw) == parsed


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", 5])
def test_bad_arguments_say_why(raw: Any) -> None:
    with pytest.raises(ToolFailure):
        parse_arguments(raw)


def test_invocation_status_machine() -> None:
    assert can_move("pending", "awaiting_approval")
    assert can_move("awaiting_approval", "in_progress")
    assert not can_move("awaiting_approval", "completed")
    assert not can_move("completed", "in_progress")
    assert can_move("in_progress", "awaiting_input") and can_move("awaiting_input", "completed")


def test_store_keeps_records_across_connections(tmp_path: Path) -> None:
    db = tmp_path / "platform.db"
    hub = ChatHub(ChatStore(db))
    live = hub.create_chat(name="x", _config={"core_app": {"ref": "local/m"}})
    message = hub.add_message(live, role="assistant", status="pending")
    invocation = hub.add_invocation(
        live,
        message,
        tool_invocation_id="c1",
        type="client",
        function={"name": "t", "arguments": {}},
    )
    hub.update_invocation(live, invocation, status="awaiting_approval")
    with pytest.raises(TransitionError, match="awaiting_approval to completed"):
        hub.update_invocation(live, invocation, status="completed")
    hub.update_chat(live, status="awaiting_input")
    hub.store.close()

    again = ChatHub(ChatStore(db))
    assert again.store.chats_with_status("awaiting_input") == [live.chat["id"]]
    restored = again.get(live.chat["id"])
    assert restored is not None
    dto = again.chat_dto(restored)
    assert "_config" not in dto
    (restored_message,) = dto["chat_messages"]
    (restored_invocation,) = restored_message["tool_invocations"]
    assert restored_invocation["status"] == "awaiting_approval"
    found = again.find_invocation(invocation["id"])
    assert found is not None and found[1]["tool_invocation_id"] == "c1"
    again.store.close()


async def test_a_failing_tool_call_cancels_its_siblings() -> None:
    from inferencesh.platform.agents.loop import _all_or_none

    sibling_cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            sibling_cancelled.set()
            raise

    async def broken() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await _all_or_none([slow(), broken()])
    assert sibling_cancelled.is_set()


class _StreamingRunner:
    """Plays a model task that streams its reply in ``pieces`` updates."""

    def __init__(self, pieces: int) -> None:
        self.pieces = pieces

    async def run(
        self,
        body: dict[str, Any],
        *,
        on_created: Any = None,
        on_update: Any = None,
        on_delta: Any = None,
    ) -> dict[str, Any]:
        task: dict[str, Any] = {"id": "task_1", "status": 7}
        await on_created("task_1")
        for n in range(1, self.pieces + 1):
            task["output"] = {"response": "x" * n}
            await on_update(task)
        return {**task, "status": 10}


async def test_streamed_reply_is_saved_once_not_per_piece(tmp_path: Path) -> None:
    runtime = AgentRuntime(
        db_path=tmp_path / "p.db", base_url="http://127.0.0.1:1", api_key="k", agents_dirs=[]
    )
    store = ChatStore(tmp_path / "p.db")
    hub = ChatHub(store)
    runtime._hub, runtime._runner = hub, _StreamingRunner(50)  # type: ignore[assignment]
    config = normalize_config({"core_app": {"ref": "local/m"}})
    live = hub.create_chat(_config=config)
    hub.add_message(live, role="user", status="ready", content=[{"type": "text", "text": "hi"}])
    head = hub.add_message(live, role="assistant", status="pending")
    saves: list[str] = []
    save_message = store.save_message

    def counting(message: dict[str, Any]) -> None:
        saves.append(msgspec.json.encode(message).decode())
        save_message(message)

    store.save_message = counting  # type: ignore[method-assign]
    assert await runtime._call_model(live, head, config, {}) == []
    assert len(saves) <= 3, f"{len(saves)} writes for one streamed reply"
    store.close()
    saved = ChatHub(ChatStore(tmp_path / "p.db")).get(live.chat["id"])
    assert saved is not None
    assert saved.messages[-1].content == [ChatMessageContent(type="text", text="x" * 50)]

"""The published ``inferencesh`` client's agent API (latest from PyPI, in its own virtual
environment ``.venvs/published``, shared with the platform's compatibility tests) runs unchanged
against the local agent loop: a template agent, and an ad-hoc agent with a client tool."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import agentloop_testkit as e2e
import pytest
from platform_testkit import PlatformFactory, run_published

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import inferencesh
    from inferencesh import inference, async_inference, tool, string

    base_url, api_key, scenario = sys.argv[1:4]
    client = inference(api_key=api_key, base_url=base_url)

    def plain(value):
        return getattr(value, "data", value)

    def text_of(message):
        return "".join(c.get("text") or "" for c in message["content"] if c.get("type") == "text")

    def settled(agent):
        deadline = time.time() + 30
        while time.time() < deadline:
            chat = plain(agent.get_chat())
            if chat["status"] in ("idle", "completed"):
                return chat
            time.sleep(0.05)
        raise SystemExit(f"chat never settled: {chat}")

    out = {"version": inferencesh.__version__}
    if scenario == "template":
        agent = client.agent("local/assistant")
        updates = []
        first = agent.send_message("hi there", on_message=lambda m: updates.append(text_of(m)))
        out["first_status"] = first["status"]
        out["streamed"] = [u for u in updates if u]
        chat = settled(agent)
        out["first"] = text_of(chat["chat_messages"][-1])
        agent.send_message("and again", on_message=lambda m: None)
        chat = settled(agent)
        out["second"] = text_of(chat["chat_messages"][-1])
        out["roles"] = [m["role"] for m in chat["chat_messages"]]
        agent.reset()
        out["after_reset"] = agent.chat_id
    elif scenario == "client_tool":
        lookup = tool("lookup").describe("Look a word up").param("word", string("The word")).build()
        agent = client.agent({
            "name": "published-client-tool",
            "core_app": {"ref": "local/scripted-model", "input": {"script": [
                {"tool_calls": [{"name": "lookup", "arguments": {"word": "ion"}}]},
                {"text": "It means: {{tool_results}}"},
            ]}},
            "system_prompt": "Use the lookup tool.",
            "tools": [lookup],
        })
        calls = []

        def on_tool_call(call):
            calls.append({"name": call.name, "args": call.args})
            agent.submit_tool_result(call.id, "a charged particle")

        agent.send_message("what is an ion?", on_tool_call=on_tool_call)
        chat = settled(agent)
        out["calls"] = calls
        out["final"] = text_of(chat["chat_messages"][-1])
        inv = chat["chat_messages"][1]["tool_invocations"][0]
        out["invocation"] = {"status": inv["status"], "result": inv["result"], "type": inv["type"]}
    elif scenario == "approval":
        from inferencesh import app_tool
        from inferencesh.agent import pending_approvals
        write = app_tool("write", "local/hello").describe("Write").require_approval().build()
        agent = client.agent({
            "core_app": {"ref": "local/scripted-model", "input": {"script": [
                {"tool_calls": [{"name": "write", "arguments": {"prompt": "an ode"}}]},
                {"text": "Done: {{tool_results}}"},
            ]}},
            "tools": [write],
        })
        agent.send_message("write an ode")
        deadline = time.time() + 30
        while time.time() < deadline:
            chat = plain(agent.get_chat())
            waiting = pending_approvals(chat)
            if waiting:
                break
            time.sleep(0.05)
        out["pending"] = [
            {"tool_name": p.tool_name, "arguments": p.arguments, "chat_id": p.chat_id}
            for p in waiting
        ]
        agent.approve_tool(waiting[0].tool_invocation_id)
        chat = settled(agent)
        out["final"] = text_of(chat["chat_messages"][-1])
    elif scenario == "async":
        async def main():
            aclient = async_inference(api_key=api_key, base_url=base_url)
            agent = aclient.agent("local/assistant")
            seen = []
            await agent.send_message(
                "async hi", on_message=lambda m: seen.append((m["role"], m["status"], text_of(m)))
            )
            chat = plain(await agent.get_chat())
            return {
                "final": text_of(chat["chat_messages"][-1]),
                "seen": seen,
                "chat": chat,
            }
        out.update(asyncio.run(main()))
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS])
    yield server
    server.close()


def scenario(published: Path, platform: Any, name: str, tmp_path: Path) -> dict[str, Any]:
    return run_published(published, SCRIPT, [platform.base_url, e2e.KEY, name], tmp_path)


def test_template_agent(published_python: Path, platform: Any, tmp_path: Path) -> None:
    out = scenario(published_python, platform, "template", tmp_path)
    assert out["first_status"] == "pending"
    assert out["streamed"][-1] == "Hello! You said: hi there"
    assert out["first"] == "Hello! You said: hi there"
    assert out["second"] == (
        "Earlier in this chat: user: hi there | assistant: Hello! You said: hi there | "
        "user: and again"
    )
    assert out["roles"] == ["user", "assistant", "user", "assistant"]
    assert out["after_reset"] is None


def test_ad_hoc_agent_with_a_client_tool(
    published_python: Path, platform: Any, tmp_path: Path
) -> None:
    out = scenario(published_python, platform, "client_tool", tmp_path)
    assert out["calls"] == [{"name": "lookup", "args": {"word": "ion"}}]
    assert out["invocation"] == {
        "status": "completed",
        "result": "a charged particle",
        "type": "client",
    }
    assert out["final"] == "It means: a charged particle"


def test_async_agent(published_python: Path, platform: Any, tmp_path: Path) -> None:
    out = scenario(published_python, platform, "async", tmp_path)
    assert out["final"] == "Hello! You said: async hi", out["chat"]
    assert out["seen"][-1] == ["assistant", "ready", "Hello! You said: async hi"], out["seen"]


def test_approval_with_pending_approvals(
    published_python: Path, platform: Any, tmp_path: Path
) -> None:
    out = scenario(published_python, platform, "approval", tmp_path)
    (pending,) = out["pending"]
    assert pending["tool_name"] == "write" and pending["arguments"] == {"prompt": "an ode"}
    assert out["final"].startswith("Done: Task ") and "local/hello completed" in out["final"]

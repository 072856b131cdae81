"""Agent calls written for the published SDK 0.36 (its argument names and positions) do what
they did there: the requests sent, the context kept, the ids and results used."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from inferencesh import Agent, ToolCallInfo
from inferencesh.core import Inference


def test_constructor_and_client_take_036_options_and_context(client: Inference) -> None:
    for agent in (
        Agent(client, "ns/a@1", {"user": "u1"}),
        Agent(client, options="ns/a@1", context={"user": "u1"}),
        client.agent("ns/a@1", {"user": "u1"}),
        client.agent(config="ns/a@1", context={"user": "u1"}),
    ):
        assert agent._state.spec.ref == "ns/a@1"
        assert agent._context == {"user": "u1"}
    with pytest.raises(TypeError, match=r"both `config` and its 0\.36 name `options`"):
        Agent(client, "ns/a@1", options="ns/b@1")
    with pytest.raises(TypeError, match="missing argument `config`"):
        Agent(client)
    with pytest.raises(TypeError, match="both `config_or_ref` and `config`"):
        client.agent("ns/a@1", config="ns/b@1")


def test_tool_answers_take_036_names(client: Inference, script: Any) -> None:
    agent = client.agent("ns/a@1")
    for call_id in ("t1", "t2", "t3", "t4"):
        script.accept("POST", f"/tools/{call_id}")
    script.accept("POST", "/tools/t5/invoke")
    script.accept("POST", "/tools/t6/reject")
    ref = {"uri": "https://files.example.invalid/a.png", "filename": "a.png"}
    agent.submit_tool_result("t1", "done", [ref])
    agent.submit_tool_result(tool_invocation_id="t2", result_or_action={"action": "ok"})
    agent.submit_tool_result("t3", result_or_action="x")
    agent.submit_tool_result(tool_invocation_id="t4", result="y")
    agent.approve_tool(tool_invocation_id="t5")
    agent.reject_tool(tool_invocation_id="t6", reason="no")
    assert script.bodies("POST", "/tools/t1") == [{"result": "done", "attachments": [ref]}]
    assert script.bodies("POST", "/tools/t2") == [{"result": '{"action":"ok"}'}]
    assert script.bodies("POST", "/tools/t3") == [{"result": "x"}]
    assert script.bodies("POST", "/tools/t4") == [{"result": "y"}]
    assert script.bodies("POST", "/tools/t6/reject") == [{"reason": "no"}]
    with pytest.raises(TypeError, match="missing argument `result`"):
        agent.submit_tool_result("t9")
    with pytest.raises(Exception, match="FileRef dict with a `uri`"):
        agent.submit_tool_result("t9", "r", ["/local/path.png"])


def test_channel_context_is_ignored_with_a_warning(client: Inference, httpx_mock: Any) -> None:
    httpx_mock.add_exception(ConnectionError("no server here"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Exception, match="no server here"):
            client.agent("ns/a@1").send_message("hi", None, None, None, None, {"slack": 1})
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_tool_call_info_from_036_fields() -> None:
    info = ToolCallInfo("call_1", "weather", {"city": "Paris"})
    assert (info.id, info.name, info.args, info.requires_approval) == (
        "call_1",
        "weather",
        {"city": "Paris"},
        False,
    )
    assert info.invocation.function.name == "weather"
    assert ToolCallInfo(id="c2", name="n", args=None).args == {}
    with pytest.raises(TypeError, match="an id, name and args"):
        ToolCallInfo("c3")

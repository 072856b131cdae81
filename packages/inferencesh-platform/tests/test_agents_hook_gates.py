"""Parked tool calls and overrides of lifecycle hooks: a gate that nobody settles resolves by
itself at its timeout (``default_resolution``, deny when none is given), ``override`` replaces
a call's arguments (kept across a restart) or its result (before the model reads it). Real
webhook servers on 127.0.0.1 and the real platform."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from agentloop_testkit import AGENTS, Platform, invocations, last_reply, text_of
from inferencesh import HookEvent, lifecycle_hook
from test_agents_hooks import HookServer, hooks, memory_turn, platform, run

__all__ = ["hooks", "platform"]  # the fixtures, shared with test_agents_hooks


def _parked(platform: Platform, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Start a turn whose one call a hook parks; the chat id and the parked invocation."""
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    (inv,) = invocations(chat)
    assert inv["status"] == "awaiting_approval"
    return chat_id, chat


def test_a_gate_nobody_settles_denies_at_its_timeout(platform: Platform) -> None:
    gate = {"event": "agent.tool_call", "type": "gate", "handler": "review", "timeout": 1}
    started = time.monotonic()
    chat = run(platform, memory_turn(gate))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert inv["result"] == (
        "Rejected automatically: nobody decided within 1 s on the call gate hook 'review' on "
        "agent.tool_call parked (default_resolution deny)"
    )
    assert time.monotonic() - started >= 1
    assert chat["agent_data"]["memory"] == {}  # the call never ran
    assert text_of(last_reply(chat)) == "done: " + inv["result"]
    assert chat["status"] == "idle" and chat["pending_interrupts"] == []


def test_a_suspend_with_default_allow_runs_the_call_at_its_timeout(
    platform: Platform, hooks: HookServer
) -> None:
    hooks.replies["susp-allow"] = {"decision": "suspend", "reason": "a person may look"}
    hook = {
        **lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("susp-allow")).timeout(1).build(),
        "default_resolution": "allow",
    }
    chat = run(platform, memory_turn(hook))
    (inv,) = invocations(chat)
    assert inv["status"] == "completed"
    assert chat["agent_data"]["memory"] == {"k": "v"}
    assert last_reply(chat)["status"] == "ready"


def test_a_parked_call_names_its_deadline_and_a_person_may_still_decide(
    platform: Platform,
) -> None:
    gate = {
        "event": "agent.tool_call",
        "type": "gate",
        "handler": "review",
        "timeout": 120,
        "default_resolution": "allow",
    }
    chat_id, chat = _parked(platform, memory_turn(gate))
    (interrupt,) = chat["pending_interrupts"]
    expires = datetime.strptime(interrupt["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    left = expires.replace(tzinfo=timezone.utc).timestamp() - time.time()
    assert 60 < left <= 120
    assert chat["active_run"]["interrupt_reason"] == "tool_approval"
    platform.call("POST", f"/tools/{interrupt['resource_id']}/reject", {"reason": "no"})
    chat = platform.finish(chat_id)
    (inv,) = invocations(chat)
    assert (inv["status"], inv["result"]) == ("cancelled", "Rejected by the user: no")
    assert chat["agent_data"]["memory"] == {}


@pytest.mark.parametrize(
    ("override", "seen"),
    [("[redacted]", "[redacted]"), ({"stored": True}, '{"stored": true}')],
)
def test_an_override_at_tool_result_is_what_the_model_reads(
    platform: Platform, hooks: HookServer, override: Any, seen: str
) -> None:
    name = f"result-{type(override).__name__}"
    hooks.replies[name] = {"override": override}
    hook = lifecycle_hook(HookEvent.TOOL_RESULT).webhook(hooks.url(name)).build()
    chat = run(platform, memory_turn(hook))
    (inv,) = invocations(chat)
    assert (inv["status"], inv["result"]) == ("completed", seen)
    assert text_of(last_reply(chat)) == "done: " + seen
    # The hook was shown the tool's own result first.
    (payload,) = hooks.wait(name, 1)
    assert payload["data"]["result"] != seen and payload["data"]["status"] == "completed"


def test_an_override_at_tool_call_on_a_parked_call_is_what_runs(
    platform: Platform, hooks: HookServer
) -> None:
    hooks.replies["susp-over"] = {
        "decision": "suspend",
        "override": {"key": "k", "value": "safe"},
    }
    hook = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("susp-over")).build()
    chat_id, chat = _parked(platform, memory_turn(hook))
    (inv,) = invocations(chat)
    # The person approving sees the arguments that will run.
    assert inv["function"]["arguments"] == {"key": "k", "value": "safe"}
    assert chat["pending_interrupts"][0]["meta"]["arguments"] == {"key": "k", "value": "safe"}
    platform.call("POST", f"/tools/{inv['id']}/invoke")
    chat = platform.finish(chat_id)
    assert chat["agent_data"]["memory"] == {"k": "safe"}
    # The model's own call is kept in its message.
    calls = next(c for c in chat["chat_messages"][1]["content"] if c["type"] == "tool")
    assert calls["tool_calls"][0]["function"]["arguments"] == {"key": "k", "value": "v"}


def test_a_bad_default_resolution_is_refused(platform: Platform) -> None:
    hook = {"event": "agent.tool_call", "type": "gate", "handler": "g", "default_resolution": "ok"}
    response = platform.http.post(
        platform.url("/agents/run"),
        json={"agent_config": memory_turn(hook), "input": {"text": "go"}},
    )
    assert response.status_code == 400
    assert "agent_config.hooks[0].default_resolution 'ok' is not one of allow, deny" in (
        response.text
    )


def test_a_parked_call_keeps_its_arguments_and_deadline_across_a_restart(
    tmp_path: Path, hooks: HookServer
) -> None:
    hooks.replies["restart"] = {"decision": "suspend", "override": {"key": "k", "value": "kept"}}
    hook = {
        **lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("restart")).timeout(3).build(),
        "default_resolution": "allow",
    }
    server = Platform(tmp_path / "data", [AGENTS], {})
    server.start()
    try:
        chat_id, _ = _parked(server, memory_turn(hook))
    finally:
        server.stop(kill=True)  # a crash: the override lives only in the store now
    time.sleep(3)  # the deadline passes while the platform is down
    server.start()
    try:
        chat = server.finish(chat_id)
        (inv,) = invocations(chat)
        assert inv["status"] == "completed"
        assert chat["agent_data"]["memory"] == {"k": "kept"}
        assert last_reply(chat)["status"] == "ready"
    finally:
        server.stop()

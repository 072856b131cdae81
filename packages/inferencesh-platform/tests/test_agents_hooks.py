"""Lifecycle hooks in the local agent loop: the real platform calls real webhook servers on
127.0.0.1 (and a template agent for a task hook) at the events of a run, and honours what
they answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from agentloop_testkit import AGENTS, Platform, call, invocations, last_reply, scripted, text_of
from inferencesh import HookEvent, learning_hooks, lifecycle_hook
from platform_testkit import OWN, PlatformFactory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SECRET = "hook-s3cret"
AGENT_FILES = {
    "agents/gatekeeper.yaml": (
        "core_app:\n"
        "  ref: local/scripted-model\n"
        "  input:\n"
        "    script:\n"
        '      - text: \'{"decision": "deny", "reason": "the gatekeeper says no"}\'\n'
    ),
}


class HookServer:
    """Webhook endpoints ``/h/{name}`` answering what a test sets in ``replies[name]``: a JSON
    object, ``("status", code)``, ``("sleep", seconds)`` or ``("text", body)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        self.replies: dict[str, Any] = {}

        async def hook(request: Request) -> Response:
            name = request.path_params["name"]
            body = await request.body()
            self.calls.append((name, dict(request.headers), body))
            reply = self.replies.get(name, {})
            if isinstance(reply, tuple):
                kind, value = reply
                if kind == "status":
                    return PlainTextResponse("broken", status_code=value)
                if kind == "sleep":
                    await asyncio.sleep(value)
                    return JSONResponse({})
                return PlainTextResponse(value)
            return JSONResponse(reply)

        app = Starlette(routes=[Route("/h/{name}", hook, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> HookServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def url(self, name: str) -> str:
        return f"{self.base_url}/h/{name}"

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(body) for n, _, body in self.calls if n == name]

    def wait(self, name: str, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while len(self.payloads(name)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.payloads(name)


@pytest.fixture(scope="module")
def hooks() -> Iterator[HookServer]:
    with HookServer() as server:
        yield server


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Platform]:
    server = Platform.shared(
        local_platform,
        [AGENTS, OWN / "agents"],
        {"MY_HOOK_SECRET": SECRET},
        files=AGENT_FILES,
    )
    yield server
    server.close()


def memory_turn(*hooks: dict[str, Any], text: str = "done: {{tool_results}}") -> dict[str, Any]:
    """An agent that calls memory_set once, then replies ``text``."""
    return scripted(
        {"tool_calls": [call("memory_set", key="k", value="v")]},
        {"text": text},
        internal_tools={"plan": False, "memory": True},
        hooks=list(hooks),
    )


def run(platform: Platform, config: dict[str, Any]) -> dict[str, Any]:
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    return platform.finish(reply["assistant_message"]["chat_id"])


def test_hooks_fire_at_each_event_with_the_payload_signed(
    platform: Platform, hooks: HookServer
) -> None:
    every = [
        lifecycle_hook(event).webhook(hooks.url("all")).secret("MY_HOOK_SECRET").build()
        for event in HookEvent
    ]
    chat = run(platform, memory_turn(*every))
    got = hooks.wait("all", 9)
    assert [p["event"] for p in got] == [
        "agent.start",
        "agent.turn_start",
        "agent.tool_call",
        "agent.tool_result",
        "agent.turn_complete",
        "agent.turn_start",
        "agent.turn_complete",
        "agent.complete",
        "agent.idle",
    ]
    assert {p["chat_id"] for p in got} == {chat["id"]}
    assert {p["agent_id"] for p in got} == {chat["agent_id"]}
    assert len({p["run_id"] for p in got}) == 1 and got[0]["run_id"]
    assert [p["turn_count"] for p in got[1:3]] == [0, 1]
    assert got[2]["data"] == {"tool": "memory_set", "arguments": {"key": "k", "value": "v"}}
    assert got[3]["data"] == {
        "tool": "memory_set",
        "status": "completed",
        "result": got[3]["data"]["result"],
    }
    assert all(p["timestamp"] for p in got)
    for name, headers, body in hooks.calls:
        if name == "all":
            assert headers["x-hook-secret"] == SECRET
            digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-webhook-signature"] == f"sha256={digest}"
    assert last_reply(chat)["status"] == "ready"


def test_deny_gives_the_model_the_reason_and_cancels_the_call(
    platform: Platform, hooks: HookServer
) -> None:
    hooks.replies["deny"] = {"decision": "deny", "reason": "memory is read-only today"}
    gate = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("deny")).build()
    chat = run(platform, memory_turn(gate))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert inv["result"] == (
        f"Denied by the lifecycle hook (webhook hook {hooks.url('deny')!r} on agent.tool_call)"
        ": memory is read-only today"
    )
    assert text_of(last_reply(chat)) == "done: " + inv["result"]
    assert chat["agent_data"]["memory"] == {}  # the call never ran
    assert chat["status"] == "idle"


def test_stop_ends_the_run(platform: Platform, hooks: HookServer) -> None:
    hooks.replies["stop"] = {"decision": "stop", "reason": "enough"}
    gate = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("stop")).build()
    chat = run(platform, memory_turn(gate))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert inv["result"].startswith("Stopped by the lifecycle hook")
    reply = last_reply(chat)
    assert reply["status"] == "cancelled"
    assert "enough" in reply["content"][-1]["error"]
    assert chat["active_run"]["state"] == "canceled"


def test_suspend_parks_the_call_for_approval(platform: Platform, hooks: HookServer) -> None:
    hooks.replies["suspend"] = {"decision": "suspend", "reason": "ask a person"}
    gate = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("suspend")).build()
    reply = platform.run({"agent_config": memory_turn(gate), "input": {"text": "go"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    (inv,) = invocations(chat)
    assert inv["status"] == "awaiting_approval"
    platform.call("POST", f"/tools/{inv['id']}/invoke")
    chat = platform.finish(chat_id)
    assert invocations(chat)[0]["status"] == "completed"
    assert chat["agent_data"]["memory"] == {"k": "v"}


@pytest.mark.parametrize(
    ("reply", "timeout", "reason"),
    [
        (("sleep", 5), 1, "did not answer within 1 s"),
        (("status", 500), None, "answered HTTP 500: broken"),
        (("text", "sure, go ahead"), None, "answered no JSON"),
        ({"decision": "maybe"}, None, "answered the unknown decision 'maybe'"),
    ],
)
def test_a_gating_hook_that_fails_denies(
    platform: Platform, hooks: HookServer, reply: Any, timeout: int | None, reason: str
) -> None:
    name = f"fail{abs(hash(repr(reply)))}"
    hooks.replies[name] = reply
    builder = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url(name))
    if timeout:
        builder.timeout(timeout)
    chat = run(platform, memory_turn(builder.build()))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert "the hook failed (fail closed)" in inv["result"]
    assert reason in inv["result"]
    assert chat["agent_data"]["memory"] == {}


def test_an_unset_secret_fails_closed(platform: Platform, hooks: HookServer) -> None:
    gate = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("nosecret")).secret("UNSET_X")
    chat = run(platform, memory_turn(gate.build()))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert "needs the secret 'UNSET_X'" in inv["result"]
    assert hooks.payloads("nosecret") == []


def test_async_hooks_never_gate(platform: Platform, hooks: HookServer) -> None:
    hooks.replies["async"] = {"decision": "deny", "reason": "ignored"}
    gate = lifecycle_hook(HookEvent.TOOL_CALL).webhook(hooks.url("async")).async_().build()
    chat = run(platform, memory_turn(gate))
    assert invocations(chat)[0]["status"] == "completed"
    assert chat["agent_data"]["memory"] == {"k": "v"}
    assert len(hooks.wait("async", 1)) == 1  # it was still called


def test_a_context_injection_reaches_the_next_model_call(
    platform: Platform, hooks: HookServer
) -> None:
    hooks.replies["inject"] = {
        "inject": {"content": "Remember: the user likes blue.", "items": ["a", "b"]}
    }
    hook = lifecycle_hook(HookEvent.TURN_START).webhook(hooks.url("inject")).build()
    config = scripted({"text": "PROMPT[{{system_prompt}}]"}, system_prompt="Base.", hooks=[hook])
    chat = run(platform, config)
    assert text_of(last_reply(chat)) == (
        "PROMPT[Base.\n\nRemember: the user likes blue.\n- a\n- b]"
    )


def test_turn_start_deny_fails_the_run_and_fires_the_error_hook(
    platform: Platform, hooks: HookServer
) -> None:
    hooks.replies["tsdeny"] = {"decision": "deny", "reason": "over budget"}
    config = scripted(
        {"text": "never"},
        hooks=[
            lifecycle_hook(HookEvent.TURN_START).webhook(hooks.url("tsdeny")).build(),
            lifecycle_hook(HookEvent.AGENT_ERROR).webhook(hooks.url("err")).build(),
        ],
    )
    chat = run(platform, config)
    reply = last_reply(chat)
    assert reply["status"] == "failed"
    assert "denied" in reply["content"][-1]["error"]
    assert "over budget" in reply["content"][-1]["error"]
    (error,) = hooks.wait("err", 1)
    assert "over budget" in error["data"]["error"]


def test_a_task_hook_asks_an_agent(platform: Platform) -> None:
    gate = lifecycle_hook(HookEvent.TOOL_CALL).task("local/gatekeeper").build()
    chat = run(platform, memory_turn(gate))
    (inv,) = invocations(chat)
    assert inv["status"] == "cancelled"
    assert inv["result"].endswith(": the gatekeeper says no")


def test_builtin_hooks_are_accepted_and_skipped(platform: Platform) -> None:
    chat = run(platform, memory_turn(*learning_hooks(suggest=True, learn=True)))
    assert invocations(chat)[0]["status"] == "completed"
    assert last_reply(chat)["status"] == "ready"


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ({"event": "agent.nope", "type": "webhook", "handler": "http://x"}, "event 'agent.nope'"),
        ({"event": "agent.start", "type": "webhook", "handler": "x"}, "webhook's http(s) URL"),
        ({"event": "agent.start", "type": "task", "handler": "not a ref"}, "name an agent"),
        ({"event": "agent.start", "type": "magic", "handler": "x"}, "type 'magic'"),
        ({"event": "agent.start", "type": "webhook", "handler": "http://x", "timeout": 0}, "1 to"),
    ],
)
def test_bad_hooks_are_refused(platform: Platform, hook: dict[str, Any], message: str) -> None:
    response = platform.http.post(
        platform.url("/agents/run"),
        json={"agent_config": scripted({"text": "x"}, hooks=[hook]), "input": {"text": "go"}},
    )
    assert response.status_code == 400
    assert "agent_config.hooks[0]" in response.text
    assert message in response.text

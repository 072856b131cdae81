"""The sync agent client against the chat protocol, with the platform's replies scripted.

pytest-httpx stands in for the platform here because these are the protocol's edge cases
(snapshots out of order, repeated events, dropped streams, HTTP errors mid-protocol) that a real
server does not produce on demand.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from inferencesh import tool
from inferencesh.agents import (
    Agent,
    AgentConfigError,
    AgentError,
    Agents,
    AgentTurnFailedError,
    MessageUpdate,
    ToolCallInfo,
    string,
)
from inferencesh.core import Inference
from inferencesh.core.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    NotFoundError,
    RequirementsNotMetError,
)

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
PENDING = {"id": "a1", "order": 2, "role": "assistant", "status": "pending", "chat_id": "c1"}


def simple_turn(script: Any, text: str = "Hello there") -> None:
    """POST, GET (busy), a stream growing the reply then going idle."""
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy", [USER, PENDING]))
    s.stream(
        s.ndjson(
            {"type": "heartbeat"},
            ("chat_messages", s.msg("a1", 2, text=text[:3], status="pending")),
            ("chat_messages", s.msg("a1", 2, text=text, status="pending")),
            ("chats", s.chat("idle")),
            ("chat_messages", s.msg("a1", 2, text=text, status="ready")),
        )
    )


# ---- template and ad-hoc agents ---------------------------------------------------------------


def test_template_agent_multi_turn_reset_and_get_chat(client: Inference, script: Any) -> None:
    agent = client.agent("my-team/support-agent@latest")
    assert isinstance(agent, Agent)
    assert agent.chat_id is None
    simple_turn(script)
    response = agent.send_message("Hello!")
    assert response.text == "Hello there"
    assert response.status == "ready"
    assert response.chat_id == agent.chat_id == "c1"
    assert response["content"][0]["text"] == "Hello there"
    assert response.get("text") == "Hello there"
    assert str(response) == "Hello there"
    assert script.bodies("POST", "/agents/run") == [
        {"agent": "my-team/support-agent@latest", "input": {"text": "Hello!", "role": "user"}}
    ]

    # The second message continues the chat.
    s = script
    user2 = {**USER, "id": "u2", "order": 3}
    reply2 = {**PENDING, "id": "a2", "order": 4}
    s.run(user2, reply2)
    s.get_chat(
        s.chat(
            "idle",
            [
                USER,
                s.msg("a1", 2, text="Hello there"),
                user2,
                {**reply2, "status": "ready", "content": [{"type": "text", "text": "More"}]},
            ],
        )
    )
    response = agent.send_message("Tell me more")
    assert response.text == "More"
    assert script.bodies("POST", "/agents/run")[1]["chat_id"] == "c1"

    s.get_chat(s.chat("idle", [USER]))
    chat = agent.get_chat()
    assert chat is not None
    assert chat["id"] == "c1"
    assert chat.get("status") == "idle"

    # The seed's order: reset, then read the history of the chat just reset (issue 16, item 16).
    agent.reset()
    assert agent.chat_id is None
    s.get_chat(s.chat("idle", [USER]))
    history = agent.get_chat()
    assert history is not None and history["id"] == "c1"


def test_ad_hoc_agent_body_maps_model_settings(client: Inference, script: Any) -> None:
    calculator = (
        tool("calculate")
        .describe("Perform a calculation")
        .param("expression", string("Math"))
        .build()
    )
    agent = client.agents.create(
        {
            "name": "calc-bot",
            "core_app": {"ref": "infsh/claude-sonnet-4@latest"},
            "system_prompt": "You are a helpful assistant.",
            "tools": [calculator],
            "temperature": 0.7,
            "max_tokens": 4096,
        },
        context={"team": "a"},
    )
    simple_turn(script)
    agent.send_message("What is 25 * 4?")
    (body,) = script.bodies("POST", "/agents/run")
    assert body == {
        "agent_config": {
            "name": "calc-bot",
            "core_app": {
                "ref": "infsh/claude-sonnet-4@latest",
                "input": {"max_tokens": 4096, "temperature": 0.7},
            },
            "system_prompt": "You are a helpful assistant.",
            # Encoded from the AgentConfig struct: unset (None) fields are left out.
            "tools": [{k: v for k, v in calculator.items() if v is not None}],
        },
        "agent_name": "calc-bot",
        "input": {"text": "What is 25 * 4?", "role": "user"},
        "context": {"team": "a"},
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("support-agent", "invalid agent reference"),
        ({"system_prompt": "x"}, "needs core_app"),
        (
            {"core_app": {"ref": "nope"}},
            r"\$\.core_app\.ref must be a ref such as 'namespace/name'",
        ),
        ({"core_app": {"ref": "a/b"}, "temprature": 1}, r"unknown keys \['temprature'\]"),
        (
            {"core_app": {"ref": "a/b", "input": {"temperature": 0.1}}, "temperature": 0.9},
            "conflicts with core_app.input",
        ),
        (
            {"core_app": {"ref": "a/b"}, "tools": [{"type": "client"}]},
            r"\$\.tools\[0\]\.name is required",
        ),
        (
            {"core_app": {"ref": "a/b"}, "tools": [tool("x").build(), tool("x").build()]},
            "duplicate tool names",
        ),
        ({"core_app": {"ref": "a/b"}, "skills": [{"name": "s"}]}, "needs content, url or skill_id"),
        ({"core_app": {"ref": "a/b"}, "system_prompt": 3}, r"\$\.system_prompt"),
        (42, "template agent ref"),
    ],
)
def test_bad_agent_configs_fail_before_any_request(
    client: Inference, config: Any, message: str
) -> None:
    with pytest.raises(AgentConfigError, match=message):
        client.agent(config)


def test_one_tool_with_two_handlers_is_refused(client: Inference) -> None:
    def mine(**kwargs: Any) -> str:
        return "mine"

    def other(**kwargs: Any) -> str:
        return "other"

    config = {"core_app": {"ref": "a/b"}, "tools": [tool("x").handler(mine).build()]}
    # Whichever won, the other handler would never run without a word.
    with pytest.raises(AgentConfigError, match="tool 'x' has a handler of its own"):
        client.agent(config, handlers={"x": other})
    client.agent(config, handlers={"x": mine})  # the same function twice is no conflict


def test_agents_namespace_and_get_chat(client: Inference, script: Any) -> None:
    assert isinstance(client.agents, Agents)
    script.get_chat(script.chat("idle", [USER]), chat_id="c9")
    chat = client.agents.get_chat("c9")
    assert chat.chat_messages is not None
    assert chat.chat_messages[0].role == "user"


@pytest.mark.parametrize("bad", ["", "  ", 7])
def test_get_chat_validates_the_id_before_any_request(client: Inference, bad: Any) -> None:
    with pytest.raises(ValueError, match="chat_id"):
        client.agents.get_chat(bad)


def test_chat_ids_are_quoted_into_the_path(client: Inference, script: Any) -> None:
    for _ in range(2):
        script.get_chat(script.chat("idle", [USER]), chat_id="a%2Fb%3Fc")
    assert client.agents.get_chat("a/b?c").chat_messages is not None
    agent = client.agent("a/b")
    agent.chat_id = "a/b?c"
    assert agent.get_chat() is not None


# ---- streaming callbacks -----------------------------------------------------------------------


def test_seed_handle_message_prints_the_reply_once(
    client: Inference, script: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def handle_message(msg: Any) -> None:
        if msg.get("content"):
            print(msg["content"], end="", flush=True)

    simple_turn(script, "Quantum computers use qubits.")
    updates: list[MessageUpdate] = []
    agent = client.agent("my-team/support-agent@latest")
    agent.send_message(
        "Explain quantum computing",
        on_message=lambda m: (updates.append(m), handle_message(m)),
    )
    assert capsys.readouterr().out == "Quantum computers use qubits."
    assert [u.content for u in updates] == ["Qua", "ntum computers use qubits.", ""]
    assert [u.status for u in updates] == ["pending", "pending", "ready"]
    assert updates[-1].is_final
    assert updates[-1].text == "Quantum computers use qubits."


def test_snapshots_out_of_order_are_ordered_and_stale_ones_dropped(
    client: Inference, script: Any
) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    t0, t1, t2 = "2026-01-01T00:00:01Z", "2026-01-01T00:00:02.5Z", "2026-01-01T00:00:03.25Z"
    s.stream(
        s.ndjson(
            # The final answer (order 4) arrives before the tool message (order 3).
            ("chat_messages", s.msg("a3", 4, text="Final", status="ready", updated_at=t2)),
            ("chat_messages", s.msg("a1", 2, text="Let me check", status="ready", updated_at=t1)),
            # A stale snapshot of a1 (older timestamp, shorter text) must not win.
            ("chat_messages", s.msg("a1", 2, text="Let", status="pending", updated_at=t0)),
            ("chat_messages", s.msg("t1", 3, role="tool", text="42", status="ready")),
            # A late non-final snapshot of a finished message without timestamps: ignored too.
            ("chat_messages", s.msg("a3", 4, text="Fin", status="pending")),
            ("chats", s.chat("idle")),
        )
    )
    seen: list[tuple[str, str]] = []
    response = client.agent("a/b").send_message(
        "q", on_message=lambda m: seen.append((m.id, m.text))
    )
    assert response.text == "Final"
    assert [m.id for m in response.messages] == ["a1", "t1", "a3"]
    assert response.messages[0].text == "Let me check"
    assert seen == [("a3", "Final"), ("a1", "Let me check")]


def test_idle_before_the_final_snapshot_waits_for_it(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("idle", [USER, PENDING]))  # a stale idle from before the turn began
    s.stream(
        s.ndjson(
            ("chats", s.chat("busy")),
            ("chats", s.chat("idle")),
            ("chat_messages", s.msg("a1", 2, text="done", status="ready")),
        )
    )
    assert client.agent("a/b").send_message("q").text == "done"


# ---- tool calls -----------------------------------------------------------------------------


def tool_turn(script: Any, invocation: dict[str, Any], after: list[Any], repeats: int = 1) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    waiting = s.msg("a1", 2, text="Calling", status="pending", invocations=[invocation])
    events: list[Any] = [("chat_messages", waiting)] * repeats
    events += [("chats", s.chat("awaiting_input"))]
    events += [("chat_messages", waiting)] * repeats
    s.stream(s.ndjson(*events, *after))


def finish(script: Any, invocation: dict[str, Any]) -> list[Any]:
    s = script
    done = {**invocation, "status": "completed"}
    return [
        ("chats", s.chat("busy")),
        ("chat_messages", s.msg("a1", 2, text="Calling", invocations=[done])),
        ("chat_messages", s.msg("a2", 3, text="All done", status="ready")),
        ("chats", s.chat("idle")),
    ]


def test_client_tool_handler_runs_once_despite_duplicate_events(
    client: Inference, script: Any
) -> None:
    call = script.inv("t1", "greet", {"name": "Ada"}, "awaiting_input")
    tool_turn(script, call, finish(script, call), repeats=3)
    script.accept("POST", "/tools/t1")
    ran: list[dict[str, Any]] = []
    notified: list[ToolCallInfo] = []

    def greet(args: dict[str, Any]) -> dict[str, str]:
        ran.append(args)
        return {"greeting": f"Hello {args['name']}"}

    agent = client.agent(
        {
            "core_app": {"ref": "a/b"},
            "tools": [tool("greet").param("name", string()).handler(greet).build()],
        }
    )
    response = agent.send_message("greet Ada", on_tool_call=notified.append)
    assert response.text == "All done"
    assert ran == [{"name": "Ada"}]
    assert [(c.id, c.name, c.args, c.requires_approval) for c in notified] == [
        ("t1", "greet", {"name": "Ada"}, False)
    ]
    assert script.bodies("POST", "/tools/t1") == [{"result": '{"greeting":"Hello Ada"}'}]
    assert [i.id for i in response.tool_invocations] == ["t1"]
    # The wire arrives with the handler stripped.
    (body,) = script.bodies("POST", "/agents/run")
    assert "handler" not in body["agent_config"]["tools"][0]


def test_handler_from_function_and_failing_handler(client: Inference, script: Any) -> None:
    call = script.inv("t1", "divide", '{"a": 1, "b": 0}', "awaiting_input")
    tool_turn(script, call, finish(script, call))
    script.accept("POST", "/tools/t1")

    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [divide]})
    agent.send_message("1/0")
    assert script.bodies("POST", "/tools/t1") == [
        {"result": '{"error":"ZeroDivisionError: division by zero"}'}
    ]


def test_seed_streaming_tool_pattern_submits_from_the_callback(
    client: Inference, script: Any
) -> None:
    call = script.inv("t1", "lookup", {"q": "x"}, "awaiting_input")
    tool_turn(script, call, finish(script, call), repeats=2)
    script.accept("POST", "/tools/t1")
    agent = client.agent("my-org/assistant@latest")

    def handle_tool(call: Any) -> None:
        print(f"\n[Tool: {call.name}]")
        agent.submit_tool_result(call.id, f"result for {call.args['q']}")

    response = agent.send_message("look it up", on_tool_call=handle_tool)
    assert response.text == "All done"
    assert script.bodies("POST", "/tools/t1") == [{"result": "result for x"}]


@pytest.mark.parametrize("approved", [True, False])
def test_seed_human_approval_pattern(client: Inference, script: Any, approved: bool) -> None:
    s = script
    asking = s.inv("t1", "delete_files", {"glob": "/tmp/*"}, "awaiting_approval")
    if approved:
        running = {**asking, "status": "awaiting_input"}
        after = [
            ("chats", s.chat("busy")),
            (
                "chat_messages",
                s.msg("a1", 2, text="Calling", status="pending", invocations=[running]),
            ),
            ("chats", s.chat("awaiting_input")),
            *finish(s, asking),
        ]
        s.accept("POST", "/tools/t1/invoke")
        s.accept("POST", "/tools/t1")
    else:
        after = finish(s, {**asking, "status": "failed"})
        s.accept("POST", "/tools/t1/reject")
    tool_turn(s, asking, after)
    agent = client.agent("my-org/assistant@latest")
    prompts: list[str] = []

    def handle_tool(call: Any) -> None:
        if call.requires_approval:
            prompts.append(f"Allow {call.name}?")
            if approved:
                agent.submit_tool_result(call.id, {"deleted": 3})
            else:
                agent.submit_tool_result(call.id, {"error": "Denied by user"})

    response = agent.send_message("Delete all temp files", on_tool_call=handle_tool)
    assert response.text == "All done"
    assert prompts == ["Allow delete_files?"]
    if approved:
        assert s.bodies("POST", "/tools/t1/invoke") == [None]
        assert s.bodies("POST", "/tools/t1") == [{"result": '{"deleted":3}'}]
    else:
        assert s.bodies("POST", "/tools/t1/reject") == [{"reason": "Denied by user"}]


def test_unanswered_call_pauses_then_wait_resumes(client: Inference, script: Any) -> None:
    s = script
    asking = s.inv("t1", "deploy", {}, "awaiting_approval", display_name="Deploy")
    tool_turn(s, asking, [])
    agent = client.agent("a/b")
    paused = agent.send_message("ship it")
    assert paused.status == "awaiting_input"
    (pending,) = paused.pending_tool_calls
    assert (pending.id, pending.name, pending.requires_approval) == ("t1", "deploy", True)
    assert pending["display_name"] == "Deploy"

    s.accept("POST", "/chats/c1/tools/t1/always-allow")
    agent.always_allow(pending.id)
    assert s.bodies("POST", "/chats/c1/tools/t1/always-allow") == [{"tool_name": "deploy"}]
    s.get_chat(s.chat("idle", [USER, s.msg("a1", 2, text="Deployed")]))
    assert agent.wait().text == "Deployed"


def test_approve_reject_and_widget_action_bodies(client: Inference, script: Any) -> None:
    agent = client.agent("a/b")
    script.accept("POST", "/tools/t1/invoke")
    script.accept("POST", "/tools/t2/reject")
    script.accept("POST", "/tools/t3/reject")
    script.accept("POST", "/tools/t4")
    agent.approve_tool("t1")
    agent.reject_tool("t2", "not now")
    agent.reject_tool("t3")
    agent.submit_tool_result("t4", {"action": {"type": "confirm"}, "form_data": {"n": 1}})
    assert script.bodies("POST", "/tools/t2/reject") == [{"reason": "not now"}]
    assert script.bodies("POST", "/tools/t3/reject") == [{}]
    assert script.bodies("POST", "/tools/t4") == [
        {"result": '{"action":{"type":"confirm"},"form_data":{"n":1}}'}
    ]
    with pytest.raises(AgentError, match="no chat yet"):
        agent.always_allow("t5", "x")
    with pytest.raises(AgentError, match="JSON-serializable"):
        agent.submit_tool_result("t6", object())


# ---- resilience and errors --------------------------------------------------------------------


def test_dropped_stream_is_resumed_without_losing_or_repeating(
    client: Inference, script: Any
) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.dropping(
            s.ndjson(("chat_messages", s.msg("a1", 2, text="Hel", status="pending"))),
            b'{"event": "chat_messages", "data": {"id": "a1", "or',  # cut mid-line
        )
    )
    # Catch-up GET after the drop: the reply grew meanwhile.
    s.get_chat(s.chat("busy", [USER, s.msg("a1", 2, text="Hello wor", status="pending")]))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Hello wor", status="pending")),  # replayed
            ("chat_messages", s.msg("a1", 2, text="Hello world", status="ready")),
            ("chats", s.chat("idle")),
        )
    )
    pieces: list[str] = []
    response = client.agent("a/b").send_message("hi", on_message=lambda m: pieces.append(m.content))
    assert response.text == "Hello world"
    assert "".join(pieces) == "Hello world"
    assert pieces == ["Hel", "lo wor", "ld"]


def test_stream_closing_repeatedly_without_news_gives_up(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    for _ in range(3):
        s.get_chat(s.chat("busy"))
        s.stream(b"")
    agent = Agent(client, "a/b", max_reconnects=2)
    with pytest.raises(AgentError, match="closed 3 times in a row"):
        agent.send_message("hi")


def test_stream_dropping_repeatedly_raises_the_connection_error(
    client: Inference, script: Any
) -> None:
    s = script
    s.run(USER, PENDING)
    for _ in range(2):
        s.get_chat(s.chat("busy"))
        s.stream(s.dropping())
    with pytest.raises(APIConnectionError):
        Agent(client, "a/b", max_reconnects=1).send_message("hi")


@pytest.mark.parametrize(("status", "error"), [(401, AuthenticationError), (404, NotFoundError)])
def test_stream_http_error_is_raised(
    client: Inference, script: Any, status: int, error: type[APIError]
) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.mock.add_response(
        method="GET",
        url="http://127.0.0.1:8765/chats/c1/stream",
        status_code=status,
        json={"success": False, "error": {"code": "x", "message": "nope"}},
    )
    with pytest.raises(error) as info:
        client.agent("a/b").send_message("hi")
    assert info.value.status == status


def test_run_requirements_error_is_the_core_exception(client: Inference, script: Any) -> None:
    script.mock.add_response(
        method="POST",
        url="http://127.0.0.1:8765/agents/run",
        status_code=412,
        json={
            "satisfied": False,
            "errors": [{"type": "secret", "key": "ANTHROPIC_KEY", "message": "m"}],
        },
    )
    with pytest.raises(RequirementsNotMetError) as info:
        client.agent("a/b").send_message("hi")
    assert info.value.errors[0]["key"] == "ANTHROPIC_KEY"


def test_failed_turn_raises_with_the_response(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    failed = s.msg("a1", 2, status="failed")
    failed["content"] = [{"type": "text", "text": "partial", "error": "model overloaded"}]
    s.get_chat(s.chat("idle", [USER, failed]))
    with pytest.raises(AgentTurnFailedError, match="model overloaded") as info:
        client.agent("a/b").send_message("hi")
    assert info.value.response.text == "partial"
    assert isinstance(info.value, RuntimeError)


def test_empty_or_malformed_run_reply(client: Inference, script: Any) -> None:
    script.mock.add_response(method="POST", url="http://127.0.0.1:8765/agents/run", json=ok_none())
    with pytest.raises(AgentError, match="empty response"):
        client.agent("a/b").send_message("hi")
    script.run({"id": 3}, PENDING)
    with pytest.raises(AgentError, match="malformed POST /agents/run response"):
        client.agent("a/b").send_message("hi")


def ok_none() -> dict[str, Any]:
    return {"success": True, "status": 200, "data": None}


def test_cancelled_turn_returns_the_partial_reply(client: Inference, script: Any) -> None:
    s = script
    s.run(USER, PENDING)
    s.get_chat(s.chat("idle", [USER, s.msg("a1", 2, text="Half", status="cancelled")]))
    response = client.agent("a/b").send_message("hi")
    assert (response.status, response.text) == ("cancelled", "Half")


def test_without_a_chat(client: Inference) -> None:
    agent = client.agent("a/b")
    agent.stop_chat()  # nothing to stop: no request
    with pytest.raises(AgentError, match="no chat yet"):
        next(iter(agent.stream_messages()))
    with pytest.raises(AgentError, match="no turn in progress"):
        agent.wait()
    with pytest.raises(AgentError, match="message text"):
        agent.send_message(b"bytes")  # type: ignore[arg-type]


# ---- attachments, streams, stop ---------------------------------------------------------------


def test_attachments_are_uploaded_first(client: Inference, script: Any, tmp_path: Any) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG fake")
    uploads = []
    for name in ("f1", "f2", "f3"):
        url = f"http://127.0.0.1:8765/upload/{name}"
        uploads.append(url)
        script.mock.add_response(
            method="POST",
            url="http://127.0.0.1:8765/files",
            json=script.ok([{"id": name, "uri": f"https://files.test/{name}", "upload_url": url}]),
        )
        script.mock.add_response(method="PUT", url=url)
    simple_turn(script)
    agent = client.agent("a/b")
    with image.open("rb") as f:
        agent.send_message(
            "What's in these?",
            files=[
                b"raw bytes",
                "data:image/png;base64,iVBORw0KGgo=",
                f,
                "https://example.com/already-online.png",
            ],
        )
    (body,) = script.bodies("POST", "/agents/run")
    attachments = body["input"]["attachments"]
    assert [a["uri"] for a in attachments] == [
        "https://files.test/f1",
        "https://files.test/f2",
        "https://files.test/f3",
        "https://example.com/already-online.png",
    ]
    assert attachments[0]["id"] == "f1"
    puts = script.mock.get_requests(method="PUT")
    assert [r.content for r in puts] == [b"raw bytes", b"\x89PNG\r\n\x1a\n", b"\x89PNG fake"]
    with pytest.raises(AgentError, match="is not a file"):
        agent.send_message("x", files=[str(tmp_path / "missing.png")])


@pytest.mark.parametrize("kind", ["path", "file", "bytearray", "memoryview"])
def test_a_single_attachment_need_not_be_in_a_list(
    client: Inference, script: Any, tmp_path: Any, kind: str
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\nfake")
    url = "http://127.0.0.1:8765/upload/f1"
    script.mock.add_response(
        method="POST",
        url="http://127.0.0.1:8765/files",
        json=script.ok([{"id": "f1", "uri": "https://files.test/f1", "upload_url": url}]),
    )
    script.mock.add_response(method="PUT", url=url)
    simple_turn(script)
    single: Any = {
        "path": image,
        "file": io.BytesIO(b"\x89PNG\nfake"),
        "bytearray": bytearray(b"\x89PNG\nfake"),
        "memoryview": memoryview(b"\x89PNG\nfake"),
    }[kind]
    client.agent("a/b").send_message("What's this?", files=single)
    (body,) = script.bodies("POST", "/agents/run")
    assert [a["uri"] for a in body["input"]["attachments"]] == ["https://files.test/f1"]
    assert [r.content for r in script.mock.get_requests(method="PUT")] == [b"\x89PNG\nfake"]


def test_stream_messages_and_stream_chat(client: Inference, script: Any) -> None:
    s = script
    simple_turn(s)
    agent = client.agent("a/b")
    agent.send_message("hi")

    s.get_chat(s.chat("busy", [USER, s.msg("a1", 2, text="Hi", status="pending")]))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Hi", status="pending")),  # already seen
            ("chat_messages", s.msg("a1", 2, text="Hi!", status="ready")),
            ("chats", s.chat("idle")),
        )
    )
    messages = list(agent.stream_messages())
    assert [(m.id, m.text) for m in messages] == [("u1", ""), ("a1", "Hi"), ("a1", "Hi!")]

    s.get_chat(s.chat("idle", [USER, s.msg("a1", 2, text="Hi!")]))
    chats = list(agent.stream_chat())
    assert len(chats) == 1
    assert chats[0].status == "idle"
    assert [m.id for m in chats[0].chat_messages or []] == ["u1", "a1"]

    s.accept("POST", "/chats/c1/stop")
    agent.stop_chat()
    assert s.bodies("POST", "/chats/c1/stop") == [None]


def test_stream_messages_follow_stops_when_the_consumer_does(
    client: Inference, script: Any
) -> None:
    s = script
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    s.get_chat(s.chat("idle", [USER]))
    s.stream(s.ndjson(("chat_messages", s.msg("a1", 2, text="new", status="ready"))))
    stream = agent.stream_messages(follow=True)
    assert next(iter(stream)).id == "u1"
    assert next(iter(stream)).text == "new"
    stream.close()  # type: ignore[attr-defined]


def test_webhook_waiting_for_its_callback_is_not_the_clients_call(
    client: Inference, script: Any
) -> None:
    s = script
    hook = s.inv("t1", "notify", {"m": "x"}, "awaiting_input", type="hook")
    tool_turn(s, hook, finish(s, hook))
    notified: list[Any] = []
    response = client.agent("a/b").send_message("notify", on_tool_call=notified.append)
    assert response.status == "ready"
    assert notified == []


def test_options_object_handlers_and_partial_updates(client: Inference, script: Any) -> None:
    from inferencesh.core.chat import AgentConfig, CoreAppConfig

    s = script
    config = AgentConfig(core_app=CoreAppConfig(ref="a/b"), system_prompt="Be brief.")
    waiting = s.inv("t1", "remote_greet", {"x": "Ada"}, "awaiting_input")
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Hi", status="pending")),
            # Partial updates name the fields they carry; the rest is kept.
            {
                "event": "chat_messages",
                "data": {"id": "a1", "content": [{"type": "text", "text": "Hi there"}]},
                "fields": ["content"],
            },
            {
                "event": "chat_messages",
                "data": {"id": "a1", "tool_invocations": [waiting]},
                "fields": ["tool_invocations"],
            },
            {
                "event": "chats",
                "data": {"id": "c1", "status": "awaiting_input"},
                "fields": ["status"],
            },
            {
                "event": "chat_messages",
                "data": {"id": "a1", "status": "ready"},
                "fields": ["status"],
            },
            ("chats", s.chat("idle")),
        )
    )
    s.accept("POST", "/tools/t1")
    agent = client.agent(config, handlers={"remote_greet": lambda args: f"hello {args['x']}"})
    response = agent.send_message("hi")
    assert response.text == "Hi there"
    assert response.message.order == 2
    assert s.bodies("POST", "/tools/t1") == [{"result": "hello Ada"}]
    (body,) = s.bodies("POST", "/agents/run")
    assert body["agent_config"] == {"system_prompt": "Be brief.", "core_app": {"ref": "a/b"}}


def test_async_handler_in_the_sync_agent(client: Inference, script: Any) -> None:
    call = script.inv("t1", "fetch", {}, "awaiting_input")
    tool_turn(script, call, finish(script, call))
    script.accept("POST", "/tools/t1")

    async def fetch(args: dict[str, Any]) -> str:
        return "fetched"

    agent = client.agent({"core_app": {"ref": "a/b"}, "tools": [tool("fetch").handler(fetch)]})
    agent.send_message("go")
    assert script.bodies("POST", "/tools/t1") == [{"result": "fetched"}]


async def test_async_callback_in_the_sync_agent_inside_a_loop_is_refused(
    client: Inference, script: Any
) -> None:
    simple_turn(script)

    async def on_message(update: Any) -> None: ...

    with pytest.raises(AgentError, match="use AsyncAgent"):
        client.agent("a/b").send_message("hi", on_message=on_message)


def test_callback_exceptions_propagate_and_close_the_stream(client: Inference, script: Any) -> None:
    simple_turn(script)

    def on_message(update: Any) -> None:
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        client.agent("a/b").send_message("hi", on_message=on_message)


def test_reasoning_growth_is_reported_too(client: Inference, script: Any) -> None:
    s = script

    def thinking(reasoning: str, text: str = "", status: str = "pending") -> dict[str, Any]:
        message = s.msg("a1", 2, status=status)
        message["content"] = [{"type": "reasoning", "text": reasoning}]
        if text:
            message["content"].append({"type": "text", "text": text})
        return message

    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            ("chat_messages", thinking("Let me")),
            ("chat_messages", thinking("Let me think")),
            ("chat_messages", thinking("Let me think", "Answer", "ready")),
            ("chats", s.chat("idle")),
        )
    )
    seen: list[tuple[str, str]] = []
    response = client.agent("a/b").send_message(
        "q", on_message=lambda m: seen.append((m.content, m.reasoning))
    )
    assert seen == [("", "Let me"), ("", "Let me think"), ("Answer", "Let me think")]
    assert response.message.reasoning == "Let me think"


def test_timeout_bounds_the_wait_and_wait_resumes(client: Inference, script: Any) -> None:
    from inferencesh.core.errors import APITimeoutError

    s = script
    s.run(USER, PENDING)
    busy = s.ndjson(
        ("chats", s.chat("busy")), ("chat_messages", s.msg("a1", 2, "assistant", "…", "pending"))
    )
    s.mock.add_response(
        method="GET",
        url="http://127.0.0.1:8765/chats/c1",
        json=s.ok(s.chat("busy")),
        is_reusable=True,
    )
    s.mock.add_response(
        method="GET",
        url="http://127.0.0.1:8765/chats/c1/stream",
        content=busy,
        headers={"content-type": "application/x-ndjson"},
        is_reusable=True,
    )
    agent = client.agent("a/b")
    with pytest.raises(APITimeoutError, match=r"did not finish within 0\.3 s"):
        agent.send_message("slow", timeout=0.3)
    assert agent.chat_id == "c1"
    with pytest.raises(APITimeoutError):
        agent.wait(timeout=0.1)
    with pytest.raises(ValueError, match="positive"):
        agent.wait(timeout=0)

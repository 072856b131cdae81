"""``get_chat()`` after ``reset()`` (the seed's order) shows the chat that was reset, until the
next message starts a new one (issue 16, item 16)."""

from __future__ import annotations

from typing import Any

from inferencesh.core import AsyncInference, Inference

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
PENDING = {"id": "a1", "order": 2, "role": "assistant", "status": "pending", "chat_id": "c1"}


def turn(s: Any) -> None:
    s.run(USER, PENDING)
    s.get_chat(s.chat("busy"))
    s.stream(
        s.ndjson(
            ("chat_messages", s.msg("a1", 2, text="Hi", status="ready")),
            ("chats", s.chat("idle")),
        )
    )


def test_a_new_agent_has_no_chat_to_show(client: Inference) -> None:
    agent = client.agent("my-org/assistant@latest")
    agent.reset()
    assert agent.get_chat() is None


async def test_the_async_agent_shows_the_reset_chat(aclient: AsyncInference, script: Any) -> None:
    agent = aclient.agent("my-org/assistant@latest")
    turn(script)
    await agent.send_message("Hello!")
    agent.reset()
    assert agent.chat_id is None
    script.get_chat(script.chat("idle", [USER, script.msg("a1", 2, text="Hi")]))
    history = await agent.get_chat()
    assert history is not None and history.id == "c1"
    assert [m.id for m in history.chat_messages or []] == ["u1", "a1"]

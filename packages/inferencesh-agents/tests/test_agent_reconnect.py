"""The chat streams' reconnect arguments of the earlier inferencesh 0.36:
``stream_messages(auto_reconnect, max_reconnects, reconnect_delay_ms)`` (and ``stream_chat``),
positional or by keyword, on ``Agent`` and ``AsyncAgent``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from inferencesh.core import AsyncInference, Inference, _transport
from inferencesh.core.errors import APIConnectionError

USER = {"id": "u1", "order": 1, "role": "user", "status": "ready", "chat_id": "c1"}
STREAM = "http://127.0.0.1:8765/chats/c1/stream"


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the client asks for, recorded instead of slept."""
    slept: list[float] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_transport, "sleep", slept.append)
    monkeypatch.setattr(_transport, "asleep", asleep)
    return slept


def dropping_chat(s: Any, then_reconnect: bool) -> None:
    """A busy chat whose stream sends one update and drops; after a reconnect (GET, stream)
    the reply is ready and the chat idle."""
    partial = s.msg("a1", 2, text="Hel", status="pending")
    s.get_chat(s.chat("busy", [USER]))
    s.stream(s.dropping(s.ndjson(("chat_messages", partial))))
    if then_reconnect:
        s.get_chat(s.chat("busy", [USER, partial]))
        s.stream(
            s.ndjson(
                ("chat_messages", s.msg("a1", 2, text="Hello", status="ready")),
                ("chats", s.chat("idle")),
            )
        )


def texts(messages: list[Any]) -> list[str]:
    return [m.text for m in messages if m.id == "a1"]


def test_auto_reconnect_false_ends_at_the_first_drop(
    client: Inference, script: Any, pauses: list[float]
) -> None:
    dropping_chat(script, then_reconnect=False)
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    seen: list[Any] = []
    with pytest.raises(APIConnectionError):
        seen.extend(agent.stream_messages(auto_reconnect=False))
    assert len(script.mock.get_requests(url=STREAM)) == 1
    assert pauses == []


def test_by_default_the_drop_is_reconnected_after_the_delay(
    client: Inference, script: Any, pauses: list[float]
) -> None:
    dropping_chat(script, then_reconnect=True)
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    assert texts(list(agent.stream_messages())) == ["Hel", "Hello"]
    assert pauses == [0.2]


def test_reconnect_delay_ms_positional_as_in_036(
    client: Inference, script: Any, pauses: list[float]
) -> None:
    dropping_chat(script, then_reconnect=True)
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    assert texts(list(agent.stream_messages(True, 5, 1500))) == ["Hel", "Hello"]
    assert pauses == [1.5]


def test_stream_chat_takes_them_too(client: Inference, script: Any, pauses: list[float]) -> None:
    dropping_chat(script, then_reconnect=False)
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    with pytest.raises(APIConnectionError):
        list(agent.stream_chat(auto_reconnect=False))
    assert pauses == []


def test_a_negative_delay_names_the_argument(client: Inference) -> None:
    agent = client.agent("a/b")
    agent.chat_id = "c1"
    with pytest.raises(ValueError, match="reconnect_delay_ms"):
        agent.stream_messages(reconnect_delay_ms=-5)


async def test_async_auto_reconnect_false(
    aclient: AsyncInference, script: Any, pauses: list[float]
) -> None:
    dropping_chat(script, then_reconnect=False)
    agent = aclient.agent("a/b")
    agent.chat_id = "c1"
    with pytest.raises(APIConnectionError):
        [m async for m in agent.stream_messages(auto_reconnect=False)]
    assert len(script.mock.get_requests(url=STREAM)) == 1
    assert pauses == []


async def test_async_reconnect_delay_ms(
    aclient: AsyncInference, script: Any, pauses: list[float]
) -> None:
    dropping_chat(script, then_reconnect=True)
    agent = aclient.agent("a/b")
    agent.chat_id = "c1"
    seen = [m async for m in agent.stream_messages(reconnect_delay_ms=50)]
    assert texts(seen) == ["Hel", "Hello"]
    assert pauses == [0.05]

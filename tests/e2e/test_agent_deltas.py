"""``on_delta`` of the project's agents client against the local agent loop (the real platform
and the scripted model streaming its reply): ``AgentDelta`` batches per message, merged text
equal to the final message, in sync and async agents and on a chat's later turns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import pytest
from inferencesh import AgentDelta, async_inference, inference
from inferencesh.core import Inference
from platform_testkit import PlatformFactory

TEXT = "Streaming tokens one batch at a time is what on_delta shows"


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS])
    yield server
    server.close()


@pytest.fixture
def client(platform: Any) -> Iterator[Inference]:
    with inference(api_key=e2e.KEY, base_url=platform.base_url) as c:
        yield c


def _config(*turns: dict[str, Any]) -> dict[str, Any]:
    return e2e.scripted(*turns)


def _streamed(text: str, reasoning: str | None = None) -> dict[str, Any]:
    turn: dict[str, Any] = {"text": text, "chunks": 6, "delay": 0.03}
    if reasoning:
        turn["reasoning"] = reasoning
    return turn


def test_on_delta_batches_merge_into_the_reply(client: Inference) -> None:
    agent = client.agent(_config(_streamed(TEXT, "weigh it"), _streamed("second answer")))
    seen: list[AgentDelta] = []
    response = agent.send_message("go", on_delta=seen.append)
    assert len(seen) > 1, "the reply came in one piece"
    assert {d.message_id for d in seen} == {response.message.id}
    assert [d.seq for d in seen] == sorted({d.seq for d in seen})
    assert "".join(d.delta.get("response", "") for d in seen) == response.text == TEXT
    assert seen[-1].output["response"] == seen[-1].text == TEXT
    assert seen[-1].output["reasoning"] == response.message.reasoning == "weigh it"
    assert seen[-1]["message_id"] == response.message.id  # reads like a dict too
    # The next turn of the same chat streams too (the chat stream stays open between turns).
    later: list[AgentDelta] = []
    second = agent.send_message("again", on_delta=later.append)
    assert "".join(d.delta.get("response", "") for d in later) == second.text == "second answer"
    assert {d.message_id for d in later} == {second.message.id}


def test_tool_call_deltas_reach_on_delta(client: Inference) -> None:
    calls = [{"name": "lookup", "arguments": {"word": "ion"}}]
    # The tool-call turn says a few words first, paced, so the client's stream is attached
    # before the call ends that message even on a loaded machine (a message that ended before
    # the stream attached arrives whole, as a message, not as deltas).
    calling = {"text": "let me check", "chunks": 6, "delay": 0.15, "tool_calls": calls}
    config = _config(calling, _streamed("done"))
    config["tools"] = [e2e.client_tool("lookup")]
    agent = client.agent(config, handlers={"lookup": lambda args: "a particle"})
    seen: list[AgentDelta] = []
    response = agent.send_message("look", on_delta=seen.append)
    assert response.text == "done"
    first = [d for d in seen if d.message_id != response.message.id]
    (call,) = first[-1].output["tool_calls"]
    assert call["function"]["name"] == "lookup" and call["index"] == 0
    assert call["function"]["arguments"] == '{"word": "ion"}'


def test_async_agent_takes_sync_and_async_on_delta(platform: Any) -> None:
    async def main() -> tuple[list[str], list[str], str, str]:
        plain: list[str] = []
        awaited: list[str] = []

        async def collect(delta: AgentDelta) -> None:
            await asyncio.sleep(0)
            awaited.append(delta.delta.get("response", ""))

        async with async_inference(api_key=e2e.KEY, base_url=platform.base_url) as client:
            agent = client.agent(_config(_streamed(TEXT), _streamed("and async")))
            first = await agent.send_message(
                "hi", on_delta=lambda d: plain.append(d.delta.get("response", ""))
            )
            second = await agent.send_message("more", on_delta=collect)
        return plain, awaited, first.text, second.text

    plain, awaited, first, second = asyncio.run(main())
    assert "".join(plain) == first == TEXT and len(plain) > 1
    assert "".join(awaited) == second == "and async"

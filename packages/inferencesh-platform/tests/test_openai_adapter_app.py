"""The ``openai-chat`` example app in a worker under the local platform, against a loopback fake
of the OpenAI API: its ``run`` streams token deltas, and its ``openai`` function (from
``OpenAIChatMixin``) answers a Chat Completions request with chunks on the delta channel and a
final ``ChatCompletion``; merged, the chunks give the completion's text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import agentloop_testkit as e2e
import pytest
from agentloop_testkit import FakeOpenAI, chunk, usage_chunk
from inferencesh import inference
from inferencesh.core import TaskDelta
from inferencesh.core.deltas import DeltaAccumulator
from platform_testkit import PlatformFactory


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def client(local_platform: PlatformFactory, fake: FakeOpenAI) -> Iterator[Any]:
    env = {"OPENAI_BASE_URL": fake.base_url, "OPENAI_MODEL": "fake-model", "OPENAI_API_KEY": "k"}
    server = local_platform([e2e.APPS / "openai-chat"], env=env, name="openai-adapter")
    with inference(api_key=server.api_key, base_url=server.base_url) as c:
        yield c


def _reply(*pieces: str) -> list[bytes]:
    chunks = [chunk({"role": "assistant", "content": pieces[0]})]
    chunks += [chunk({"content": piece}) for piece in pieces[1:]]
    return [*chunks, chunk({}, finish="stop"), usage_chunk(7, 3)]


def test_run_streams_token_deltas(client: Any, fake: FakeOpenAI) -> None:
    fake.replies = [_reply("Hel", "lo", " there")]
    deltas: list[TaskDelta] = []
    task = client.run({"app": "local/openai-chat", "input": {"text": "hi"}}, on_delta=deltas.append)
    assert [d.text for d in deltas] == ["Hel", "lo", " there"]
    assert task.output["response"] == "Hello there"


def test_the_openai_function_answers_chat_completions(client: Any, fake: FakeOpenAI) -> None:
    fake.requests.clear()
    fake.replies = [_reply("The ", "answer")]
    request = {
        "model": "my-model",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Question?"},
        ],
        "max_completion_tokens": 50,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks: list[TaskDelta] = []
    task = client.run(
        {"app": "local/openai-chat", "function": "openai", "input": request},
        on_delta=chunks.append,
    )
    completion = task.output
    assert completion["object"] == "chat.completion" and completion["model"] == "my-model"
    assert completion["choices"][0]["message"]["content"] == "The answer"
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["total_tokens"] == 10
    # The app's own run saw the translated request.
    [(_, sent)] = fake.requests
    assert sent["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Question?"},
    ]
    assert sent["max_tokens"] == 50, sent
    # The chunks rode the delta channel and merge back into the completion.
    assert all(c.delta["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c.text for c in chunks) == "The answer"
    assert chunks[0].delta["choices"][0]["delta"]["role"] == "assistant"
    acc = DeltaAccumulator()
    for piece in chunks:
        acc.apply(piece)
    merged = acc.to_dict()
    assert merged["choices"][0]["delta"]["content"] == "The answer"
    assert merged["choices"][0]["finish_reason"] == "stop"
    assert merged["usage"]["total_tokens"] == 10


def test_an_unsupported_parameter_fails_the_call_clearly(client: Any) -> None:
    request = {"messages": [{"role": "user", "content": "x"}], "n": 2}
    with pytest.raises(Exception, match="unsupported parameter 'n'"):
        client.run({"app": "local/openai-chat", "function": "openai", "input": request})

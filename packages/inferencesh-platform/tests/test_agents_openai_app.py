"""The ``openai-chat`` core app behind an agent, against a loopback fake of the OpenAI chat
completions API: streamed text, streamed tool calls, the whole conversation sent back, errors."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_spec = importlib.util.spec_from_file_location(
    "agentloop_e2e_support", Path(__file__).with_name("test_agentloop_e2e.py")
)
assert _spec is not None and _spec.loader is not None
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

API_KEY = "sk-fake-openai-key"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _usage(prompt: int, completion: int) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class FakeOpenAI:
    """``POST /v1/chat/completions`` answering from a queue of replies; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.replies: list[list[bytes] | tuple[int, dict[str, Any]]] = []

        async def completions(request: Request) -> Response:
            body = json.loads(await request.body())
            self.requests.append((dict(request.headers), body))
            reply = self.replies.pop(0)
            if isinstance(reply, tuple):
                return JSONResponse(reply[1], status_code=reply[0])
            chunks = reply

            async def stream() -> AsyncIterator[bytes]:
                for chunk in chunks:
                    yield chunk
                    await asyncio.sleep(0.01)
                yield b"data: [DONE]\n\n"

            return StreamingResponse(stream(), media_type="text/event-stream")

        app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("agentloop-openai")
    env = {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_MODEL": "fake-model",
        "OPENAI_API_KEY": API_KEY,
    }
    server = e2e.Platform(base / "data", [e2e.AGENTS], env, [e2e.APPS / "openai-chat"])
    server.start()
    yield server
    server.stop()


AGENT = {
    "core_app": {"ref": "local/openai-chat", "input": {"temperature": 0.3, "max_tokens": 200}},
    "system_prompt": "You are terse.",
    "internal_tools": {"plan": False, "memory": False},
    "tools": [e2e.client_tool("lookup")],
}


def test_a_real_model_app_behind_an_agent(platform: Any, fake: FakeOpenAI) -> None:
    fake.requests.clear()
    fake.replies = [
        [
            _chunk({"role": "assistant", "content": "Checking"}),
            _chunk({"content": "..."}),
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_abc",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"x":'},
                        }
                    ]
                }
            ),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "ion"}'}}]}),
            _chunk({}, finish="tool_calls"),
            _usage(30, 12),
        ],
        [
            _chunk({"role": "assistant", "content": "An ion is "}),
            _chunk({"content": "a charged "}),
            _chunk({"content": "particle."}),
            _chunk({}, finish="stop"),
            _usage(50, 6),
        ],
    ]
    reply = platform.run({"agent_config": AGENT, "input": {"text": "what is an ion?"}})
    chat_id = reply["assistant_message"]["chat_id"]
    chat = platform.wait_for(chat_id, lambda c: c["status"] == "awaiting_input")
    first = e2e.last_reply(chat)
    assert e2e.text_of(first) == "Checking..."
    (inv,) = e2e.invocations(chat)
    assert inv["tool_invocation_id"] == "call_abc"
    assert inv["function"] == {"name": "lookup", "arguments": {"x": "ion"}}
    platform.call("POST", f"/tools/{inv['id']}", {"result": "a charged particle"})
    events = platform.events(chat_id)
    texts = [
        e2e.text_of(e["data"])
        for e in events
        if e["event"] == "chat_messages" and e["data"]["role"] == "assistant"
    ]
    assert "An ion is a charged particle." in texts
    chat = platform.finish(chat_id)
    assert e2e.text_of(e2e.last_reply(chat)) == "An ion is a charged particle."

    (headers1, body1), (_headers2, body2) = fake.requests
    assert headers1["authorization"] == f"Bearer {API_KEY}"
    assert body1["model"] == "fake-model" and body1["stream"] is True
    assert body1["temperature"] == 0.3 and body1["max_tokens"] == 200
    assert body1["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "what is an ion?"},
    ]
    (offered,) = body1["tools"]
    assert offered["function"]["name"] == "lookup"
    assert offered["function"]["parameters"]["required"] == ["x"]
    assert body2["messages"][1:] == [
        {"role": "user", "content": "what is an ion?"},
        {
            "role": "assistant",
            "content": "Checking...",
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"x": "ion"}'},
                }
            ],
        },
        {"role": "tool", "content": "a charged particle", "tool_call_id": "call_abc"},
    ]
    task = platform.call("GET", f"/tasks/{e2e.last_reply(chat)['task_id']}")
    assert task["output"]["usage"]["completion_tokens"] == 6
    assert task["output"]["usage"]["stop_reason"] == "stop"


def test_a_server_error_fails_the_turn_clearly(platform: Any, fake: FakeOpenAI) -> None:
    fake.replies = [(401, {"error": {"message": "Incorrect API key provided"}})]
    reply = platform.run({"agent_config": AGENT, "input": {"text": "hi"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    final = e2e.last_reply(chat)
    assert final["status"] == "failed"
    error = json.dumps(final["content"])
    assert "HTTP 401" in error and "Incorrect API key provided" in error
    assert API_KEY not in json.dumps(chat)


def test_openai_assistant_example_template(platform: Any, fake: FakeOpenAI) -> None:
    fake.requests.clear()
    fake.replies = [[_chunk({"content": "Hello from a real model."}), _chunk({}, finish="stop")]]
    reply = platform.run({"agent": "local/openai-assistant", "input": {"text": "hello"}})
    chat = platform.finish(reply["assistant_message"]["chat_id"])
    assert e2e.text_of(e2e.last_reply(chat)) == "Hello from a real model."
    ((_, body),) = fake.requests
    assert body["temperature"] == 0.2
    assert [t["function"]["name"] for t in body["tools"]] == [
        "memory_set",
        "memory_get",
        "memory_getall",
    ]

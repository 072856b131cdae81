"""Fixtures for the agents tests: core clients on a loopback base URL and chat-protocol helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from inferencesh.core import AsyncInference, Inference

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def client() -> Iterator[Inference]:
    with Inference(api_key="inf_test", base_url=BASE, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncInference]:
    c = AsyncInference(api_key="inf_test", base_url=BASE, max_retries=0)
    try:
        yield c
    finally:
        await c.close()


def msg(
    id: str,
    order: int,
    role: str = "assistant",
    text: str = "",
    status: str = "ready",
    invocations: list[dict[str, Any]] | None = None,
    chat: str = "c1",
    **extra: Any,
) -> dict[str, Any]:
    """A ChatMessageDTO."""
    data: dict[str, Any] = {
        "id": id,
        "chat_id": chat,
        "order": order,
        "role": role,
        "status": status,
        "content": [{"type": "text", "text": text}] if text else [],
        **extra,
    }
    if invocations is not None:
        data["tool_invocations"] = invocations
    return data


def inv(
    id: str, name: str, args: Any, status: str, type: str = "client", **extra: Any
) -> dict[str, Any]:
    """A ToolInvocationDTO."""
    return {
        "id": id,
        "type": type,
        "status": status,
        "function": {"name": name, "arguments": args},
        **extra,
    }


def chat(status: str, messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A ChatDTO."""
    data: dict[str, Any] = {"id": "c1", "status": status, **extra}
    if messages is not None:
        data["chat_messages"] = messages
    return data


def ndjson(*events: tuple[str, dict[str, Any]] | dict[str, Any]) -> bytes:
    """NDJSON chat-stream lines from ``(event, data)`` pairs (or raw line objects)."""
    lines = []
    for item in events:
        line = {"event": item[0], "data": item[1]} if isinstance(item, tuple) else item
        lines.append(json.dumps(line))
    return ("\n".join(lines) + "\n").encode()


def ok(data: Any) -> dict[str, Any]:
    """The v1 success envelope."""
    return {"success": True, "status": 200, "data": data}


class DroppingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that sends ``chunks`` and then loses the connection."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        raise httpx.ReadError("connection reset by peer")


NDJSON = {"content-type": "application/x-ndjson"}


class ChatScript:
    """Registers the platform's replies for one chat, in the order the client asks for them."""

    msg = staticmethod(msg)
    inv = staticmethod(inv)
    chat = staticmethod(chat)
    ndjson = staticmethod(ndjson)
    ok = staticmethod(ok)
    dropping = DroppingStream

    def __init__(self, mock: Any) -> None:
        self.mock = mock

    def run(self, user: dict[str, Any], assistant: dict[str, Any]) -> None:
        self.mock.add_response(
            method="POST",
            url=f"{BASE}/agents/run",
            json=ok({"user_message": user, "assistant_message": assistant}),
        )

    def get_chat(self, data: dict[str, Any], chat_id: str = "c1") -> None:
        self.mock.add_response(method="GET", url=f"{BASE}/chats/{chat_id}", json=ok(data))

    def stream(self, body: bytes | httpx.SyncByteStream, chat_id: str = "c1") -> None:
        url = f"{BASE}/chats/{chat_id}/stream"
        if isinstance(body, bytes):
            self.mock.add_response(method="GET", url=url, content=body, headers=NDJSON)
        else:
            self.mock.add_response(method="GET", url=url, stream=body, headers=NDJSON)

    def accept(self, method: str, path: str, reusable: bool = False) -> None:
        self.mock.add_response(
            method=method, url=f"{BASE}{path}", json=ok(None), is_reusable=reusable
        )

    def bodies(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(r.content) if r.content else None
            for r in self.mock.get_requests(method=method, url=f"{BASE}{path}")
        ]


@pytest.fixture
def script(httpx_mock: Any) -> ChatScript:
    return ChatScript(httpx_mock)

"""The agent loop's test harness: a local platform running it, driven over the wire protocol.

Shared by the agent loop's tests here and the end-to-end and compatibility tests under
``tests/``: the ``Platform`` wrapper (the scripted model's turns, the chat routes, stream
reading), agent-config builders, a loopback ``Receiver`` for webhooks and skill files, and
``FakeOpenAI``, a loopback stand-in for the OpenAI chat completions API.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, App, Own, PlatformFactory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[3]
APPS = ROOT / "examples" / "apps"
AGENTS = ROOT / "examples" / "agents"
KEY = "inf_agentloop_test_key"


_APPS = ("scripted-model", "hello", "code-execution", "image-generation", "web-search")


class Platform:
    """A local platform running the agent loop, and its wire protocol over HTTP.

    Either its own server (``Platform(...)`` then ``start()``/``stop()``, for tests that restart
    or kill it) or one from the ``local_platform`` factory (``Platform.shared(...)``), shared by
    every module asking for the same configuration.
    """

    def __init__(
        self,
        data_dir: Path,
        agents_dirs: list[Path],
        env: dict[str, str],
        apps: list[Path] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.agents_dirs = agents_dirs
        self.env = env
        self.apps = [APPS / name for name in _APPS] + list(apps or [])
        self.script_path = data_dir.parent / "script.json"
        self.env.setdefault("SCRIPTED_MODEL_SCRIPT", str(self.script_path))
        self.script()  # no turns: the model echoes until a test gives it a script
        self.server: LocalPlatform | None = None
        self.base_url = ""
        self._http: httpx.Client | None = None
        self._owned = True

    @classmethod
    def shared(
        cls,
        local_platform: PlatformFactory,
        agents: list[Path | Own],
        env: dict[str, str] | None = None,
        apps: list[Path | App] | None = None,
        files: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> Platform:
        """The agent loop on the factory's platform for this configuration (started if new)."""
        server = local_platform(
            [*(APPS / name for name in _APPS), *(apps or [])],
            agents=agents,
            files={"script.json": "[]", **(files or {})},
            args=["--heartbeat", "1", "--cancel-timeout", "3", *(args or [])],
            env={"SCRIPTED_MODEL_SCRIPT": OWN / "script.json", **(env or {})},
            api_key=KEY,
        )
        platform = cls.__new__(cls)
        platform.data_dir = server.data_dir
        platform.agents_dirs = [a.at(server.home) if isinstance(a, Own) else a for a in agents]
        platform.env = {}
        platform.apps = [Path(d) for d in server.app_dirs]
        platform.script_path = server.home / "script.json"
        platform.script()  # no turns: the model echoes until a test gives it a script
        platform.server = server
        platform.base_url = server.base_url
        platform._http = None
        platform._owned = False
        return platform

    @property
    def http(self) -> httpx.Client:
        """A client for the running server; ``stop()`` closes it with the server."""
        if self._http is None:
            self._http = httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=30.0)
        return self._http

    def start(self) -> None:
        """Start ``inferencesh dev`` over the apps and agents directories."""
        args = ["--heartbeat", "1", "--cancel-timeout", "3"]
        for directory in self.agents_dirs:
            args += ["--agents-dir", str(directory)]
        self.server = LocalPlatform(
            self.apps, data_dir=self.data_dir, api_key=KEY, args=args, env=self.env
        )
        # The launcher reads the URL from the log it appends to: start a restart on a fresh one.
        if self.server.log_path.exists():
            self.server.log_path.replace(self.server.log_path.with_suffix(".log.old"))
        self.server.start()
        self.base_url = self.server.base_url

    def close(self) -> None:
        """Close the HTTP client (a shared server keeps running for its other users)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server; ``kill`` ends it abruptly, as a crash would."""
        self.close()
        if self.server is not None and self._owned:
            self.server.stop(kill=kill)
            self.server = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, *turns: dict[str, Any]) -> None:
        """The turns the scripted model plays for agents without a script of their own."""
        tmp = self.script_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(list(turns)))
        tmp.replace(self.script_path)

    # -- the wire protocol --------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.http.request(method, self.url(path), json=body)
        assert response.status_code == status, response.text
        return response.json().get("data") if response.content else None

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.call("POST", "/agents/run", body)
        return data

    def chat(self, chat_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.call("GET", f"/chats/{chat_id}")
        return data

    def events(
        self,
        chat_id: str,
        until: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 30,
    ) -> list[dict[str, Any]]:
        """Read the chat stream until the turn ends (a ``chats`` event neither busy nor awaiting
        input: the stream itself stays open for the next turn) or ``until`` an event."""
        seen: list[dict[str, Any]] = []
        with self.http.stream(
            "GET", self.url(f"/chats/{chat_id}/stream"), timeout=timeout
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/x-ndjson")
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "heartbeat":
                    continue
                seen.append(event)
                if until is not None and until(event):
                    break
                if turn_ended(event):
                    break
        return seen

    def sse_snapshot(self, chat_id: str, timeout: float = 30) -> str:
        """The SSE frames of an idle chat's stream, up to and including its ``chats`` frame (the
        stream stays open for the next turn; this leaves it there)."""
        body = ""
        with self.http.stream(
            "GET",
            self.url(f"/chats/{chat_id}/stream"),
            headers={"Accept": "text/event-stream"},
            timeout=timeout,
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for chunk in response.iter_text():
                body += chunk
                if "event: chats\n" in body and body.endswith("\n\n"):
                    break
        return body

    def wait_for(self, chat_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll the chat until ``check(chat)`` holds."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            chat = self.chat(chat_id)
            if check(chat):
                return chat
            time.sleep(0.05)
        raise AssertionError(f"chat {chat_id} never got there: {json.dumps(self.chat(chat_id))}")

    def finish(self, chat_id: str) -> dict[str, Any]:
        """Follow the turn to its end; the chat as it stands then."""
        self.events(chat_id)
        return self.wait_for(chat_id, lambda c: c["status"] in ("idle", "completed"))


def turn_ended(event: dict[str, Any]) -> bool:
    """Whether a chat-stream event says the chat has no turn running (idle or completed)."""
    return event.get("event") == "chats" and event["data"].get("status") not in (
        "busy",
        "awaiting_input",
    )


def text_of(message: dict[str, Any]) -> str:
    return "".join(c.get("text") or "" for c in message["content"] if c.get("type") == "text")


def last_reply(chat: dict[str, Any]) -> dict[str, Any]:
    replies = [m for m in chat["chat_messages"] if m["role"] == "assistant"]
    return replies[-1]


def invocations(chat: dict[str, Any]) -> list[dict[str, Any]]:
    return [inv for m in chat["chat_messages"] for inv in m.get("tool_invocations") or []]


def scripted(*turns: dict[str, Any], **config: Any) -> dict[str, Any]:
    """An ad-hoc agent config on the scripted model playing ``turns``."""
    return {
        "core_app": {"ref": "local/scripted-model", "input": {"script": list(turns)}},
        "internal_tools": {"plan": False, "memory": False},
        **config,
    }


def client_tool(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "client",
        "description": f"the {name} tool",
        "client": {
            "input_schema": {
                "type": "object",
                "properties": {"x": {"type": "string"}},
                "required": ["x"],
            }
        },
        **extra,
    }


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


# -- a loopback web server for webhooks and skill URLs --------------------------------------------


class Receiver:
    """Records webhook deliveries and serves skill files, on 127.0.0.1."""

    def __init__(self) -> None:
        self.hooks: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.reply: dict[str, Any] = {"success": True, "message": "accepted"}
        self.callback: tuple[str, str] | None = None  # (api key, result) to post back later

        async def hook(request: Request) -> JSONResponse:
            payload = json.loads(await request.body())
            self.hooks.append((dict(request.headers), payload))
            if self.callback is not None:
                key, result = self.callback
                threading.Timer(
                    0.2,
                    httpx.post,
                    args=(payload["callback_url"],),
                    kwargs={
                        "json": {"result": result},
                        "headers": {"Authorization": f"Bearer {key}"},
                    },
                ).start()
            return JSONResponse(self.reply)

        async def skill(request: Request) -> PlainTextResponse:
            name = request.path_params["path"]
            if name == "missing.md":
                return PlainTextResponse("gone", status_code=404)
            return PlainTextResponse(f"# Skill file {name}\n\nAlways check the {name} rules.")

        async def echo(request: Request) -> JSONResponse:
            body = await request.body()
            return JSONResponse(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "authorization": request.headers.get("authorization"),
                    "x_team": request.headers.get("x-team"),
                    "query": dict(request.query_params),
                    "body": json.loads(body) if body else None,
                }
            )

        async def search(request: Request) -> JSONResponse:
            query = request.query_params["q"]
            assert request.query_params["format"] == "json"
            hits = [
                {"title": f"{query} {i}", "url": f"https://example.org/{i}", "content": "..."}
                for i in range(8)
            ]
            return JSONResponse({"query": query, "results": hits})

        app = Starlette(
            routes=[
                Route("/search", search, methods=["GET"]),
                Route("/hook", hook, methods=["POST"]),
                Route("/api/{path:path}", echo, methods=["GET", "POST"]),
                Route("/skills/{path:path}", skill, methods=["GET"]),
            ]
        )
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# -- a loopback stand-in for the OpenAI chat completions API ----------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    """One streamed completion chunk (a server-sent event) carrying ``delta``."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def usage_chunk(prompt: int, completion: int) -> bytes:
    """The closing chunk that reports token usage."""
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

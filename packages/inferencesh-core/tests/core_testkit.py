"""Helpers of the core tests: payload builders, chunked bodies and the sync/async driver."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import re
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from inferencesh.core.client import AsyncInference, Inference

BASE = "http://127.0.0.1:9"
RUN_URL = re.compile(r"http://127\.0\.0\.1:9/apps/run(\?.*)?$")
"""``POST /apps/run`` with or without a query (``?stream=true``: a run that waits or streams)."""
KEY = "inf_SECRET_test_key_0123456789"


def envelope(data: Any) -> dict[str, Any]:
    """A v1 success envelope."""
    return {"success": True, "status": 200, "data": data}


def ndjson(*objs: Any) -> bytes:
    """NDJSON lines for ``objs``."""
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def task(id: str = "t1", status: int = 1, **fields: Any) -> dict[str, Any]:
    """A TaskDTO."""
    return {"id": id, "status": status, **fields}


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in the given chunks, optionally failing afterwards (a drop);
    ``pace`` seconds pass before each chunk (a server that keeps sending). ``sent`` counts the
    chunks the client has taken."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None, pace: float = 0) -> None:
        self.chunks = chunks
        self.fail = fail
        self.pace = pace
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.pace:
                time.sleep(self.pace)
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.pace:
                await asyncio.sleep(self.pace)
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail


class Driver:
    """Runs the same scenario through ``Inference`` or ``AsyncInference``.

    ``call(fn)`` takes ``fn(client)``; for the async client the result is awaited (and an
    async iterator is collected into a list) inside a fresh event loop.
    """

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.options = {"api_key": KEY, "base_url": BASE, **options}

    def call(self, fn: Callable[[Any], Any]) -> Any:
        if self.kind == "sync":
            with Inference(**self.options) as client:
                result = fn(client)
                if hasattr(result, "__iter__") and not hasattr(result, "__getitem__"):
                    return list(result)  # a stream: collect it while the client is open
                return result

        async def go() -> Any:
            async with AsyncInference(**self.options) as client:
                result = fn(client)
                if inspect.isawaitable(result):
                    result = await result
                if hasattr(result, "__aiter__"):
                    return [item async for item in result]
                return result

        return asyncio.run(go())


class FakePlatform:
    """An in-memory platform on pytest-httpx: runs, task streams, files, sessions, 412s.

    Every task goes RECEIVED -> RUNNING (with a log line) -> COMPLETED with the input echoed
    as output; ``session="new"`` leases a session. Apps listed in ``needs_secrets`` answer 412.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.needs_secrets: set[str] = set()

    def install(self, httpx_mock: Any) -> FakePlatform:
        httpx_mock.add_callback(self.handle, is_reusable=True, is_optional=True)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        method = request.method
        if method == "PUT" and path.startswith("/upload/"):
            self.uploads[path.rsplit("/", 1)[-1]] = request.read()
            return httpx.Response(200)
        if request.headers.get("authorization") != f"Bearer {KEY}" and not path.startswith(
            "/upload/"
        ):
            return httpx.Response(401, json={"detail": "bad key"})
        if method == "POST" and path == "/apps/run":
            reply = self._run(json.loads(request.read()))
            if request.url.params.get("stream") != "true" or reply.status_code != 200:
                return reply
            created = reply.json()
            return self._stream(self.tasks[created["id"]], first={"data": created})
        if method == "POST" and path == "/files":
            return self._create_files(json.loads(request.read()))
        parts = path.strip("/").split("/")
        if parts[0] == "tasks" and len(parts) >= 2:
            found = self.tasks.get(parts[1])
            if found is None:
                return httpx.Response(404, json={"detail": "no such task"})
            if len(parts) == 3 and parts[2] == "stream":
                return self._stream(found)
            if len(parts) == 3 and parts[2] == "cancel":
                found["status"] = 12
                return httpx.Response(200, json=found)
            return httpx.Response(200, json=found)
        if parts[0] == "sessions":
            if len(parts) == 1:
                return httpx.Response(200, json=list(self.sessions.values()))
            session = self.sessions.get(parts[1])
            if session is None:
                return httpx.Response(
                    404,
                    json={
                        "success": False,
                        "error": {"code": "SESSION_NOT_FOUND", "message": parts[1]},
                    },
                )
            if method == "DELETE":
                session["status"] = "ended"
                return httpx.Response(204)
            return httpx.Response(200, json=session)
        return httpx.Response(404, json={"detail": f"no route {method} {path}"})

    def _run(self, body: dict[str, Any]) -> httpx.Response:
        self.runs.append(body)
        if body["app"] in self.needs_secrets:
            return httpx.Response(
                412,
                json={
                    "satisfied": False,
                    "errors": [
                        {"type": "secret", "key": "OPENAI_API_KEY", "message": "missing secret"},
                        {"type": "integration", "key": "google.sheets", "message": "connect"},
                    ],
                },
            )
        task_id = f"t{len(self.tasks) + 1}"
        session = body.get("session")
        session_id = None
        if session == "new":
            session_id = f"sess_{len(self.sessions) + 1}"
            self.sessions[session_id] = {
                "id": session_id,
                "status": "active",
                "call_count": 0,
                "idle_timeout": body.get("session_timeout", 60),
            }
        elif session is not None:
            if session not in self.sessions:
                return httpx.Response(
                    404,
                    json={
                        "success": False,
                        "error": {"code": "SESSION_NOT_FOUND", "message": session},
                    },
                )
            if self.sessions[session]["status"] == "ended":
                return httpx.Response(
                    410,
                    json={"success": False, "error": {"code": "SESSION_ENDED", "message": session}},
                )
            session_id = session
        if session_id:
            self.sessions[session_id]["call_count"] += 1
        created = task(task_id, 1, app=body["app"], input=body.get("input"))
        if session_id:
            created["session_id"] = session_id
        self.tasks[task_id] = created
        return httpx.Response(200, json=created)

    def _stream(self, found: dict[str, Any], first: Any = None) -> httpx.Response:
        """The task's stream to its end (``first``: a line before the rest, such as the
        created task a streamed run starts with)."""
        logs = [{"content": f"running {found['app']}"}]
        output = {"echo": found.get("input"), "result": "https://cdn.example/out.png"}
        found.update(status=10, logs=logs, output=output)
        body = ndjson(
            *([] if first is None else [first]),
            {"type": "heartbeat"},
            {"data": {"id": found["id"], "status": 7, "logs": logs}, "fields": ["status", "logs"]},
            {"data": {"status": 10, "output": output}, "fields": ["status", "output"]},
        )
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, content=body)

    def _create_files(self, body: dict[str, Any]) -> httpx.Response:
        records = []
        for spec in body["files"]:
            file_id = f"f{len(self.files) + 1}"
            record = {
                "id": file_id,
                "uri": f"https://cdn.example/files/{file_id}/{spec.get('filename') or 'blob'}",
                "upload_url": f"{BASE}/upload/{file_id}",
                "filename": spec.get("filename"),
                "content_type": spec.get("content_type"),
                "size": spec.get("size"),
                "spec": spec,
            }
            self.files[file_id] = record
            records.append(record)
        return httpx.Response(200, json=records)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a thread; yields its URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def nothing_left_running() -> None:
    """Nothing is left pending for asyncio to destroy later ("Task was destroyed but it is
    pending"): the only tasks after a test are the loop's own finalizers of async generators
    given up (httpx's body iterators under a closed response), and those end at once."""
    gc.collect()  # finalize abandoned generators now, not at some later collection
    for _ in range(20):
        if asyncio.all_tasks() == {asyncio.current_task()}:
            return
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


def collect_earlier_garbage() -> None:
    """What earlier tests left for the cycle collector goes first, its warnings ignored: a
    ResourceWarning during the test that follows (an error there) is then that test's own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()

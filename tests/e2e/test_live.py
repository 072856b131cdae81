"""Live stream functions end to end: our async client, the local platform's relay and real apps
in worker processes, over 127.0.0.1.

Covers pairing, what either end sends while the other is not there yet, token refusal,
credential renewal, the pairing timeout, the 256-frame drop rule, the caller hanging up
mid-reply, a worker dying mid-stream, and the relay's limits on frame size and on frames held
while waiting.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import AsyncInference, LiveEnd, LiveState, async_inference, inference
from inferencesh.core.live import AsyncLiveSession
from inferencesh.core.types import TaskStatus
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import App, PlatformFactory
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "examples" / "apps" / "live-echo"

LIVEKIT = '''
import asyncio, os, time
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, Socket


class DropsInput(BaseAppInput):
    expect_dropped: int = 0


class DropsOutput(BaseAppOutput):
    dropped: int
    binary: int
    first: int
    texts: list[str]


class SendInput(BaseAppInput):
    count: int = 5


class Report(BaseAppOutput):
    sent: int = 0
    closed: bool = False
    received: int = 0


class App(BaseApp):
    async def drops(self, input_data: DropsInput, socket: Socket) -> DropsOutput:
        """Say it is there; read nothing until the runtime has dropped what it must, then
        everything."""
        await socket.send("ready")
        deadline = time.monotonic() + 20
        while socket.dropped < input_data.expect_dropped and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        binary, first, texts = 0, -1, []
        async for frame in socket:
            if isinstance(frame, bytes):
                binary += 1
                first = int.from_bytes(frame[:2], "big") if first < 0 else first
            else:
                texts.append(frame)
                if "end" in frame:
                    break
        return DropsOutput(dropped=socket.dropped, binary=binary, first=first, texts=texts)

    async def sender(self, input_data: SendInput, socket: Socket) -> Report:
        """Send `count` frames at once (maybe before the caller is there), then wait for it."""
        for i in range(input_data.count):
            await socket.send(i.to_bytes(2, "big"))
        received = 0
        async for frame in socket:
            received += 1
        return Report(sent=input_data.count, closed=socket.closed, received=received)

    async def chatter(self, input_data: SendInput, socket: Socket) -> Report:
        """On "go", reply with frames for a second, whether or not the caller still listens."""
        await socket.recv()
        sent = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            await socket.send(b"x" * 64)
            sent += 1
            await asyncio.sleep(0.005)
        return Report(sent=sent, closed=socket.closed)

    async def crash(self, input_data: SendInput, socket: Socket) -> Report:
        """Answer the first frame, then the worker process dies."""
        await socket.recv()
        await socket.send("bye")
        await asyncio.sleep(0.2)
        os._exit(3)

    async def idle(self, input_data: SendInput, socket: Socket) -> Report:
        """Wait for frames that never come (no caller)."""
        async for _ in socket:
            pass
        return Report()
'''


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [ECHO, App("livekit", LIVEKIT)],
        args=[
            "--socket-pair-timeout",
            "3",
            "--socket-max-frame-kb",
            "64",
            "--socket-max-buffered-frames",
            "50",
            "--concurrency",
            "4",
        ],
    )


def _client(server: LocalPlatform) -> AsyncInference:
    return async_inference(api_key=server.api_key, base_url=server.base_url)


def _in(seconds: float) -> str:
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return at.isoformat().replace("+00:00", "Z")


async def _socket(client: AsyncInference, socket_id: str) -> Any:
    return await client.sockets.get(socket_id)


async def _until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_echo_pairs_relays_both_ways_and_counts(server: LocalPlatform) -> None:
    client = _client(server)
    states: list[LiveState] = []
    params = {"app": "local/live-echo", "function": "echo", "input": {"label": "ours"}}
    task, session = await client.live(params, on_state=lambda state, end: states.append(state))
    assert task.socket is not None and task.socket.url.startswith("ws://127.0.0.1:")
    frames = [i.to_bytes(2, "big") * 320 for i in range(30)]
    for frame in frames:
        await session.send(frame)
    await session.send({"label": "changed"})
    echoed, patches = [], []
    async for item in session:
        (echoed if isinstance(item, bytes) else patches).append(item)
        if len(echoed) == len(frames):
            break
    assert echoed == frames  # every frame, in order
    assert patches == [{"transcript": "ours 0.5s"}]
    await session.close()
    end = await session.ended
    assert end == LiveEnd(1000, "done", True, False)
    # A worker slower to start than the pairing timeout (3 s here) makes the caller dial
    # again (1013): each redial is one more connecting/waiting pair.
    dials, rest = divmod(len(states) - 2, 2)
    assert dials >= 1 and rest == 0
    assert states == [LiveState.CONNECTING, LiveState.WAITING] * dials + [
        LiveState.LIVE,
        LiveState.ENDED,
    ]
    done = await client.wait_for_completion(task.id)
    assert done.status == TaskStatus.COMPLETED
    assert done.output == {"audio": [], "transcript": "ours 0.5s", "frames": 30, "seconds": 0.6}
    info = await _socket(client, task.socket.id)
    assert (info.status, info.outcome, info.task_id) == ("closed", "client_closed", task.id)
    assert info.paired_at is not None
    assert (info.client_frames, info.client_bytes) == (31, 30 * 640 + len('{"label":"changed"}'))
    assert info.worker_frames == 31 and info.worker_bytes >= 30 * 640
    listed = await client.sockets.list(
        {"filters": [{"field": "task_id", "operator": "eq", "value": task.id}]}
    )
    assert [s.id for s in listed.items] == [task.socket.id]
    await client.aclose()


async def test_frames_sent_while_waiting_are_delivered_once_the_other_end_connects(
    server: LocalPlatform,
) -> None:
    client = _client(server)
    # Caller first: the task is held back, so the app is not there while these are sent.
    params = {"app": "local/live-echo", "function": "echo", "input": {}, "run_at": _in(1.5)}
    task, session = await client.live(params)
    frames = [bytes([i]) * 640 for i in range(5)]
    for frame in frames:
        await session.send(frame)
    waiting = await _socket(client, task.socket.id)
    assert (waiting.status, waiting.client_frames, waiting.paired_at) == ("pending", 5, None)
    assert session.state is LiveState.WAITING
    echoed = [await session.__anext__() for _ in frames]
    assert echoed == frames
    await session.close()
    assert (await client.wait_for_completion(task.id)).output["frames"] == 5

    # App first: it sends before any caller is there; the caller gets every frame in order.
    started = await client.run(
        {"app": "local/livekit", "function": "sender", "input": {"count": 7}}, wait=False
    )
    assert started.socket is not None

    async def app_sent_all() -> bool:
        return (await _socket(client, started.socket.id)).worker_frames == 7

    await _until(app_sent_all)
    session = await client.sockets.open(started)
    got = [await session.__anext__() for _ in range(7)]
    assert got == [i.to_bytes(2, "big") for i in range(7)]
    await session.send(b"one back")
    await session.close()
    report = (await client.wait_for_completion(started.id)).output
    assert report == {"sent": 7, "closed": True, "received": 1}
    await client.aclose()


async def test_wrong_or_missing_tokens_are_refused(server: LocalPlatform) -> None:
    client = _client(server)
    task = await client.run({"app": "local/live-echo", "function": "echo", "input": {}}, wait=False)
    access = task.socket
    assert access is not None
    base = access.url
    worker_url = base.replace("/connect", "/worker")
    for url in (base, f"{base}?access_token=wrong", f"{worker_url}?access_token={access.token}"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)
        assert refused.value.response.status_code == 403
    # Our session reports the refusal as its end instead of raising.
    bad = AsyncLiveSession({"id": access.id, "url": base, "token": "nope"})
    await bad.connect()
    assert bad.state is LiveState.ENDED and bad.end is not None
    assert bad.end.code == 1006 and "403" in bad.end.reason
    # The right token works; deleting the socket ends the stream and the task.
    async with connect(f"{base}?access_token={access.token}") as ws:
        await client.sockets.delete(access.id)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert (await client.wait_for_completion(task.id)).status == TaskStatus.COMPLETED
    with pytest.raises(Exception, match=r"404|no socket"):
        await client.sockets.get(access.id)
    await client.aclose()


async def test_renewed_credentials_dial_and_unknown_or_closed_sockets_answer_errors(
    server: LocalPlatform,
) -> None:
    client = _client(server)
    task = await client.run({"app": "local/live-echo", "function": "echo", "input": {}}, wait=False)
    assert task.socket is not None
    fresh = await client.sockets.access(task.socket.id)
    assert fresh.id == task.socket.id and fresh.token != task.socket.token
    assert fresh.expires_at is not None
    found = await client.sockets.for_task(task.id)
    assert found is not None and found.id == task.socket.id
    session = await client.sockets.open({"id": task.id, "socket": fresh.to_dict()})
    await session.send(b"\x01\x02")
    assert await session.__anext__() == b"\x01\x02"
    await session.close()
    await client.wait_for_completion(task.id)
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        closed = await http.post(f"/sockets/{task.socket.id}/access")
        assert closed.status_code == 409
        assert (await http.post("/sockets/sock_nope/access")).status_code == 404
        assert (await http.get("/sockets/sock_nope")).status_code == 404
        bad = await http.post("/sockets/list", json={"filters": [{"field": "token"}]})
        assert bad.status_code == 400
        unauthenticated = await http.get(
            f"/sockets/{task.socket.id}", headers={"Authorization": ""}
        )
        assert unauthenticated.status_code == 401
    hello = await client.run(
        {"app": "local/live-echo", "function": "echo", "input": {}}, wait=False
    )
    assert hello.socket is not None
    await client.sockets.delete(hello.socket.id)
    await client.aclose()


async def test_pairing_timeout_fails_the_task_with_the_reason(server: LocalPlatform) -> None:
    client = _client(server)
    started = time.monotonic()
    task = await client.run({"app": "local/livekit", "function": "idle", "input": {}}, wait=False)
    assert task.socket is not None
    done = await client.tasks.get(task.id)
    while not done.is_terminal and time.monotonic() - started < 60:
        await asyncio.sleep(0.1)
        done = await client.tasks.get(task.id)
    assert done.status == TaskStatus.FAILED
    assert "no caller connected within 3s" in (done.error or "")
    info = await _socket(client, task.socket.id)
    assert (info.status, info.outcome, info.paired_at) == ("closed", "never_paired", None)
    await client.aclose()


async def test_the_runtime_keeps_the_newest_256_binary_frames_and_every_text(
    server: LocalPlatform,
) -> None:
    client = _client(server)
    params = {"app": "local/livekit", "function": "drops", "input": {"expect_dropped": 44}}
    task, session = await client.live(params)
    # Frames held while waiting are limited (50 here): start once the app is there.
    assert await session.__anext__() == "ready"
    for i in range(300):
        await session.send(i.to_bytes(2, "big") * 8)
        if i == 150:
            await session.send({"mid": True})
    await session.send({"last": 1})
    await session.send({"end": True})
    done = await client.wait_for_completion(task.id)
    await session.close()
    assert done.output == {
        "dropped": 44,
        "binary": 256,
        "first": 44,
        "texts": ['{"mid":true}', '{"last":1}', '{"end":true}'],
    }
    await client.aclose()


async def test_caller_hanging_up_mid_reply_lets_the_app_return(server: LocalPlatform) -> None:
    client = _client(server)
    params = {"app": "local/livekit", "function": "chatter", "input": {}}
    task, session = await client.live(params)
    await session.send(b"go")
    for _ in range(3):
        assert await session.__anext__() == b"x" * 64
    await session.close()
    done = await client.wait_for_completion(task.id)
    assert done.status == TaskStatus.COMPLETED
    assert done.output["closed"] is True and done.output["sent"] > 3
    info = await _socket(client, task.socket.id)
    assert (info.outcome, info.close_code) == ("client_closed", 1000)
    await client.aclose()


async def test_worker_dying_mid_stream_ends_the_caller_with_an_error(
    server: LocalPlatform,
) -> None:
    client = _client(server)
    params = {"app": "local/livekit", "function": "crash", "input": {}}
    task, session = await client.live(params)
    await session.send(b"hi")
    assert await session.__anext__() == "bye"
    end = await asyncio.wait_for(session.ended, 30)
    assert end.code == 1011 and not end.by_caller
    assert "worker" in end.reason
    done = await client.tasks.get(task.id)
    while not done.is_terminal:
        await asyncio.sleep(0.05)
        done = await client.tasks.get(task.id)
    assert done.status == TaskStatus.FAILED
    assert "worker lost" in (done.error or "") and "code 3" in (done.error or "")
    await client.aclose()


async def test_relay_limits_close_oversized_frames_and_overfull_waiting_buffers(
    server: LocalPlatform,
) -> None:
    client = _client(server)
    task, session = await client.live(
        {"app": "local/live-echo", "function": "echo", "input": {}, "run_at": _in(30)}
    )
    await session.send(b"x" * (64 * 1024 + 1))
    end = await asyncio.wait_for(session.ended, 10)
    assert end.code == 1009 and "limit is 65536" in end.reason
    # While waiting, at most 50 frames are held for the app.
    fresh = await client.sockets.access(task.socket.id)
    second = await client.sockets.open({"id": task.id, "socket": fresh.to_dict()})
    for _ in range(51):
        if not second.is_open:
            break
        await second.send(b"y")
    end = await asyncio.wait_for(second.ended, 10)
    assert end.code == 1008 and "50 frames" in end.reason
    await client.cancel(task.id)
    await client.aclose()


async def test_live_refuses_a_run_function_and_the_sync_client_refuses_to_open(
    server: LocalPlatform, tmp_path: Path
) -> None:
    client = _client(server)
    with pytest.raises(ValueError, match="not a stream function"):
        await client.live({"app": "local/livekit", "function": "nope", "input": {}})
    await client.aclose()
    sync = inference(api_key=server.api_key, base_url=server.base_url)
    with pytest.raises(NotImplementedError, match="async client"):
        sync.sockets.open("task")
    task = sync.run({"app": "local/live-echo", "function": "echo", "input": {}}, wait=False)
    info = sync.sockets.for_task(task.id)
    assert info is not None and info.status == "pending"
    sync.sockets.delete(info.id)  # before or after the app dialled: either way it returns
    assert sync.wait_for_completion(task.id).status == TaskStatus.COMPLETED
    assert sync.sockets.for_task(task.id) is None
    sync.close()
    schema = json.loads(
        httpx.get(
            f"{server.base_url}/openapi.json",
            headers={"Authorization": f"Bearer {server.api_key}"},
        ).text
    )
    assert "/sockets/{socket_id}/access" in schema["paths"]

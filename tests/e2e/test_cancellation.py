"""Stopping early against the local platform: the clients and agents after a cancelled task,
Ctrl-C, or a wait given up, and one sync client shared by threads.

What holds, checked here end to end (the transport-level timing cases are in
``packages/inferencesh-core/tests/test_cancellation.py``):

* ``CancelledError`` / ``KeyboardInterrupt`` come out as themselves, the pooled connection
  is released (a one- or two-connection pool keeps working) and the client stays usable;
* the platform task is NOT cancelled by a local stop (it may be wanted): the documented
  pattern (``wait=False``, then ``wait_for_completion``, cancel in ``except``) cancels it;
* an agent turn stopped part way (model streaming, tool handler running, tool answer in
  flight) is picked up again by ``wait()``, which finishes it.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from core_testkit import collect_earlier_garbage, nothing_left_running
from inferencesh import AsyncInference, Inference, TaskCancelledError, TaskStatus, string, tool
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

pytestmark = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error:coroutine .* was never awaited:RuntimeWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"
ROUNDS = 20
SLOW = {"app": "local/slow", "input": {"seconds": 60, "step": 0.05}}


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    apps = [APPS / name for name in ("slow", "hello", "scripted-model")]
    return local_platform(apps, args=["--concurrency", "4", "--cancel-timeout", "1"])


@pytest.fixture(autouse=True)
def _earlier_garbage_collected() -> None:
    collect_earlier_garbage()


def small_pool() -> httpx.Limits:
    return httpx.Limits(max_connections=2, max_keepalive_connections=2)


def async_client(server: LocalPlatform, **options: Any) -> AsyncInference:
    pool = httpx.AsyncClient(limits=small_pool(), timeout=httpx.Timeout(30, pool=5))
    return AsyncInference(
        api_key=server.api_key, base_url=server.base_url, http_client=pool, **options
    )


def sync_client(server: LocalPlatform) -> Inference:
    pool = httpx.Client(limits=small_pool(), timeout=httpx.Timeout(30, pool=5))
    return Inference(api_key=server.api_key, base_url=server.base_url, http_client=pool)


async def running_task(client: AsyncInference) -> tuple[asyncio.Task[None], str]:
    """A consumer task following a new slow task's stream, once the task runs."""
    running = asyncio.get_running_loop().create_future()

    async def consume() -> None:
        async for update in await client.run(SLOW, stream=True):
            if update.status == TaskStatus.RUNNING and not running.done():
                running.set_result(update.id)

    consumer = asyncio.ensure_future(consume())
    task_id: str = await running
    return consumer, task_id


# -- async: cancelling waits and streams ----------------------------------------------------


async def test_cancelled_runs_release_the_pool_and_leave_the_task_running(
    server: LocalPlatform,
) -> None:
    client = async_client(server)
    for round in range(ROUNDS):
        consumer, task_id = await running_task(client)
        if round % 2:
            consumer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await consumer
        else:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(consumer, 0)
        # The library did not cancel the platform task: the caller decides.
        assert (await client.get_task(task_id)).status == TaskStatus.RUNNING
        await client.cancel(task_id)
    # wait=True given up by a timeout, in every phase (creating, queued, running); the
    # tasks are short, as their ids are not known here to cancel them.
    brief = {"app": "local/slow", "input": {"seconds": 1, "step": 0.05}}
    for delay in (0.0, 0.05, 0.2, 0.5):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.run(brief), delay)
    hello = {"app": "local/hello", "input": {"prompt": "still usable"}}
    assert (await client.run(hello)).output["result"].endswith("still usable")
    await client.http.httpx_client.aclose()
    await nothing_left_running()


async def test_the_documented_pattern_cancels_the_platform_task(server: LocalPlatform) -> None:
    client = async_client(server)
    started = asyncio.Event()
    seen: list[Any] = []

    async def run_cancelling_on_stop() -> None:
        task = await client.run(SLOW, wait=False)
        seen.append(task.id)
        started.set()
        try:
            await client.wait_for_completion(task.id)
        except asyncio.CancelledError:
            await client.cancel(task.id)  # stopped here: stop the platform task too
            raise

    runner = asyncio.ensure_future(run_cancelling_on_stop())
    await started.wait()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    with pytest.raises(TaskCancelledError):
        await client.wait_for_completion(seen[0], timeout=30)
    await client.http.httpx_client.aclose()
    await nothing_left_running()


async def test_cancelled_uploads_close_the_file(server: LocalPlatform, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (16 << 20))
    client = async_client(server)
    for _ in range(5):
        sending = asyncio.Event()

        def progress(done: int, total: int | None, sending: asyncio.Event = sending) -> None:
            if done:
                sending.set()

        upload = asyncio.ensure_future(client.upload_file(big, progress=progress))
        await sending.wait()
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
    # Any file left open would raise ResourceWarning (an error here) when collected.
    gc.collect()
    assert (await client.upload_file(big)).size == 16 << 20
    await client.http.httpx_client.aclose()
    await nothing_left_running()


async def test_a_session_left_by_a_cancelled_call_is_ended(server: LocalPlatform) -> None:
    client = async_client(server)
    calling = asyncio.Event()
    handles: list[Any] = []

    async def use_session() -> None:
        async with await client.session("local/slow", input={"seconds": 0}) as session:
            handles.append(session)
            call = asyncio.ensure_future(session.call(input={"seconds": 3}))
            calling.set()
            await call

    user = asyncio.ensure_future(use_session())
    await calling.wait()
    user.cancel()
    with pytest.raises(asyncio.CancelledError):
        await user
    # Leaving the block ended it even though the block was cancelled: the worker is free.
    assert handles[0].ended
    assert (await client.get_session(handles[0].session_id)).status == "ended"
    await client.http.httpx_client.aclose()
    await nothing_left_running()


# -- sync: Ctrl-C -----------------------------------------------------------------------------


@pytest.fixture
def sigint() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint")
def test_ctrl_c_during_a_wait_or_a_stream(server: LocalPlatform) -> None:
    main = threading.get_ident()
    with sync_client(server) as client:

        def follow(ids: list[str], in_body: bool) -> None:
            fired = False
            for update in client.run(SLOW, stream=True):
                ids.append(update.id)
                if update.status == TaskStatus.RUNNING and not fired:
                    fired = True
                    if in_body:
                        raise KeyboardInterrupt  # in the loop body, as from a handler
                    # A real SIGINT from another thread, arriving while the stream is read.
                    threading.Thread(target=signal.pthread_kill, args=(main, signal.SIGINT)).start()

        for round in range(6):
            ids: list[str] = []
            with pytest.raises(KeyboardInterrupt):
                follow(ids, in_body=bool(round % 2))
            assert client.get_task(ids[0]).status == TaskStatus.RUNNING
            client.cancel(ids[0])
        hello = {"app": "local/hello", "input": {"prompt": "after Ctrl-C"}}
        assert client.run(hello).output["result"].endswith("after Ctrl-C")
        client.http.httpx_client.close()


@pytest.mark.usefixtures("sigint")
def test_ctrl_c_in_the_documented_pattern(server: LocalPlatform) -> None:
    main = threading.get_ident()
    with sync_client(server) as client:
        task = client.run(SLOW, wait=False)
        timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()

        def wait_cancelling_on_ctrl_c() -> None:
            try:
                client.wait_for_completion(task.id)
            except KeyboardInterrupt:
                client.cancel(task.id)  # stopped here: stop the platform task too
                raise

        with pytest.raises(KeyboardInterrupt):
            wait_cancelling_on_ctrl_c()
        timer.join()
        assert client.get_task(task.id).status in (TaskStatus.CANCELLING, TaskStatus.CANCELLED)
        client.http.httpx_client.close()


@pytest.mark.usefixtures("sigint")
def test_ctrl_c_in_an_upload(server: LocalPlatform, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (16 << 20))
    main = threading.get_ident()

    def progress(done: int, total: int | None) -> None:
        if done:
            signal.pthread_kill(main, signal.SIGINT)

    with sync_client(server) as client:
        for _ in range(3):
            with pytest.raises(KeyboardInterrupt):
                client.upload_file(big, progress=progress)
        gc.collect()
        assert client.upload_file(big).size == 16 << 20
        client.http.httpx_client.close()


# -- threads ----------------------------------------------------------------------------------


def test_one_sync_client_shared_by_eight_threads(server: LocalPlatform) -> None:
    with Inference(api_key=server.api_key, base_url=server.base_url) as client:

        def run(i: int) -> tuple[int, str, str]:
            params = {"app": "local/hello", "input": {"prompt": f"prompt {i}"}}
            if i % 2:
                result = client.run(params)
            else:
                with client.run(params, stream=True) as stream:
                    for _ in stream:
                        pass
                assert stream.result is not None
                result = stream.result
            return i, result.id, result.output["result"]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(run, range(32)))
    assert [r[2].rsplit(" ", 1)[-1] for r in results] == [str(i) for i in range(32)]
    assert len({r[1] for r in results}) == 32  # 32 tasks, none crossed with another


# -- agents -----------------------------------------------------------------------------------


def scripted(script: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    return {"core_app": {"ref": "local/scripted-model", "input": {"script": script}}, **config}


WEATHER_TURNS = [
    {"tool_calls": [{"name": "weather", "arguments": {"city": "Paris"}}]},
    {"text": "It is {{tool_results}}."},
]


async def test_an_agent_turn_cancelled_while_the_model_streams(server: LocalPlatform) -> None:
    client = async_client(server)
    agent = client.agent(scripted([{"text": "one two three four", "chunks": 4, "delay": 0.3}]))
    streaming = asyncio.Event()
    turn = asyncio.ensure_future(agent.send_message("hi", on_message=lambda _: streaming.set()))
    await streaming.wait()
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    # The turn went on without us; wait() picks it up and finishes it.
    reply = await agent.wait(timeout=30)
    assert reply.text == "one two three four"
    assert (await agent.send_message("again")).status == "ready"
    await client.http.httpx_client.aclose()
    await nothing_left_running()


async def test_an_agent_turn_cancelled_while_a_tool_runs(server: LocalPlatform) -> None:
    client = async_client(server)
    calls: list[str] = []
    running = asyncio.Event()

    async def weather(args: dict[str, Any]) -> str:
        calls.append(args["city"])
        if len(calls) == 1:
            running.set()
            await asyncio.Event().wait()  # until cancelled
        return f"sunny in {args['city']}"

    weather_tool = tool("weather").param("city", string()).handler(weather).build()
    agent = client.agent(scripted(WEATHER_TURNS, tools=[weather_tool]))
    turn = asyncio.ensure_future(agent.send_message("Weather?"))
    await running.wait()
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    reply = await agent.wait(timeout=30)  # runs the handler again: it never answered
    assert calls == ["Paris", "Paris"]
    assert reply.text == "It is sunny in Paris."
    await client.http.httpx_client.aclose()
    await nothing_left_running()


class Gate(httpx.AsyncBaseTransport):
    """The real transport, except that one tool answer is held until cancelled: before it
    is sent (``"before"``) or after the platform took it, its reply lost (``"after"``)."""

    def __init__(self, hold: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hold: str | None = hold
        self.reached = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.hold and request.method == "POST" and request.url.path.startswith("/tools/"):
            hold, self.hold = self.hold, None
            if hold == "after":
                response = await self.inner.handle_async_request(request)
                await response.aclose()
            self.reached.set()
            await asyncio.Event().wait()  # until cancelled
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("hold", ["before", "after"])
async def test_an_agent_turn_cancelled_while_its_tool_answer_is_in_flight(
    server: LocalPlatform, hold: str
) -> None:
    gate = Gate(hold)
    pool = httpx.AsyncClient(transport=gate, timeout=30)
    client = AsyncInference(
        api_key=server.api_key, base_url=server.base_url, http_client=pool, max_retries=0
    )
    calls: list[str] = []

    def weather(args: dict[str, Any]) -> str:
        calls.append(args["city"])
        return f"sunny in {args['city']}"

    weather_tool = tool("weather").param("city", string()).handler(weather).build()
    agent = client.agent(scripted(WEATHER_TURNS, tools=[weather_tool]))
    turn = asyncio.ensure_future(agent.send_message("Weather?"))
    await gate.reached.wait()
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    # The answer was kept: wait() sends it again ("before"), or learns from the platform's
    # 409 that it had arrived ("after"); either way the turn finishes, the tool ran once.
    reply = await agent.wait(timeout=30)
    assert reply.text == "It is sunny in Paris."
    assert calls == ["Paris"]
    await pool.aclose()
    await nothing_left_running()


@pytest.mark.usefixtures("sigint")
def test_a_sync_agent_turn_interrupted_in_a_tool_handler(server: LocalPlatform) -> None:
    calls: list[str] = []

    def weather(args: dict[str, Any]) -> str:
        calls.append(args["city"])
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl-C while the tool runs
        return f"sunny in {args['city']}"

    with sync_client(server) as client:
        weather_tool = tool("weather").param("city", string()).handler(weather).build()
        agent = client.agent(scripted(WEATHER_TURNS, tools=[weather_tool]))
        with pytest.raises(KeyboardInterrupt):
            agent.send_message("Weather?")
        assert agent.wait(timeout=30).text == "It is sunny in Paris."
        assert calls == ["Paris", "Paris"]
        client.http.httpx_client.close()

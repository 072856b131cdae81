"""The delta channel end to end: real apps in worker processes under the real local platform
stream ``LLMDelta``\\ s; the platform relays them on the task stream as ``DeltaEvent`` lines
(never stored); our client hands them to ``on_delta`` and to ``with_deltas()``; merged with
``DeltaAccumulator`` they give the task's output. Bad deltas are errors in the task log, never
a crash of the worker.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import DeltaAccumulator, TaskDelta, async_inference, inference
from inferencesh.core import Task, TaskStatus
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import App, PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"

DELTA_APPS = App(
    "delta-apps",
    """
    import asyncio
    from collections.abc import AsyncGenerator, Generator
    from typing import Any, ClassVar

    from inferencesh import BaseApp, BaseAppOutput
    from inferencesh.models import ChatInput, LLMDelta, LLMOutput, StreamDelta


    class Picture(BaseAppOutput):
        width: int = 0


    class BadRules(StreamDelta):
        text: str = ""
        _field_tags: ClassVar[dict[str, Any]] = {"text": {"merge": "shuffle"}}


    class App(BaseApp):
        async def run(self, input_data: ChatInput) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
            # Time for the caller's stream to attach: a task that ends before it does is
            # replayed (its deltas, then its end) without the running state in between.
            await asyncio.sleep(1.0)
            words = input_data.text.split()
            for index, word in enumerate(words):
                yield LLMDelta(response=word if index == 0 else " " + word)
            yield LLMOutput(response=" ".join(words))

        def sync_tokens(self, input_data: ChatInput) -> Generator[LLMDelta | LLMOutput, None, None]:
            for char in input_data.text:
                yield LLMDelta(response=char)
            yield LLMOutput(response=input_data.text)

        async def transient(self, input_data: ChatInput) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
            yield LLMDelta(response="zq-transient-marker")
            yield LLMOutput(response="final")

        async def only_deltas(
            self, input_data: ChatInput
        ) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
            yield LLMDelta(response="merged ")
            yield LLMDelta(response="by the runtime", reasoning="thought")

        async def picture(self, input_data: ChatInput) -> AsyncGenerator[Picture, None]:
            yield LLMDelta(response="not declared")
            yield Picture(width=3)

        async def bad_rules(self, input_data: ChatInput) -> AsyncGenerator[BadRules | LLMOutput, None]:
            yield BadRules(text="x")
            yield LLMOutput(response="still done")
    """,
)


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([EXAMPLES / "scripted-model", DELTA_APPS])


@pytest.fixture(scope="module")
def client(server: LocalPlatform) -> Any:
    with inference(api_key=server.api_key, base_url=server.base_url) as c:
        yield c


def _merged(deltas: list[TaskDelta]) -> dict[str, Any]:
    acc = DeltaAccumulator()
    for delta in deltas:
        acc.apply(delta)
    return acc.to_dict()


def test_on_delta_gets_every_token_and_they_merge_to_the_output(client: Any) -> None:
    deltas: list[TaskDelta] = []
    params = {"app": "local/delta-apps", "input": {"text": "the quick brown fox"}}
    task = client.run(params, on_delta=deltas.append)
    assert [d.text for d in deltas] == ["the", " quick", " brown", " fox"]
    assert [d.seq for d in deltas] == [1, 2, 3, 4]
    assert {d.task_id for d in deltas} == {task.id}
    assert _merged(deltas)["response"] == task.output["response"] == "the quick brown fox"
    # Deltas never became partial outputs: the output is the app's final one only.
    assert task.output == {"response": "the quick brown fox"}


def test_scripted_model_streams_text_and_reasoning_as_deltas(client: Any) -> None:
    script = [
        {
            "text": "Let me add those.",
            "reasoning": "use the tool",
            "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}],
        }
    ]
    deltas: list[TaskDelta] = []
    params = {"app": "local/scripted-model", "input": {"text": "2+3?", "script": script}}
    task = client.run(params, on_delta=deltas.append)
    merged = _merged(deltas)
    assert merged["response"] == task.output["response"] == "Let me add those."
    assert merged["reasoning"] == task.output["reasoning"] == "use the tool"
    # Tool calls come whole with the output (0.36's task stream fails on tool-call deltas).
    assert "tool_calls" not in merged
    [call] = task.output["tool_calls"]
    assert call["id"] == "call_0_0" and call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 2, "b": 3}
    # The published accumulator's output shape: an LLMOutput.
    acc = DeltaAccumulator()
    for delta in deltas:
        acc.apply(delta)
    assert acc.to_output().response == "Let me add those."


def test_with_deltas_yields_them_in_order_among_the_updates(client: Any) -> None:
    params = {"app": "local/delta-apps", "input": {"text": "one two three"}}
    with client.run(params, stream=True) as stream:
        items = list(stream.with_deltas())
    kinds = ["delta" if isinstance(i, TaskDelta) else "task" for i in items]
    assert kinds.count("delta") == 3
    assert kinds[-1] == "task" and items[-1].status.is_terminal
    first_delta = kinds.index("delta")
    running = [i for i in items[:first_delta] if isinstance(i, Task)]
    assert running and running[-1].status is TaskStatus.RUNNING  # deltas come while it runs
    assert stream.result.output["response"] == "one two three"


def test_plain_iteration_and_a_sync_generator_app(client: Any) -> None:
    seen: list[TaskDelta] = []
    params = {"app": "local/delta-apps", "function": "sync_tokens", "input": {"text": "abc"}}
    with client.run(params, stream=True, on_delta=seen.append) as stream:
        updates = list(stream)
    assert all(isinstance(u, Task) for u in updates)  # deltas went to the callback only
    assert "".join(d.text for d in seen) == "abc" == updates[-1].output["response"]


def test_a_generator_of_deltas_only_gets_them_merged_as_its_result(client: Any) -> None:
    params = {"app": "local/delta-apps", "function": "only_deltas", "input": {"text": "x"}}
    task = client.run(params)
    assert task.output["response"] == "merged by the runtime"
    assert task.output["reasoning"] == "thought"


def test_async_client_awaits_an_async_on_delta(server: LocalPlatform) -> None:
    async def main() -> tuple[list[str], Any]:
        texts: list[str] = []

        async def on_delta(delta: TaskDelta) -> None:
            await asyncio.sleep(0)
            texts.append(delta.text)

        async with async_inference(api_key=server.api_key, base_url=server.base_url) as c:
            params = {"app": "local/delta-apps", "input": {"text": "async works"}}
            task = await c.run(params, on_delta=on_delta)
            stream = await c.run(params, stream=True)
            items = [item async for item in stream.with_deltas()]
        return texts, (task, items)

    texts, (task, items) = asyncio.run(main())
    assert texts == ["async", " works"] and task.output["response"] == "async works"
    assert [i.text for i in items if isinstance(i, TaskDelta)] == ["async", " works"]


def _stream_lines(server: LocalPlatform, task_id: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {server.api_key}", "Accept": "application/x-ndjson"}
    with httpx.stream(
        "GET", f"{server.base_url}/tasks/{task_id}/stream", headers=headers, timeout=30
    ) as response:
        return [json.loads(line) for line in response.iter_lines() if line.strip()]


def test_the_wire_shape_is_the_platforms_delta_event_and_nothing_is_stored(
    client: Any, server: LocalPlatform
) -> None:
    script = [{"text": "slow words come one by one", "delay": 0.15}]
    params = {"app": "local/scripted-model", "input": {"text": "x", "script": script}}
    task = client.run(params, wait=False)
    lines = _stream_lines(server, task.id)  # opened after creation: earlier deltas replayed
    deltas = [line for line in lines if line.get("event") == "delta"]
    assert [set(d) for d in deltas] == [{"event", "data"}] * len(deltas)
    assert [d["data"]["seq"] for d in deltas] == list(range(1, 7))
    assert "".join(d["data"]["delta"]["response"] for d in deltas) == "slow words come one by one"
    record = client.get_task(task.id)
    assert record.output["response"] == "slow words come one by one"
    assert "delta" not in json.dumps([log.content for log in record.logs or []])


def test_deltas_are_never_written_to_the_database(client: Any, server: Any) -> None:
    seen: list[TaskDelta] = []
    params = {"app": "local/delta-apps", "function": "transient", "input": {"text": "x"}}
    task = client.run(params, on_delta=seen.append)
    assert [d.text for d in seen] == ["zq-transient-marker"] and task.output == {
        "response": "final"
    }
    stored = b"".join(p.read_bytes() for p in Path(server.data_dir).glob("*.sqlite*"))
    stored += b"".join(p.read_bytes() for p in Path(server.data_dir).glob("*.db*"))
    assert task.id.encode() in stored  # the task itself is there
    assert b"zq-transient-marker" not in stored


def test_a_stream_opened_mid_run_replays_the_earlier_deltas_once(client: Any) -> None:
    script = [{"text": "a b c d e f", "delay": 0.2}]
    params = {"app": "local/scripted-model", "input": {"text": "x", "script": script}}
    task = client.run(params, wait=False)
    deadline = time.monotonic() + 30
    while client.get_task(task.id).status is not TaskStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # a few deltas have gone by
    seen: list[TaskDelta] = []
    done = client.wait_for_completion(task.id, on_delta=seen.append)
    assert [d.seq for d in seen] == list(range(1, 7))
    assert "".join(d.text for d in seen) == done.output["response"] == "a b c d e f"


def test_bad_deltas_are_errors_in_the_task_log_and_the_worker_goes_on(client: Any) -> None:
    picture = client.run({"app": "local/delta-apps", "function": "picture", "input": {"text": "x"}})
    assert picture.status is TaskStatus.COMPLETED and picture.output == {"width": 3}
    logs = "".join(log.content for log in picture.logs or [])
    assert "delta dropped: `picture` yielded a LLMDelta, but declares no delta type" in logs

    seen: list[TaskDelta] = []
    bad = client.run(
        {"app": "local/delta-apps", "function": "bad_rules", "input": {"text": "x"}},
        on_delta=seen.append,
    )
    assert bad.output == {"response": "still done"} and seen == []
    logs = "".join(log.content for log in bad.logs or [])
    assert "delta dropped: BadRules has bad merge rules" in logs and "shuffle" in logs

    # The same worker process still serves deltas.
    after: list[TaskDelta] = []
    task = client.run(
        {"app": "local/delta-apps", "input": {"text": "still fine"}}, on_delta=after.append
    )
    assert [d.text for d in after] == ["still", " fine"] and task.worker_id == bad.worker_id

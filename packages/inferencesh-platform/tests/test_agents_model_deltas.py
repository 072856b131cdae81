"""The agent loop's delta source: a model app's own deltas passed on unchanged, cumulative
outputs turned into deltas when the app sends none, and the final output closing any gap, so
the deltas merged always equal the final message; the task runner routes a task stream's
``delta`` lines to it without touching the task record."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from inferencesh.platform.agents.model_deltas import ModelDeltas
from inferencesh.platform.agents.task_runner import TaskRunner


def _merged(sent: list[dict[str, Any]], key: str = "response") -> str:
    return "".join(d.get(key, "") for d in sent)


def test_cumulative_outputs_become_append_only_deltas() -> None:
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    for output in ({"reasoning": "hm"}, {"reasoning": "hmm", "response": "He"}, {}):
        deltas.from_output(output)
    deltas.from_output({"reasoning": "hmm", "response": "Hello"})
    deltas.finish({"reasoning": "hmm", "response": "Hello there"})
    assert sent == [
        {"reasoning": "hm"},
        {"response": "He", "reasoning": "m"},
        {"response": "llo"},
        {"response": " there"},
    ]


def test_a_change_that_is_not_growth_is_skipped_and_nothing_is_repeated() -> None:
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    deltas.from_output({"response": "<think>a"})
    deltas.from_output({"response": "b", "reasoning": "a"})  # text moved to reasoning
    deltas.finish({"response": "b", "reasoning": "a"})
    assert sent == [{"response": "<think>a"}, {"reasoning": "a"}]
    deltas.finish({"response": "b", "reasoning": "a"})
    assert len(sent) == 2  # an unchanged output sends nothing


def test_tool_calls_come_as_a_first_piece_then_argument_fragments() -> None:
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    call = {"id": "c1", "function": {"name": "lookup", "arguments": '{"wo'}}
    deltas.from_output({"tool_calls": [call]})
    call = {"id": "c1", "function": {"name": "lookup", "arguments": '{"word": "ion"}'}}
    second = {"id": "c2", "function": {"name": "add", "arguments": {"a": 1}}}
    deltas.finish({"tool_calls": [call, second]})
    pieces = [p for d in sent for p in d["tool_calls"]]
    assert pieces[0] == {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"wo'},
    }
    assert pieces[1] == {"index": 0, "function": {"arguments": 'rd": "ion"}'}}
    assert pieces[2]["index"] == 1 and pieces[2]["function"] == {
        "name": "add",
        "arguments": '{"a": 1}',
    }


def test_the_apps_own_deltas_go_out_unchanged_and_outputs_only_close_the_gap() -> None:
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    own = [
        {"response": "Hel", "usage": {"prompt_tokens": 3}},
        {"tool_calls": [{"index": 0, "id": "x", "function": {"name": "f", "arguments": "{"}}]},
        {"response": "lo", "tool_calls": [{"index": 0, "function": {"arguments": "}"}}]},
    ]
    deltas.from_event(own[0])
    deltas.from_output({"response": "Hel and more"})  # the app streams deltas: ignored
    deltas.from_event(own[1])
    deltas.from_event(own[2])
    deltas.from_event(None)  # no delta: nothing
    deltas.from_event({})
    final = {"response": "Hello!", "tool_calls": [{"id": "x", "function": {"name": "f"}}]}
    deltas.finish({**final, "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]})
    assert sent[:3] == own  # the very objects, unchanged
    assert sent[3:] == [{"response": "!"}]
    assert _merged(sent) == "Hello!"


def test_hostile_indexes_are_bounded() -> None:
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    deltas.from_event({"tool_calls": [{"index": 10**9, "function": {"arguments": "x"}}, "junk"]})
    deltas.from_event({"tool_calls": [{"index": -1, "function": {"arguments": "y"}}]})
    assert len(deltas._sent.calls) == 1 and deltas._sent.calls[0][1] == "xy"
    assert len(sent) == 2


_DONE = {"id": "t1", "status": 10, "output": {"response": "Hello"}}
_LINES = [
    {"event": "delta", "data": {"delta": {"response": "Hel"}, "seq": 1}},
    {"data": {"id": "t1", "status": 7}, "fields": ["status"]},
    {"event": "delta", "data": {"delta": {"response": "lo"}, "seq": 2}},
    {"data": _DONE, "fields": list(_DONE)},
]


class _Platform(BaseHTTPRequestHandler):
    """A task stream with delta lines between the task's updates."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"id": "t1", "status": 7}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for line in _LINES:
            self.wfile.write(json.dumps(line).encode() + b"\n")
        self.wfile.flush()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_runner_hands_delta_lines_to_on_delta_and_keeps_them_out_of_the_task(
    base_url: str,
) -> None:
    got: list[Any] = []
    updates: list[dict[str, Any]] = []

    async def update(task: dict[str, Any]) -> None:
        updates.append(dict(task))

    async def main() -> dict[str, Any]:
        runner = TaskRunner(base_url, "k")
        try:
            return await runner.run({"app": "a/b"}, on_update=update, on_delta=got.append)
        finally:
            await runner.close()

    task = asyncio.run(main())
    assert got == [{"response": "Hel"}, {"response": "lo"}]
    assert task["output"] == {"response": "Hello"}
    assert all("delta" not in u and "seq" not in u for u in updates)


def test_app_deltas_after_published_outputs_send_only_what_is_new() -> None:
    # An output update that came before the app's first delta was already published: the
    # app's deltas repeating it must not send that text twice.
    sent: list[dict[str, Any]] = []
    deltas = ModelDeltas(sent.append)
    deltas.from_output({"response": "Streaming "})
    deltas.from_event({"response": "Streaming "})  # nothing new
    deltas.from_event({"response": "tokens"})  # past what was published
    deltas.from_event({"response": "!"})  # in step again: as it came
    deltas.finish({"response": "Streaming tokens!"})
    assert sent == [{"response": "Streaming "}, {"response": "tokens"}, {"response": "!"}]
    assert _merged(sent) == "Streaming tokens!"

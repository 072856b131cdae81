"""The worker over real HTTP: a `python -m inferencesh.apps.worker` subprocess per example app,
driven exactly as the local platform drives it (contract C3, docs/worker.md), and a worker that
cannot start."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"


class Worker:
    """A worker subprocess and helpers to talk to it."""

    def __init__(self, app_dir: Path, workdir: Path) -> None:
        self.ready_file = workdir / "ready.json"
        self.log_path = workdir / "worker.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inferencesh.apps.worker",
                "--app-dir",
                str(app_dir),
                "--ready-file",
                str(self.ready_file),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not self.ready_file.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready in time:\n{self.output()}")
            time.sleep(0.02)
        ready = json.loads(self.ready_file.read_text())
        assert ready["pid"] == self.proc.pid
        self.url = f"http://127.0.0.1:{ready['port']}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def run(self, **body: Any) -> list[dict[str, Any]]:
        """POST /run and return every NDJSON event."""
        with self.client.stream("POST", "/run", json=body) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("application/x-ndjson")
            return [json.loads(line) for line in response.iter_lines() if line]

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    workers: list[Worker] = []

    def _start(app: str) -> Worker:
        worker = Worker(EXAMPLES / app, tmp_path_factory.mktemp("worker"))
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def hello(start: Any) -> Worker:
    return start("hello")


@pytest.fixture(scope="module")
def slow(start: Any) -> Worker:
    return start("slow")


@pytest.fixture(scope="module")
def failing(start: Any) -> Worker:
    return start("failing")


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] if e["type"] != "status" else e["status"] for e in events]


def test_health_before_any_run_and_schema(hello: Worker) -> None:
    assert hello.client.get("/health").json() == {
        "status": "idle",
        "app": "hello",
        "functions": ["run"],
        "setup": None,
    }
    schema = hello.client.get("/schema").json()
    assert set(schema) == {
        "input_schema",
        "output_schema",
        "setup_schema",
        "functions",
        "default_function",
    }
    assert schema["default_function"] == "run"
    assert list(schema["input_schema"]["properties"]) == ["prompt", "style", "count"]
    assert schema["setup_schema"]["properties"]["model_id"]["default"] == "gpt2"
    assert schema["functions"]["run"]["input_schema"] == schema["input_schema"]


def test_run_streams_events_in_contract_order(hello: Worker) -> None:
    events = hello.run(input={"prompt": "a cat", "count": 2}, metadata={"task_id": "t1"})
    assert kinds(events) == ["setting_up", "log", "running", "log", "result"]
    assert events[1] == {"type": "log", "log_type": "setup", "content": "loading gpt2"}
    assert events[3] == {"type": "log", "log_type": "run", "content": "Processing..."}
    assert events[-1] == {
        "type": "result",
        "output": {"result": "modern: a cat | modern: a cat", "model_id": "gpt2"},
    }
    health = hello.client.get("/health").json()
    assert health["status"] == "idle"
    assert health["setup"] == {"model_id": "gpt2"}


def test_setup_runs_once_per_config_and_again_on_change(hello: Worker) -> None:
    hello.run(input={"prompt": "warm"})
    # Same config (defaults spelled out): no setup.
    again = hello.run(input={"prompt": "x"}, setup={"model_id": "gpt2"})
    assert "setting_up" not in kinds(again)
    changed = hello.run(input={"prompt": "x"}, setup={"model_id": "llama"})
    assert kinds(changed)[:3] == ["setting_up", "log", "running"]
    assert changed[-1]["output"]["model_id"] == "llama"
    assert hello.client.get("/health").json()["setup"] == {"model_id": "llama"}
    back = hello.run(input={"prompt": "x"}, setup=None)
    assert "setting_up" in kinds(back)
    assert back[-1]["output"]["model_id"] == "gpt2"


def test_validation_error_names_field_and_reason(hello: Worker) -> None:
    events = hello.run(input={"count": "many"})
    assert len(events) == 1
    error = events[0]
    assert error["type"] == "error"
    assert error["kind"] == "validation"
    assert "prompt: Field required" in error["error"]
    assert "count: Input should be a valid integer" in error["error"]
    bad_setup = hello.run(input={"prompt": "x"}, setup={"model_id": ["not", "a", "string"]})
    assert bad_setup[-1]["kind"] == "validation"
    assert bad_setup[-1]["error"].startswith("invalid setup: model_id:")


def test_unknown_function_is_not_found(hello: Worker) -> None:
    events = hello.run(input={"prompt": "x"}, function="nope")
    assert events == [
        {
            "type": "error",
            "kind": "not_found",
            "error": "function 'nope' not found; the app has: run",
        }
    ]


def test_bad_bodies_are_400_with_a_reason(hello: Worker) -> None:
    response = hello.client.post("/run", content=b"{nope")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    response = hello.client.post("/run", json=[1])
    assert response.status_code == 400
    response = hello.client.post("/run", json={"input": {}, "setup": "big"})
    assert response.status_code == 400
    assert "`setup` must be an object" in response.json()["error"]


def test_app_exception_fails_run_with_traceback_and_worker_stays_usable(failing: Worker) -> None:
    events = failing.run(input={"fail": True, "message": "kaput"})
    final = events[-1]
    assert final["type"] == "error"
    assert final["kind"] == "app"
    assert final["error"] == "ValueError: kaput"
    assert "in explode" in final["traceback"]
    assert "inferencesh/apps/runtime" not in final["traceback"]
    logs = [e["content"] for e in events if e["type"] == "log"]
    assert logs[0] == "about to decide"
    assert "ValueError: kaput" in logs[-1]
    assert failing.client.get("/health").json()["status"] == "idle"
    ok = failing.run(input={"fail": False})
    assert ok[-1] == {"type": "result", "output": {"ok": True}}


def test_setup_failure_is_reported_and_retried(failing: Worker) -> None:
    events = failing.run(input={"fail": False}, setup={"fail_setup": True})
    assert kinds(events)[0] == "setting_up"
    assert events[-1]["kind"] == "setup"
    assert "setup was told to fail" in events[-1]["error"]
    assert any("RuntimeError" in e["content"] for e in events if e["type"] == "log")
    health = failing.client.get("/health").json()
    assert health["status"] == "setup_failed"
    assert health["setup"] is None
    ok = failing.run(input={"fail": False})
    assert kinds(ok)[0] == "setting_up"
    assert ok[-1]["type"] == "result"
    assert failing.client.get("/health").json()["status"] == "idle"


def test_busy_409_then_cancel_ends_stream_with_cancelled(slow: Worker) -> None:
    with slow.client.stream("POST", "/run", json={"input": {"seconds": 30}}) as response:
        lines = response.iter_lines()
        seen = [json.loads(next(lines))]
        while seen[-1].get("status") != "running":
            seen.append(json.loads(next(lines)))
        assert slow.client.get("/health").json()["status"] == "busy"
        busy = slow.client.post("/run", json={"input": {"seconds": 0}})
        assert busy.status_code == 409
        assert busy.json() == {"error": "busy"}
        started = time.monotonic()
        assert slow.client.post("/cancel").json() == {"cancelled": True}
        rest = [json.loads(line) for line in lines if line]
    assert time.monotonic() - started < 5
    assert rest[-1]["type"] == "error"
    assert rest[-1]["kind"] == "cancelled"
    # on_cancel ran inside the run and its print reached the run's logs.
    assert any(e.get("content") == "cancel requested" for e in rest)
    assert slow.client.post("/cancel").json() == {"cancelled": False}
    after = slow.run(input={"seconds": 0})
    assert after[-1] == {"type": "result", "output": {"steps": 0, "cancel_requests": 1}}


def test_client_disconnect_cancels_the_run(slow: Worker) -> None:
    with slow.client.stream("POST", "/run", json={"input": {"seconds": 30}}) as response:
        lines = response.iter_lines()
        while json.loads(next(lines)).get("status") != "running":
            pass
    # The connection is closed mid-stream: the worker stops the run and is free again.
    deadline = time.monotonic() + 5
    while slow.client.get("/health").json()["status"] != "idle":
        assert time.monotonic() < deadline, "the run kept going after the client left"
        time.sleep(0.02)
    assert slow.run(input={"seconds": 0})[-1]["type"] == "result"


def test_cancel_interrupts_a_sync_function(slow: Worker) -> None:
    body = {"input": {"seconds": 30, "step": 0.02}, "function": "run_sync"}
    with slow.client.stream("POST", "/run", json=body) as response:
        lines = response.iter_lines()
        while json.loads(next(lines)).get("content") != "step 3":
            pass
        assert slow.client.post("/cancel").json() == {"cancelled": True}
        rest = [json.loads(line) for line in lines if line]
    assert rest[-1]["kind"] == "cancelled"
    assert slow.client.get("/health").json()["status"] == "idle"
    assert slow.run(input={"seconds": 0}, function="run_sync")[-1]["type"] == "result"


def test_streaming_partial_outputs(start: Any) -> None:
    worker = start("streaming")
    events = worker.run(input={"text": "a b c"})
    outputs = [e for e in events if e["type"] in ("output", "result")]
    assert [e["type"] for e in outputs] == ["output", "output", "output", "result"]
    assert [e["output"]["text"] for e in outputs] == ["a", "a b", "a b c", "a b c"]
    assert outputs[-1]["output"]["done"] is True
    progress = [e["content"] for e in events if e["type"] == "log"]
    assert progress == ["[progress] 33% (1/3)", "[progress] 67% (2/3)", "[progress] 100% (3/3)"]


def test_multi_function_routing(start: Any) -> None:
    worker = start("multi_function")
    assert worker.client.get("/health").json()["functions"] == ["run", "reverse"]
    assert worker.run(input={}, function="reverse")[-1]["kind"] == "validation"
    assert worker.run(input={"text": "abc"}, function="reverse")[-1] == {
        "type": "result",
        "output": {"reversed_text": "cba"},
    }
    assert worker.run(input={})[-1]["output"] == {"message": "Hello, World!"}
    schema = worker.client.get("/schema").json()
    assert set(schema["functions"]) == {"run", "reverse"}
    assert schema["setup_schema"] is None


def test_session_style_state_lives_in_the_worker(start: Any) -> None:
    worker = start("counter")
    assert worker.run(input={"value": 5}, function="set_value")[-1]["output"] == {"value": 5}
    assert worker.run(input={"by": 2}, function="increment")[-1]["output"] == {"value": 7}
    assert worker.run(input={}, function="get_value")[-1]["output"] == {"value": 7}


@pytest.fixture(scope="module")
def http_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("served")
    (root / "remote.txt").write_text("fetched over http")
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_file_inputs_from_url_data_uri_and_path_and_file_output(
    start: Any, http_files: str, tmp_path: Path
) -> None:
    worker = start("files")
    data_uri = "data:text/plain;base64," + base64.b64encode(b"inline data").decode()
    local = tmp_path / "local.txt"
    local.write_text("abc")
    events = worker.run(input={"document": f"{http_files}/remote.txt", "extra": data_uri})
    output = events[-1]["output"]
    upper = output["upper"]
    assert Path(upper["path"]).is_absolute()
    assert Path(upper["path"]).read_text() == "FETCHED OVER HTTP"
    assert "uri" not in upper
    assert output["size"] == len("fetched over http")
    assert output["extra_size"] == len("inline data")
    second = worker.run(input={"document": str(local)})
    assert Path(second[-1]["output"]["upper"]["path"]).read_text() == "ABC"
    missing = worker.run(input={"document": f"{http_files}/absent.txt"})
    assert missing[-1]["kind"] == "validation"
    assert "document" in missing[-1]["error"]


def test_shutdown_endpoint_unloads_and_exits_zero(start: Any) -> None:
    worker = start("hello")
    worker.run(input={"prompt": "x"})
    assert worker.client.post("/shutdown").status_code == 200
    assert worker.proc.wait(15) == 0
    assert "unloading" in worker.output()


def test_sigterm_during_a_run_cancels_it_unloads_and_exits_zero(start: Any) -> None:
    worker = start("slow")
    with worker.client.stream("POST", "/run", json={"input": {"seconds": 30}}) as response:
        lines = response.iter_lines()
        while json.loads(next(lines)).get("status") != "running":
            pass
        worker.proc.send_signal(signal.SIGTERM)
        rest = [json.loads(line) for line in lines if line]
    assert rest[-1]["kind"] == "cancelled"
    assert worker.proc.wait(15) == 0
    assert "slow app unloaded" in worker.output()


def test_a_broken_app_exits_1_before_ready(tmp_path: Path) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    (app / "inference.py").write_text("import not_a_module_anywhere\n")
    ready = tmp_path / "ready.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferencesh.apps.worker",
            "--app-dir",
            str(app),
            "--ready-file",
            str(ready),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "importing" in proc.stderr
    assert "No module named 'not_a_module_anywhere'" in proc.stderr
    assert not ready.exists()


EXAMPLE_APPS = [
    "chat_llm",
    "counter",
    "failing",
    "files",
    "hello",
    "multi_function",
    "setup_config",
    "slow",
    "streaming",
    "signatures/setup_none",
    "signatures/setup_config",
    "signatures/setup_metadata",
    "signatures/setup_config_metadata",
    "seed/structure",
    "seed/run_method",
    "seed/setup_model",
    "seed/files",
    "seed/llm_chat",
]


@pytest.mark.parametrize("app", EXAMPLE_APPS)
async def test_every_example_gives_the_same_result_in_process_and_over_http(
    app: str, tmp_path: Path
) -> None:
    from inferencesh.apps.runtime import AppRunner

    body = json.loads((EXAMPLES / app / "input.json").read_text())
    runner = AppRunner.from_dir(EXAMPLES / app)
    cwd = Path.cwd()
    os.chdir(EXAMPLES / app)  # as the worker does, for relative input paths
    try:
        local = await runner.run(body, metadata={"task_id": "t-1"})
    finally:
        os.chdir(cwd)
        await runner.unload()
    worker = Worker(EXAMPLES / app, tmp_path)
    try:
        events = worker.run(input=body, metadata={"task_id": "t-1"})
    finally:
        worker.stop()
    assert local.ok, local.error
    assert events[-1]["type"] == "result", events[-1]

    def shape(run_events: list[Any]) -> list[Any]:
        # Logs may interleave differently; output files land in per-process temporary folders.
        kept = [e for e in run_events if e["type"] != "log"]
        return [e["type"] for e in kept] if "files" in app else kept

    assert shape(events) == shape(local.events)
    assert events[-1]["output"].keys() == (local.output or {}).keys()


def test_an_app_reads_files_next_to_it_at_import_from_any_directory(tmp_path: Path) -> None:
    # `python -m inferencesh.apps.worker --app-dir X` started elsewhere: the app's module-level
    # open("labels.txt") finds its own file, as in the platform's engine.
    app = tmp_path / "labels"
    app.mkdir()
    (app / "labels.txt").write_text("cat\ndog\n")
    (app / "inference.py").write_text(
        "from inferencesh import BaseApp, BaseAppInput, BaseAppOutput\n"
        "with open('labels.txt') as labels:\n    LABELS = labels.read().split()\n"
        "class AppInput(BaseAppInput):\n    index: int = 0\n"
        "class AppOutput(BaseAppOutput):\n    label: str\n"
        "class App(BaseApp):\n"
        "    async def run(self, input_data: AppInput) -> AppOutput:\n"
        "        return AppOutput(label=LABELS[input_data.index])\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = Path.cwd()
    os.chdir(elsewhere)  # the worker inherits this directory
    try:
        worker = Worker(Path("..") / "labels", tmp_path)  # a relative --app-dir too
    finally:
        os.chdir(cwd)
    try:
        events = worker.run(input={"index": 1})
        assert events[-1]["output"] == {"label": "dog"}, events
    finally:
        worker.stop()


# -- a worker that cannot start: an unreadable inf.yml exits 1, naming the file ------------


ECHO_APP = """
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput

class AppInput(BaseAppInput):
    text: str = ""

class AppOutput(BaseAppOutput):
    text: str

class App(BaseApp):
    def run(self, input_data: AppInput) -> AppOutput:
        return AppOutput(text=input_data.text)
"""


def start_worker(app: Path, ready: Path) -> subprocess.CompletedProcess[str]:
    """Run the worker over ``app`` the way the platform starts it, until it exits."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "inferencesh.apps.worker"),
            *("--app-dir", str(app), "--ready-file", str(ready)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (b"name: caf\xe9\n", "cannot be read as UTF-8"),
        (b"name: [unclosed\n", "is not valid YAML"),
    ],
)
def test_an_unreadable_inf_yml_exits_1_naming_the_file_without_a_traceback(
    tmp_path: Path, manifest: bytes, problem: str
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "inference.py").write_text(ECHO_APP)
    (app / "inf.yml").write_bytes(manifest)
    ready = tmp_path / "ready.json"
    proc = start_worker(app, ready)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {app / 'inf.yml'} {problem}"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not ready.exists()

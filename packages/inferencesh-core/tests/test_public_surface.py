"""The public surface: exports, sync/async parity, wire types, secrecy of the API key, logging."""

from __future__ import annotations

import inspect
import json
import logging
import subprocess
import sys
import traceback

import inferencesh
import inferencesh.core as core
import msgspec
import pytest
from core_testkit import BASE, KEY, Chunks, task
from inferencesh.core import (
    TERMINAL_STATUSES,
    AsyncInference,
    Inference,
    InferenceError,
    StreamEvent,
    Task,
    TaskStatus,
    UploadedFile,
    decode,
    encode,
    parse_status,
)
from pytest_httpx import HTTPXMock


def test_core_exports_every_top_level_core_name() -> None:
    wanted = [n for n, (mod, _) in inferencesh._EXPORTS.items() if mod == "inferencesh.core"]
    for name in wanted:
        assert getattr(core, name) is getattr(inferencesh, name), name
    assert set(wanted) <= set(core.__all__)
    for name in core.__all__:
        getattr(core, name)


def test_import_is_lazy() -> None:
    code = (
        "import sys, inferencesh, inferencesh.core, inferencesh.core.types\n"
        "print('httpx' in sys.modules)\n"
        "from inferencesh import TaskStatus\n"
        "print('httpx' in sys.modules)\n"
        "from inferencesh import inference\n"
        "print('httpx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def _public(cls: type) -> dict[str, inspect.Signature]:
    names = [n for n in dir(cls) if not n.startswith("_")]
    return {
        n: inspect.signature(getattr(cls, n))
        for n in names
        if callable(getattr(cls, n)) and not isinstance(getattr(cls, n), property)
    }


def test_sync_async_same_surface() -> None:
    sync, asynch = _public(Inference), _public(AsyncInference)
    assert set(sync) - {"close"} <= set(asynch)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(asynch[name].parameters), name
    assert inspect.signature(Inference.__init__).parameters.keys() == (
        inspect.signature(AsyncInference.__init__).parameters.keys()
    )
    for name in ("run", "get_task", "cancel", "wait_for_completion", "upload_file", "session"):
        assert inspect.iscoroutinefunction(getattr(AsyncInference, name)), name


def test_namespaces_are_the_flat_methods() -> None:
    client = Inference(api_key=KEY, base_url=BASE)
    assert client.tasks.get == client.get_task
    assert client.tasks.stream == client.stream_task
    assert client.files.upload == client.upload_file
    assert client.sessions.keepalive == client.keepalive
    client.close()


def test_task_status_values_and_rules() -> None:
    assert [s.value for s in TaskStatus] == list(range(14))
    assert TaskStatus.CANCELLED == 12 and TaskStatus.REJECTED == 13
    assert {
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
        TaskStatus.REJECTED,
    } == TERMINAL_STATUSES
    assert TaskStatus.CANCELLED.is_terminal and not TaskStatus.UPLOADING.is_terminal
    assert str(TaskStatus.SETTING_UP) == "setting_up"
    assert f"{TaskStatus.RUNNING}" == "running" and f"{TaskStatus.RUNNING:d}" == "7"
    assert TaskStatus.RUNNING.can_transition_to(TaskStatus.UPLOADING)
    assert TaskStatus.UPLOADING.can_transition_to(TaskStatus.CANCELLING)
    assert not TaskStatus.UPLOADING.can_transition_to(TaskStatus.RUNNING)
    assert TaskStatus.DISPATCHED.can_transition_to(TaskStatus.QUEUED)
    assert not TaskStatus.PREPARING.can_transition_to(TaskStatus.QUEUED)
    assert not TaskStatus.COMPLETED.can_transition_to(TaskStatus.FAILED)
    assert TaskStatus.CANCELLING.can_transition_to(TaskStatus.CANCELLED)


def test_task_status_this_sdk_does_not_know_keeps_its_number() -> None:
    task = decode(b'{"id":"t","status":14}', Task)
    status = task.status
    assert status == 14 and isinstance(status, TaskStatus) and status is TaskStatus(14)
    assert str(status) == "unknown_14" and f"{status:d}" == "14"
    assert not status.is_known and not status.is_terminal and not task.is_terminal
    assert encode(task) == b'{"id":"t","status":14}'
    assert parse_status(14) is status and parse_status("nonsense") is TaskStatus.UNKNOWN
    assert len(TaskStatus) == 14 and status not in list(TaskStatus)  # not a new member
    assert TaskStatus.RUNNING.can_transition_to(14) and status.can_transition_to(7)
    assert status.can_transition_to(TaskStatus.COMPLETED)
    assert not TaskStatus.COMPLETED.can_transition_to(14)
    with pytest.raises(ValueError, match="not a valid TaskStatus"):
        TaskStatus("running")  # type: ignore[arg-type]


def test_wire_types_codec_and_dict_access() -> None:
    raw = b'{"id":"t","status":10,"output":{"a":1},"logs":[{"content":"x"}],"new_field":1}'
    t = decode(raw, Task)
    assert t.status is TaskStatus.COMPLETED
    assert t["output"] == {"a": 1} and t.get("error") is None and t.get("error", "-") == "-"
    assert "output" in t and "error" not in t and "nonsense" not in t
    assert t.keys() == ["id", "status", "output", "logs"]
    assert encode(t) == b'{"id":"t","status":10,"output":{"a":1},"logs":[{"content":"x"}]}'
    assert t.to_dict()["logs"] == [{"content": "x"}]
    with pytest.raises(KeyError):
        t["nonsense"]
    assert decode(b'{"status": 13}', Task).status is TaskStatus.REJECTED
    with pytest.raises(msgspec.ValidationError, match=r"\$\.status"):
        decode(b'{"status": "running"}', Task)  # a number is expected
    assert repr(UploadedFile(id="f", uri="u")) == "UploadedFile(id='f', uri='u')"
    assert encode(StreamEvent(data=1)) == b'{"data":1}'


def _secret_leaks(text: str) -> bool:
    return KEY in text or KEY[4:] in text


def test_api_key_never_in_reprs_errors_or_logs(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", status_code=401, json={"detail": "bad"})
    httpx_mock.add_response(url=f"{BASE}/tasks/t1/stream", stream=Chunks([b'{"data":'], None))
    httpx_mock.add_response(url=f"{BASE}/tasks/t1", json=task(status=11, error="oops"))
    client = Inference(api_key=KEY, base_url=BASE, max_retries=0)
    texts = [repr(client), repr(client.http), repr(client._config)]
    errors = []
    for call in (lambda: client.get_task("t1"), lambda: client.wait_for_completion("t1")):
        try:
            call()
        except InferenceError as exc:
            errors.append(exc)
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += ["".join(traceback.format_exception(e)) for e in errors]
    texts.append(caplog.text)
    assert caplog.text  # the requests were logged
    assert len(errors) == 2
    assert not [t for t in texts if _secret_leaks(t)]
    client.close()


def test_inference_log_env_enables_debug_logging(tmp_path) -> None:
    code = (
        "import httpx\n"
        "from inferencesh import inference\n"
        "def reply(request): return httpx.Response(200, json={'id': 't', 'status': 1})\n"
        "c = inference(api_key='inf_hidden_key', base_url='http://127.0.0.1:9',"
        " http_client=httpx.Client(transport=httpx.MockTransport(reply)))\n"
        "c.get_task('t')\n"
    )
    env = {"INFERENCE_LOG": "debug", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "GET /tasks/t -> 200" in out.stderr
    assert "inf_hidden_key" not in out.stderr


def test_user_http_client_is_used_and_not_closed(httpx_mock: HTTPXMock) -> None:
    import httpx

    httpx_mock.add_response(url=f"{BASE}/tasks/t1", json=task())
    own = httpx.Client()
    with Inference(api_key=KEY, base_url=BASE, http_client=own) as client:
        assert client.get_task("t1").id == "t1"
        assert client.http.httpx_client is own
    assert not own.is_closed
    own.close()


def test_agent_factory_needs_agents_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "inferencesh.agents", None)
    client = Inference(api_key=KEY, base_url=BASE)
    with pytest.raises(ImportError, match="pip install inferencesh-agents"):
        client.agent("my-org/assistant@latest")
    with pytest.raises(ImportError, match="inferencesh-agents"):
        _ = client.agents
    client.close()


# -- the rest of TaskDTO: rating and usage events round trip -------------------------------


def test_task_rating_and_usage_events_round_trip() -> None:
    wire = {
        "id": "t1",
        "status": 10,
        "rating": {"score": 1, "comment": "good"},
        "usage_events": [{"type": "gpu_seconds", "quantity": 2.5}, {"type": "tokens"}],
    }
    task = decode(json.dumps(wire), Task)
    assert task.status == TaskStatus.COMPLETED
    assert task.rating == {"score": 1, "comment": "good"}
    assert task["usage_events"] == wire["usage_events"]
    assert json.loads(encode(task)) == wire
    bare = decode(b'{"id":"t2","status":1,"rating":0}', Task)
    assert bare.rating == 0 and bare.usage_events is None
    assert json.loads(encode(bare)) == {"id": "t2", "status": 1, "rating": 0}

"""Our client (sync and async) against the local platform, end to end, for every seed example from
"Quick Start" to "Sessions" and "Error Handling" (with the example apps standing in for cloud apps)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from inferencesh import (
    APIError,
    NotFoundError,
    RequirementsNotMetException,
    SessionEndedError,
    SessionNotFoundError,
    TaskCancelledError,
    TaskFailedError,
    TaskStatus,
    UploadFileOptions,
    async_inference,
    inference,
)
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, PlatformFactory, copied_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"
SECRET = "INFSH_CLIENT_TEST_SECRET"


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [EXAMPLES, OWN / "apps"],
        files=copied_app(EXAMPLES / "hello", "needs-secret", f"secrets:\n  - key: {SECRET}\n"),
        args=["--cancel-timeout", "2"],
        env={SECRET: None},
    )


@pytest.fixture(scope="module")
def client(server: LocalPlatform) -> Iterator[object]:
    with inference(api_key=server.api_key, base_url=server.base_url) as c:
        yield c


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "image.txt"
    path.write_text("pixels\n")
    return path


# --- Quick Start / Authentication ----------------------------------------------------------


def test_quick_start(server: LocalPlatform) -> None:
    client = inference(api_key=server.api_key, base_url=server.base_url)
    result = client.run({"app": "local/hello", "input": {"prompt": "A sunset over mountains"}})
    assert "A sunset over mountains" in result["output"]["result"]
    client.close()


def test_api_key_from_the_environment(
    server: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERENCE_API_KEY", server.api_key)
    client = inference(api_key=os.environ["INFERENCE_API_KEY"], base_url=server.base_url)
    assert (
        client.run({"app": "local/hello", "input": {"prompt": "env"}})["status"]
        == TaskStatus.COMPLETED
    )
    client.close()


def test_wrong_key_is_rejected(server: LocalPlatform) -> None:
    client = inference(api_key="inf_wrong", base_url=server.base_url)
    with pytest.raises(APIError) as caught:
        client.run({"app": "local/hello", "input": {"prompt": "x"}})
    assert caught.value.status == 401
    assert "inf_wrong" not in str(caught.value)
    client.close()


# --- Running Apps ----------------------------------------------------------------------------


def test_basic_execution(client: object) -> None:
    result = client.run({"app": "local/hello", "input": {"prompt": "A cat astronaut"}})  # type: ignore[attr-defined]
    assert result["status"] == TaskStatus.COMPLETED == 10
    assert result["output"]["result"].endswith("A cat astronaut")


def test_fire_and_forget(client: object) -> None:
    task = client.run({"app": "local/slow", "input": {"seconds": 0.2}}, wait=False)  # type: ignore[attr-defined]
    assert task["id"] and task["status"] in (TaskStatus.RECEIVED, TaskStatus.QUEUED)
    deadline = time.monotonic() + 20
    while (later := client.get_task(task["id"]))["status"] != TaskStatus.COMPLETED:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert later["output"]["steps"] >= 1


def test_streaming_progress(client: object) -> None:
    seen = []
    logs = []
    for update in client.run(
        {"app": "local/streaming", "input": {"text": "Ocean waves at sunset"}}, stream=True
    ):  # type: ignore[attr-defined]
        seen.append((update["status"], update.get("output")))
        if update.get("logs"):
            logs.append(update["logs"][-1])
    assert seen[-1][0] == TaskStatus.COMPLETED
    assert seen[-1][1]["text"] == "Ocean waves at sunset" and seen[-1][1]["done"] is True
    assert any(out and out.get("done") is False for _, out in seen)  # partial outputs streamed
    assert logs  # logs arrive while it runs


def test_run_parameters_setup_and_function(client: object) -> None:
    params = {
        "app": "local/setup-config",
        "input": {},
        "setup": {"model_id": "large", "precision": "fp32"},
    }
    first = client.run(params)  # type: ignore[attr-defined]
    assert (first["output"]["model_id"], first["output"]["precision"]) == ("large", "fp32")
    again = client.run(params)  # type: ignore[attr-defined]
    # The worker stays warm for this setup: setup does not run again.
    assert again["output"]["setups"] == first["output"]["setups"]
    reversed_ = client.run(
        {"app": "local/multi-function", "function": "reverse", "input": {"text": "abc"}}
    )  # type: ignore[attr-defined]
    assert "cba" in str(reversed_["output"])


def test_cancel(client: object) -> None:
    task = client.run({"app": "local/slow", "input": {"seconds": 30}}, wait=False)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    while client.get_task(task["id"])["status"] != TaskStatus.RUNNING:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.cancel(task["id"])  # type: ignore[attr-defined]
    with pytest.raises(TaskCancelledError):
        client.wait_for_completion(task["id"], timeout=20)  # type: ignore[attr-defined]


# --- File Handling ---------------------------------------------------------------------------


def test_automatic_upload(client: object, sample: Path) -> None:
    result = client.run({"app": "local/files", "input": {"document": str(sample)}})  # type: ignore[attr-defined]
    assert result["output"]["size"] == len("pixels\n")
    assert result["output"]["upper"]["uri"].startswith("http://127.0.0.1:")


def test_manual_upload_basic_and_with_options(client: object, sample: Path) -> None:
    file = client.upload_file(str(sample))  # type: ignore[attr-defined]
    assert file["uri"]
    named = client.upload_file(  # type: ignore[attr-defined]
        str(sample),
        UploadFileOptions(filename="custom_name.txt", content_type="text/plain", public=True),
    )
    assert named["filename"] == "custom_name.txt" and named["content_type"] == "text/plain"
    result = client.run({"app": "local/files", "input": {"document": named["uri"]}})  # type: ignore[attr-defined]
    assert result["output"]["size"] == len("pixels\n")


def test_output_file_content_is_served(client: object, sample: Path) -> None:
    import httpx

    result = client.run({"app": "local/files", "input": {"document": str(sample)}})  # type: ignore[attr-defined]
    assert httpx.get(result["output"]["upper"]["uri"], trust_env=False).text == "PIXELS\n"


# --- Sessions ----------------------------------------------------------------------------------


def test_sessions_as_in_the_seed(client: object) -> None:
    result = client.run(
        {  # type: ignore[attr-defined]
            "app": "local/counter",
            "function": "set_value",
            "input": {"value": 1},
            "session": "new",
            "session_timeout": 300,
        }
    )
    session_id = result["session_id"]
    assert session_id.startswith("sess_")
    result = client.run(
        {"app": "local/counter", "function": "increment", "input": {"by": 2}, "session": session_id}
    )  # type: ignore[attr-defined]
    assert result["output"] == {"value": 3}
    client.end_session(session_id)  # type: ignore[attr-defined]
    with pytest.raises(SessionEndedError):
        client.run({"app": "local/counter", "input": {}, "session": session_id})  # type: ignore[attr-defined]


def test_session_handle(client: object) -> None:
    with client.session("local/counter", function="set_value", input={"value": 10}) as session:  # type: ignore[attr-defined]
        assert session.call("increment", {"by": 5})["output"] == {"value": 15}
        info = session.info()
        assert info["status"] == "active" and info["call_count"] == 2
        assert session.keepalive()["id"] == session.session_id
    with pytest.raises(SessionNotFoundError):
        client.get_session("sess_doesnotexist")  # type: ignore[attr-defined]


# --- Error Handling ----------------------------------------------------------------------------


def test_error_handling_requirements(client: object) -> None:
    with pytest.raises(RequirementsNotMetException) as caught:
        client.run({"app": "local/needs-secret", "input": {"prompt": "x"}})  # type: ignore[attr-defined]
    errors = caught.value.errors
    assert [(err["type"], err["key"]) for err in errors] == [("secret", SECRET)]


def test_error_handling_failures_are_runtime_errors(client: object) -> None:
    with pytest.raises(TaskFailedError) as caught:
        client.run({"app": "local/failing", "input": {"fail": True, "message": "kaput"}})  # type: ignore[attr-defined]
    assert isinstance(caught.value, RuntimeError)
    assert "kaput" in str(caught.value)
    with pytest.raises(NotFoundError):
        client.run({"app": "local/not-an-app", "input": {}})  # type: ignore[attr-defined]


# --- Async Support -----------------------------------------------------------------------------


async def test_async_client_end_to_end(server: LocalPlatform, sample: Path) -> None:
    client = async_inference(api_key=server.api_key, base_url=server.base_url)
    try:
        result = await client.run({"app": "local/hello", "input": {"prompt": "A galaxy"}})
        assert result["output"]["result"].endswith("A galaxy")
        task = await client.run({"app": "local/hello", "input": {"prompt": "later"}}, wait=False)
        done = await client.wait_for_completion(task["id"], timeout=20)
        assert done["status"] == TaskStatus.COMPLETED
        statuses = [
            u["status"]
            async for u in await client.run(
                {"app": "local/streaming", "input": {"text": "a b"}}, stream=True
            )
        ]
        assert statuses[-1] == TaskStatus.COMPLETED
        uploaded = await client.upload_file(str(sample))
        out = await client.run({"app": "local/files", "input": {"document": uploaded["uri"]}})
        assert out["output"]["size"] == len("pixels\n")
        first = await client.run(
            {
                "app": "local/counter",
                "function": "set_value",
                "input": {"value": 5},
                "session": "new",
            }
        )
        second = await client.run(
            {
                "app": "local/counter",
                "function": "increment",
                "input": {},
                "session": first["session_id"],
            }
        )
        assert second["output"] == {"value": 6}
        await client.end_session(first["session_id"])
        with pytest.raises(RequirementsNotMetException):
            await client.run({"app": "local/needs-secret", "input": {}})
    finally:
        await client.aclose()

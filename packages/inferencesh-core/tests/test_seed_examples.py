"""The seed's examples from "Quick Start" to "Sessions", and "Error Handling", run as written.

They run against a fake platform on pytest-httpx here; the local platform's end-to-end tests
run them for real. Only placeholders are filled in: a real file for "/path/to/image.png" and
an input for the ``{...}`` of the error-handling example.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from core_testkit import BASE, KEY, FakePlatform
from pytest_httpx import HTTPXMock


@pytest.fixture
def platform(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> FakePlatform:
    # The seed builds clients without base_url; keep every request on loopback.
    monkeypatch.setenv("INFERENCE_BASE_URL", BASE)
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    return FakePlatform().install(httpx_mock)


def run_example(code: str, capsys: pytest.CaptureFixture[str], **names: object) -> str:
    code = textwrap.dedent(code).replace("inf_your_key", KEY).replace('"inf_..."', f'"{KEY}"')
    exec(compile(code, "<seed example>", "exec"), dict(names))
    return capsys.readouterr().out


CLIENT = """
from inferencesh import inference

client = inference(api_key="inf_your_key")
"""


def test_quick_start(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_example(
        """
        from inferencesh import inference

        client = inference(api_key="inf_your_key")

        # Run an AI app
        result = client.run({
            "app": "infsh/flux-schnell",
            "input": {"prompt": "A sunset over mountains"}
        })
        print(result["output"])
        """,
        capsys,
    )
    assert "A sunset over mountains" in out
    assert platform.runs[0]["app"] == "infsh/flux-schnell"


def test_authentication(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(
        """
        import os
        from inferencesh import inference

        # Direct API key
        client = inference(api_key="inf_your_key")

        # From environment variable (recommended)
        client = inference(api_key=os.environ["INFERENCE_API_KEY"])
        """,
        capsys,
    )


def test_basic_execution(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_example(
        CLIENT
        + """
result = client.run({
    "app": "infsh/flux-schnell",
    "input": {"prompt": "A cat astronaut"}
})

print(result["status"])  # "completed"
print(result["output"])  # Output data
""",
        capsys,
    )
    lines = out.splitlines()
    assert lines[0] == "completed"
    assert "A cat astronaut" in lines[1]


def test_fire_and_forget(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_example(
        CLIENT
        + """
task = client.run({
    "app": "google/veo-3-1-fast",
    "input": {"prompt": "Drone flying over mountains"}
}, wait=False)

print(f"Task ID: {task['id']}")
# Check later with client.get_task(task['id'])
print(client.get_task(task['id'])["status"])
""",
        capsys,
    )
    assert out.splitlines() == ["Task ID: t1", "received"]


def test_streaming_progress(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_example(
        CLIENT
        + """
for update in client.run({
    "app": "google/veo-3-1-fast",
    "input": {"prompt": "Ocean waves at sunset"}
}, stream=True):
    print(f"Status: {update['status']}")
    if update.get("logs"):
        print(update["logs"][-1])
""",
        capsys,
    )
    assert out.splitlines() == [
        "Status: received",
        "Status: running",
        "running google/veo-3-1-fast",
        "Status: completed",
        "running google/veo-3-1-fast",
    ]


def test_automatic_upload(
    platform: FakePlatform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(b"\x89PNG fake image")
    run_example(
        (
            CLIENT
            + """
result = client.run({
    "app": "image-processor",
    "input": {
        "image": "/path/to/image.png"  # Auto-uploaded
    }
})
"""
        ).replace("/path/to/image.png", str(image)),
        capsys,
    )
    sent = platform.runs[0]["input"]["image"]
    assert sent == "https://cdn.example/files/f1/image.png"
    assert platform.uploads["f1"] == b"\x89PNG fake image"
    assert platform.files["f1"]["spec"]["content_type"] == "image/png"


def test_manual_upload(
    platform: FakePlatform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(b"png bytes")
    run_example(
        (
            CLIENT
            + """
from inferencesh import UploadFileOptions

# Basic upload
file = client.upload_file("/path/to/image.png")

# With options
file = client.upload_file(
    "/path/to/image.png",
    UploadFileOptions(
        filename="custom_name.png",
        content_type="image/png",
        public=True
    )
)

result = client.run({
    "app": "image-processor",
    "input": {"image": file["uri"]}
})
"""
        ).replace("/path/to/image.png", str(image)),
        capsys,
    )
    assert platform.files["f1"]["spec"]["filename"] == "image.png"
    spec = platform.files["f2"]["spec"]
    assert (spec["filename"], spec["content_type"], spec["public"]) == (
        "custom_name.png",
        "image/png",
        True,
    )
    assert platform.uploads == {"f1": b"png bytes", "f2": b"png bytes"}
    assert platform.runs[0]["input"] == {"image": "https://cdn.example/files/f2/custom_name.png"}


def test_sessions(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(
        CLIENT
        + """
# Start new session
result = client.run({
    "app": "my-app",
    "input": {"action": "init"},
    "session": "new",
    "session_timeout": 300  # 5 minutes
})
session_id = result["session_id"]

# Continue in same session
result = client.run({
    "app": "my-app",
    "input": {"action": "process"},
    "session": session_id
})
assert result["session_id"] == session_id
""",
        capsys,
    )
    assert [r["session"] for r in platform.runs] == ["new", "sess_1"]
    assert platform.runs[0]["session_timeout"] == 300
    assert platform.sessions["sess_1"]["call_count"] == 2


def test_error_handling(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    platform.needs_secrets.add("my-app")
    out = run_example(
        CLIENT
        + """
from inferencesh import RequirementsNotMetException

try:
    result = client.run({"app": "my-app", "input": {...}})
except RequirementsNotMetException as e:
    print(f"Missing requirements:")
    for err in e.errors:
        print(f"  - {err['type']}: {err['key']}")
except RuntimeError as e:
    print(f"Error: {e}")
""".replace("{...}", '{"prompt": "hi"}'),
        capsys,
    )
    assert out.splitlines() == [
        "Missing requirements:",
        "  - secret: OPENAI_API_KEY",
        "  - integration: google.sheets",
    ]


def test_error_handling_runtime_error_branch(
    platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_example(
        """
from inferencesh import inference, RequirementsNotMetException

client = inference(api_key="inf_wrong")
try:
    result = client.run({"app": "my-app", "input": {"prompt": "hi"}})
except RequirementsNotMetException as e:
    print("requirements")
except RuntimeError as e:
    print(f"Error: {e}")
""",
        capsys,
    )
    assert out.startswith("Error: HTTP 401")
    assert "inf_wrong" not in out


def test_async_support_run(platform: FakePlatform, capsys: pytest.CaptureFixture[str]) -> None:
    # The app part of the seed's "Async Support" (the agent part is inferencesh-agents').
    run_example(
        """
from inferencesh import async_inference
import asyncio

async def main():
    client = async_inference(api_key="inf_...")

    # Async app execution
    result = await client.run({
        "app": "infsh/flux-schnell",
        "input": {"prompt": "A galaxy"}
    })
    print(result["output"])

asyncio.run(main())
""",
        capsys,
    )
    assert platform.runs[0]["input"] == {"prompt": "A galaxy"}
    assert asyncio  # the example imports asyncio itself

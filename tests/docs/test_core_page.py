"""Every ```python example of docs/core.md runs as written against the local platform.

The page is run top to bottom in one namespace, the way a reader follows it (see
``tests/docs/docs_examples.py`` for the rules: skip markers, and ``# claimed output`` comments on print
lines, where ``...`` matches whatever differs between runs). The environment is the one the page
describes: ``inferencesh dev examples/apps --agents-dir examples/agents`` (whose ``aliases.yaml``
maps ``infsh/flux-schnell`` to a local stand-in), ``INFERENCE_API_KEY`` and ``INFERENCE_BASE_URL``
pointing at it, and a working directory holding the files the examples name. The one app the
examples call that ``examples/apps`` lacks, ``my-team/summarizer`` (an app with a secret the
platform's environment does not set), is served from a directory the test writes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import docs_examples as docs
import httpx
import pytest
from inferencesh import TaskStatus, inference
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, PlatformFactory, copied_app

ROOT = Path(__file__).resolve().parents[2]

SECRET = "OPENAI_API_KEY"
REPORT = "quarterly report\n"


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> LocalPlatform:
    hello = ROOT / "examples" / "apps" / "hello"
    return local_platform(
        [ROOT / "examples" / "apps", OWN / "apps"],
        agents=[ROOT / "examples" / "agents"],
        files=copied_app(hello, "summarizer", f"secrets:\n  - key: {SECRET}\n"),
        args=["--cancel-timeout", "2"],
        env={SECRET: None},
    )


@pytest.fixture
def reader_env(platform: LocalPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a reader of the page has: the key and URL in the environment, and the files."""
    monkeypatch.setenv("INFERENCE_API_KEY", platform.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", platform.base_url)
    monkeypatch.delenv("INFERENCE_LOG", raising=False)
    (tmp_path / "report.txt").write_text(REPORT)
    (tmp_path / "notes.txt").write_text("notes\n")
    (tmp_path / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_example_runs_and_prints_what_it_claims(
    platform: LocalPlatform, reader_env: Path
) -> None:
    progress: list[list[str]] = []

    def after_block(block: Any, printed: list[str]) -> None:
        if "log_progress" in block.code:  # its claim is in a comment on a call, not a print
            progress.append(printed)

    namespace: dict[str, Any] = {"__name__": "docs_core"}
    try:
        ran, skipped = docs.run_page("core.md", namespace, after_block=after_block)
    finally:
        for name in ("client", "scoped"):
            if name in namespace:
                namespace[name].close()
    assert [b.where for b in skipped] == []
    assert len(ran) == 22
    assert progress == [["0/5 bytes", "5/5 bytes"]]

    # What the examples did, seen from a separate client.
    with inference(api_key=platform.api_key, base_url=platform.base_url) as check:
        # "if you change your mind": the cancelled task ends cancelled, not completed.
        deadline = time.monotonic() + 30
        while (unwanted := check.get_task(namespace["unwanted"]["id"]))["status"] not in (
            TaskStatus.CANCELLED,
            TaskStatus.COMPLETED,
            TaskStatus.FAILED,
        ):
            assert time.monotonic() < deadline, unwanted["status"]
            time.sleep(0.05)
        assert unwanted["status"] == TaskStatus.CANCELLED
        # The sessions the examples opened were ended, by hand and by the handles.
        for session_id in (namespace["session_id"], namespace["session"].session_id):
            assert check.sessions.get(session_id).status == "ended"
        # The upload with a progress bar stored the whole file.
        uploaded = namespace["file"]
        assert uploaded["filename"] == "weights.bin"
        stored = httpx.get(uploaded["uri"], trust_env=False).content
        assert stored == (reader_env / "weights.bin").read_bytes()


def test_skip_markers_and_claims_are_read_as_documented() -> None:
    """The rules the page test relies on, on made-up pages of text."""
    assert docs.claim_matches("Task ID: ...", "Task ID: 01m82j")
    assert docs.claim_matches("- secret: KEY", "  - secret: KEY")
    assert not docs.claim_matches("completed", "completed 10")
    assert not docs.claim_matches("... {'value': 1}", "sess_1 {'value': 2}")
    assert docs.claims("print(x)   # 42\nprint(y)\nz = 1  # not a claim\n") == ["42"]
    page = (
        "```python\nprint(1)  # 1\n```\n\n"
        "<!-- docs-test: skip (needs the cloud) -->\n```python\ncloud()\n```\n"
        "```bash\nls\n```\n"
    )
    first, second = docs.blocks("made-up.md", page)
    assert (first.line, first.code, first.skip) == (1, "print(1)  # 1\n", None)
    assert (second.line, second.skip) == (6, "needs the cloud")

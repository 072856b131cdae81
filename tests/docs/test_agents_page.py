"""Every ```python example of docs/agents.md runs as written against the local agent loop.

The page is run top to bottom in one namespace, the way a reader follows it (see
``tests/docs/docs_examples.py`` for the rules: skip markers, and ``# claimed output`` comments on print
lines, where ``...`` matches whatever differs between runs). The environment is the one the page
describes: ``inferencesh dev examples/apps --agents-dir examples/agents --agents-dir my-agents``
(``examples/agents/aliases.yaml`` puts the scripted model behind ``infsh/claude-sonnet-4`` and a
stand-in image app behind ``infsh/flux-schnell``; ``my-agents`` holds the page's template agents),
``INFERENCE_API_KEY`` and ``INFERENCE_BASE_URL`` pointing at it, and a working directory with the
files the examples name.

The model is the scripted one: before each example that talks to an agent, the test writes the
turns the model plays into ``SCRIPTED_MODEL_SCRIPT`` (``SCRIPTS`` below, found by a phrase of the
example). The person who answers approval prompts is stdin (``ANSWERS``).
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import docs_examples as docs
import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, PlatformFactory

ROOT = Path(__file__).resolve().parents[2]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

_TEMPLATES = {
    "support-agent.yaml": (
        "namespace: my-team\n"
        "system_prompt: You are a support agent.\n"
        "core_app: {ref: infsh/claude-sonnet-4@latest}\n"
    ),
    "assistant.yaml": "namespace: my-org\ncore_app: {ref: infsh/gpt-4o-mini@latest}\n",
    "researcher.yaml": (
        "namespace: my-org\n"
        "core_app:\n"
        "  ref: local/scripted-model\n"
        "  input:\n"
        "    script:\n"
        "      - tool_calls: [{name: finish, arguments: {result: 'Findings on {{input}}'}}]\n"
    ),
}

_DELETE = {"tool_calls": [{"name": "delete_files", "arguments": {"pattern": "*.tmp"}}]}

# The model's turns for each example that talks to an agent, keyed by a phrase of the example.
# Turn n answers the model call with n assistant messages before it in the chat.
SCRIPTS: dict[str, list[dict[str, Any]]] = {
    'agent.send_message("Tell me more")': [
        {"text": "Hi! How can I help?"},
        {"text": "Here is more. So far: {{history}}"},
        {"text": "A fresh start."},
    ],
    "What is 25 * 4?": [
        {"tool_calls": [{"name": "calculate", "arguments": {"expression": "25 * 4"}}]},
        {"text": "25 * 4 = {{tool_results}}"},
    ],
    '"Explain quantum computing"': [
        {"text": "Quantum computers compute with qubits.", "delay": 0.01},
    ],
    "Where is order 42?": [
        {
            "text": "Let me check.",
            "tool_calls": [{"name": "order_status", "arguments": {"order_id": "42"}}],
        },
        {"text": "Order 42: {{tool_results}}"},
    ],
    "Delete all temp files": [_DELETE, {"text": "Done: {{tool_results}}"}],
    "Delete the logs too": [
        _DELETE,
        {"text": "Done: {{tool_results}}"},
        {"tool_calls": [{"name": "delete_files", "arguments": {"pattern": "*.log"}}]},
        {"text": "{{tool_results}}"},
    ],
    "What's in this image?": [
        {"text": "I see {{files}}"},
        {"text": "Analyzed {{files}}"},
        {"text": "Comparing {{files}}"},
    ],
    "Summarize the report": [
        {"tool_calls": [{"name": "finish", "arguments": {"result": "The report, summarized."}}]},
    ],
    "my-org/assistant@latest": [{"text": "Hello from async!", "delay": 0.01}],
}

# What the person at the keyboard answers to approval prompts, per example.
ANSWERS = {"Delete all temp files": "y\n", "Delete the logs too": "n\n"}


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> tuple[LocalPlatform, Path]:
    files = {f"my-agents/{name}": text for name, text in _TEMPLATES.items()}
    server = local_platform(
        [ROOT / "examples" / "apps"],
        agents=[ROOT / "examples" / "agents", OWN / "my-agents"],
        files={**files, "script.json": "[]"},
        args=["--heartbeat", "1"],
        env={"SCRIPTED_MODEL_SCRIPT": OWN / "script.json"},
    )
    return server, server.home / "script.json"


@pytest.fixture
def reader_env(
    platform: tuple[LocalPlatform, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """What a reader of the page has: the key and URL in the environment, and the files."""
    server, _ = platform
    monkeypatch.setenv("INFERENCE_API_KEY", server.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", server.base_url)
    monkeypatch.delenv("INFERENCE_LOG", raising=False)
    for name in ("image.png", "photo.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(PNG)
    for name in ("a.tmp", "b.tmp", "app.log"):
        (tmp_path / name).write_text(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_example_runs_and_prints_what_it_claims(
    platform: tuple[LocalPlatform, Path], reader_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, script = platform
    scripted: list[str] = []

    def before_block(block: Any) -> None:
        for phrase, turns in SCRIPTS.items():
            if phrase in block.code:
                script.write_text(json.dumps(turns))
                scripted.append(phrase)
                break
        answer = next((a for phrase, a in ANSWERS.items() if phrase in block.code), "")
        monkeypatch.setattr(sys, "stdin", io.StringIO(answer))

    def after_block(block: Any, printed: list[str]) -> None:
        response = namespace.get("response")
        if "Delete all temp files" in block.code:  # approved: the reader's code deleted them
            assert response.text == 'Done: {"deleted":["a.tmp","b.tmp"]}'
        if "Delete the logs too" in block.code:  # rejected: the model was told why
            assert response.status == "ready"
            assert response.text == "Rejected by the user: not today"

    namespace: dict[str, Any] = {"__name__": "docs_agents"}
    try:
        ran, skipped = docs.run_page("agents.md", namespace, before_block, after_block)
    finally:
        if "client" in namespace:
            namespace["client"].close()
    assert [b.where for b in skipped] == []
    assert len(ran) == 21
    assert scripted == list(SCRIPTS)  # every script was used, by the example it was made for

    # The approved call ran in the reader's code: the temp files are gone, the log is not.
    assert sorted(p.name for p in reader_env.iterdir() if p.suffix in (".tmp", ".log")) == [
        "app.log"
    ]
    assert namespace["output"] == "The report, summarized."

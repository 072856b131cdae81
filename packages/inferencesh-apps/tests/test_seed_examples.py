"""Every snippet of the app-code docs (seed 002) runs as written through `inferencesh app test`,
and every example app runs through the runtime with its own `input.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inferencesh.core.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("seed/structure", {}),
        ("seed/run_method", {"result": "A RED FOX"}),
        ("seed/setup_model", {"model": "gpt2"}),
        ("seed/llm_chat", {"response": ""}),
        ("multi_function", {"message": "Hello, inference.sh!"}),
    ],
)
def test_seed_snippet_runs_as_written(
    app: str, expected: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["app", "test", str(EXAMPLES / app)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == expected


def test_seed_files_snippet_writes_its_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["app", "test", str(EXAMPLES / "seed" / "files")])
    out, err = capsys.readouterr()
    assert code == 0, err
    image = json.loads(out)["image"]
    assert image["path"] == "/tmp/output.png"
    assert image["content_type"] == "image/png"
    assert (
        Path(image["path"]).read_bytes()
        == (EXAMPLES / "seed" / "files" / "example.png").read_bytes()
    )


def test_seed_setup_and_run_logs(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "app",
                "test",
                str(EXAMPLES / "seed" / "setup_model"),
                "--setup",
                '{"model_id": "bert"}',
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert json.loads(out) == {"model": "bert"}
    assert "loading bert (stand-in)" in err.splitlines()
    assert main(["app", "test", str(EXAMPLES / "seed" / "run_method")]) == 0
    assert "Processing..." in capsys.readouterr().err.splitlines()


# The runtime's example apps (other example directories belong to other parts of the project).
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
    *(f"signatures/{form}" for form in ("setup_none", "setup_config", "setup_metadata")),
    "signatures/setup_config_metadata",
    *(f"seed/{name}" for name in ("structure", "run_method", "setup_model", "files", "llm_chat")),
]


def test_every_example_has_a_manifest_and_an_input() -> None:
    for app in EXAMPLE_APPS:
        assert (EXAMPLES / app / "inf.yml").is_file(), app
        assert (EXAMPLES / app / "input.json").is_file(), app


@pytest.mark.parametrize("app", EXAMPLE_APPS)
def test_every_example_runs_with_its_input_json(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["app", "test", str(EXAMPLES / app)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert isinstance(json.loads(out), dict)

"""The tool-builder examples of docs/agents.md run, and build the JSON the page shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from inferencesh.core import Inference

DOC = Path(__file__).resolve().parents[3] / "docs" / "agents.md"


def _section(title: str, text: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def _blocks(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.DOTALL)


def test_tool_builder_examples_run_and_match_the_documented_json() -> None:
    section = _section("The tool builder", DOC.read_text())
    blocks = _blocks(section, "python")
    assert len(blocks) >= 8
    # Creating agents makes no request, so the examples that do it run against a real client.
    namespace: dict[str, Any] = {
        "client": Inference(api_key="inf_docs", base_url="http://127.0.0.1:9")
    }
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    (documented,) = _blocks(section, "json")
    assert namespace["greet"] == json.loads(documented)
    assert namespace["config"]["image_generation"] == {
        "enabled": True,
        "app_ref": "infsh/flux@latest",
    }
    assert namespace["weather"].handler({"city": "Oslo"}) == "Sunny in Oslo"
    assert namespace["github"]["http"]["auth"] == {"type": "bearer", "secret": "GITHUB_TOKEN"}
    assert namespace["lookup"].handler({"order_id": "7"}) == {"order": "7", "status": "shipped"}

"""The Python examples of docs/worker.md and of "Running apps locally" in docs/apps.md run from
the repository root and print what they claim."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _blocks(page: str, heading: str | None = None) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    if heading is not None:
        text = text[text.index(heading) :]
        following = re.search(r"^## ", text[3:], re.M)
        text = text[: 3 + following.start()] if following else text
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize(
    ("page", "heading"), [("worker.md", None), ("apps.md", "## Running apps locally")]
)
def test_examples_print_what_they_claim(
    page: str, heading: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    blocks = _blocks(page, heading)
    assert blocks
    for index, block in enumerate(blocks):
        namespace: dict[str, Any] = {"__name__": "docs_example"}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"<{page} block {index}>", "exec", dont_inherit=True), namespace)
        lines = printed.getvalue().splitlines()
        claims = re.findall(r"print\(.*\)\s+# (.+)$", block, re.M)
        assert claims
        for claim in claims:
            assert claim.strip() in lines, (page, index, claim, lines)

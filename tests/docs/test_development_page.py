"""docs/development.md draws the repository's layout: every path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "development.md"


def _tree_paths(text: str) -> list[str]:
    """The paths of the ```text tree: indentation nests an entry in the folder above it."""
    block = re.search(r"```text\n(.*?)```", text, re.S)
    assert block, "the page has no layout tree"
    stack: list[tuple[int, str]] = []
    paths: list[str] = []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        entry = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(part for _, part in stack) + entry
        paths.append(path)
        if entry.endswith("/"):
            stack.append((indent, entry))
    return paths


def _quoted_paths(text: str) -> list[str]:
    """Backquoted repository paths: `packages/...`, `tests/...`, `tools/...`, `docs/...`."""
    found = re.findall(r"`((?:packages|tests|tools|docs|bench|examples)/[^`\s]*)`", text)
    return [p.split("::")[0] for p in found if "<" not in p and "*" not in p]


def test_every_path_the_page_names_exists() -> None:
    text = PAGE.read_text()
    tree = _tree_paths(text)
    quoted = _quoted_paths(text)
    assert len(tree) > 40 and len(quoted) > 10, (len(tree), len(quoted))
    missing = [p for p in tree + quoted if not (ROOT / p).exists()]
    assert missing == []


def test_the_tree_reader_nests_by_indentation() -> None:
    text = "```text\na/\n  b.py   what\n  c/\n    d.py\n  e.py\nf/\n```\n"
    assert _tree_paths(text) == ["a/", "a/b.py", "a/c/", "a/c/d.py", "a/e.py", "f/"]

"""Running a guide's ```python blocks as tests (used by the tests in tests/docs and the apps' docs test).

The rules, shared by every page:

* Every ```python block runs, in page order, in one namespace per page, so later blocks use the
  names earlier ones define (``client``, ``agent``, ...). ```pycon, ```bash, ```json, ... blocks
  are not code to run.
* A block runs unless the line before its fence is exactly ``<!-- docs-test: skip (REASON) -->``;
  the tests assert how many blocks each page skips, so a new skip is a conscious change.
* A ``print(...)`` line with a trailing ``# comment`` claims what it prints: some line the block
  printed must equal the comment (leading and trailing spaces aside), where ``...`` in the
  comment stands for any text (ids, URLs, timings: whatever differs from run to run). A comment
  on any other line is not checked.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)
_SKIP = re.compile(r"<!-- docs-test: skip \((?P<reason>[^)]+)\) -->")
_CLAIM = re.compile(r"^[ \t]*print\(.*\)[ \t]+# (?P<claim>.+?)[ \t]*$", re.M)


class Block(NamedTuple):
    """One ```python block: where it starts, its code, and why it is skipped (if it is)."""

    page: str
    line: int
    code: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str, text: str | None = None) -> list[Block]:
    """The ```python blocks of ``docs/<page>`` (or of ``text``), in order."""
    if text is None:
        text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.fullmatch(before.strip())
        found.append(Block(page, line, match.group(1), skip.group("reason") if skip else None))
    return found


def claims(code: str) -> list[str]:
    """The ``# claimed output`` comments of a block's print lines."""
    return [m.group("claim") for m in _CLAIM.finditer(code)]


def claim_matches(claim: str, line: str) -> bool:
    """Whether a printed line is what a claim says (``...`` matches any text)."""
    pattern = ".*?".join(re.escape(part) for part in claim.strip().split("..."))
    return re.fullmatch(pattern, line.strip()) is not None


def run_page(
    page: str,
    namespace: dict[str, Any],
    before_block: Callable[[Block], None] | None = None,
    after_block: Callable[[Block, list[str]], None] | None = None,
) -> tuple[list[Block], list[Block]]:
    """Run every block of a page that is not skipped; check each block's claims.

    ``before_block`` prepares the environment for a block (a model script, a person's answer
    on stdin); ``after_block`` gets the lines a block printed and may check what it did before
    later blocks reuse the names.
    Returns the blocks run and the blocks skipped. A block that raises or does not print what
    it claims fails with its place in the page.
    """
    ran, skipped = [], []
    for block in blocks(page):
        if block.skip is not None:
            skipped.append(block)
            continue
        if before_block is not None:
            before_block(block)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(block.code, f"<{block.where}>", "exec", dont_inherit=True), namespace)
        except Exception as exc:
            raise AssertionError(
                f"the example at {block.where} raised {type(exc).__name__}: {exc}\n"
                f"it printed:\n{printed.getvalue()}"
            ) from exc
        lines = printed.getvalue().splitlines()
        for claim in claims(block.code):
            assert any(claim_matches(claim, line) for line in lines), (
                f"the example at {block.where} claims it prints {claim!r}; it printed {lines}"
            )
        if after_block is not None:
            after_block(block, lines)
        ran.append(block)
    return ran, skipped

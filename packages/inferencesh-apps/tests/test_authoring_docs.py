"""The examples of the "Writing an app" part of docs/apps.md run and print what they claim."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from inferencesh.apps import File, Metadata

DOCS = Path(__file__).resolve().parents[3] / "docs" / "apps.md"


def _section_blocks() -> list[str]:
    text = DOCS.read_text()
    start = text.index("## Writing an app")
    following = re.search(r"^## ", text[start + 3 :], re.M)
    section = text[start : start + 3 + following.start()] if following else text[start:]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INFERENCESH_STORAGE_ROOT", str(tmp_path / "storage"))


def test_examples_run_and_print_what_they_say() -> None:
    blocks = _section_blocks()
    assert len(blocks) >= 8
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for index, block in enumerate(blocks):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"<apps.md block {index}>", "exec", dont_inherit=True), namespace)
        claimed = re.findall(r"print\(.*\)\s+# (.+)$", block, re.M)
        lines = printed.getvalue().splitlines()
        for claim in claimed:
            assert claim.strip() in lines, (index, claim, lines)


async def test_structure_example_app_runs() -> None:
    namespace: dict[str, Any] = {"__name__": "docs_inference"}
    exec(compile(_section_blocks()[0], "<inference.py>", "exec", dont_inherit=True), namespace)
    app = namespace["App"]()
    await app.setup(namespace["AppSetup"](greeting="Hi"))
    lines: list[str] = []
    metadata = Metadata(task_id="t")
    metadata.set_sink(lines.append)
    out = await app.run(namespace["AppInput"](name="Ada", shout=True), metadata)
    assert out.message == "HI, ADA!"
    assert isinstance(out.card, File)
    assert Path(out.card.path).read_text() == "HI, ADA!"
    assert lines == ["greeting Ada"]

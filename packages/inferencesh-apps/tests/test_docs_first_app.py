"""The app docs/apps.md opens with does what the page says, called directly.

Every example of the page runs, claims checked, in ``tests/docs/test_apps_page.py`` (which also runs
this app through the runtime); this test calls the app's methods the way a unit test of an app
would, and checks each of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docs_examples as docs
from inferencesh.apps import File, Metadata

ROOT = Path(__file__).resolve().parents[3]


async def test_structure_example_app_runs() -> None:
    first = docs.blocks("apps.md")[0]
    assert first.code.startswith("# inference.py\n")
    namespace: dict[str, Any] = {"__name__": "docs_inference"}
    exec(compile(first.code, "<inference.py>", "exec", dont_inherit=True), namespace)
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

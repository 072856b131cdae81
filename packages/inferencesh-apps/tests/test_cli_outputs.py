"""``inferencesh app test`` keeps an app's output files past its ``unload`` (issue 16, item 14):
an app that deletes its temp dir on unload (a real public app does) still leaves the printed
output naming files that exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apps_testkit import app_in
from inferencesh.core.cli import main

CLEANING_APP = """
import shutil
import tempfile
from pathlib import Path

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File


class AppOutput(BaseAppOutput):
    image: File
    also: File
    same: File


class App(BaseApp):
    async def setup(self):
        self.tmp = Path(tempfile.mkdtemp())

    async def run(self, input_data: BaseAppInput) -> AppOutput:
        first = self.tmp / "out.txt"
        first.write_text("first")
        other = self.tmp / "sub"
        other.mkdir()
        (other / "out.txt").write_text("second")
        return AppOutput(
            image=File(path=str(first)), also=File(path=str(other / "out.txt")),
            same=File(path=str(first)),
        )

    async def unload(self):
        shutil.rmtree(self.tmp)
"""


def test_output_files_outlive_an_unload_that_deletes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, CLEANING_APP)
    code = main(["app", "test", str(app), "--input", "{}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    output = json.loads(out)
    first, second, same = (Path(output[k]["path"]) for k in ("image", "also", "same"))
    assert first.read_text() == "first"
    assert second.read_text() == "second"  # same name, its own copy
    assert same == first
    assert f"-- output file: {first}" in err

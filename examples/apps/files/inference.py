"""Takes a text file (local path, URL or data: URI), returns an upper-cased copy as a File."""

import tempfile
from pathlib import Path

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
from pydantic import Field


class AppInput(BaseAppInput):
    document: File = Field(description="A UTF-8 text file")
    extra: File | None = Field(default=None, description="An optional second file")


class AppOutput(BaseAppOutput):
    upper: File = Field(description="The document, upper-cased")
    size: int = Field(description="Bytes in the input document")
    extra_size: int | None = Field(default=None, description="Bytes in the extra file")


class App(BaseApp):
    async def setup(self):
        self.out_dir = Path(tempfile.mkdtemp(prefix="files-app-"))

    async def run(self, input_data: AppInput) -> AppOutput:
        # Input files are downloaded before `run` is called: `.path` is a local file.
        source = Path(input_data.document.path)
        text = source.read_text(encoding="utf-8")
        target = self.out_dir / f"upper-{source.name}"
        target.write_text(text.upper(), encoding="utf-8")
        extra = input_data.extra
        return AppOutput(
            upper=File(path=str(target)),
            size=len(text.encode("utf-8")),
            extra_size=Path(extra.path).stat().st_size if extra else None,
        )

"""``docs/live.md`` runs as written against ``inferencesh dev examples/apps`` (its claimed
outputs checked), and its command line is the real one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docs_examples as docs
import pytest
from inferencesh.core.cli import main
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([ROOT / "examples" / "apps"])


def test_live_page_runs(
    platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INFERENCE_API_KEY", platform.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", platform.base_url)
    monkeypatch.delenv("INFERENCE_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "docs_live"}
    ran, skipped = docs.run_page("live.md", namespace)
    assert (len(ran), skipped) == (2, [])
    assert namespace["App"].echo.__name__ == "echo"


def test_live_page_command_line_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "live.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^```bash\n(inferencesh app test .*?)\n```$", page, re.M)
    monkeypatch.chdir(ROOT)
    assert main(command.split()[1:]) == 0
    assert '"frames": 30' in capsys.readouterr().out


def test_live_page_run_command_runs_and_prints_what_it_shows(
    platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "live.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^```bash\n(inferencesh run .*?)\n```$", page, re.M)
    (shown,) = re.findall(
        r"^```bash\ninferencesh run .*?\n```\n\n```text\n(.*?)```$", page, re.M | re.S
    )
    monkeypatch.setenv("INFERENCE_API_KEY", platform.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", platform.base_url)
    monkeypatch.chdir(ROOT)
    assert main(command.split()[1:]) == 0
    printed = capsys.readouterr().out.splitlines()
    claimed = [line for line in shown.splitlines() if line != "..."]
    assert claimed and all(line in printed for line in claimed)
    assert printed[-1] == claimed[-1]  # the output comes last

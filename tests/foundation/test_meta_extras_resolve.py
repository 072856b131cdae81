"""The seed's install line ``pip install inferencesh[async]`` (and 0.36's other extras) resolves.

``test_successor_version.py`` checks that the meta package still names every extra 0.36 had;
here pip itself resolves them against this checkout (offline: ``--no-index``, the dev
environment already holds every dependency), and every ``dist[extra]`` an extra pulls in is
one that distribution defines (pip only warns about an unknown extra, and installs without it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
META = ROOT / "packages" / "inferencesh"
_OURS = re.compile(r"^(inferencesh-[a-z]+)\[([a-z0-9_,-]+)\]")


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def test_every_extra_of_our_distributions_it_names_exists() -> None:
    extras = _toml(META / "pyproject.toml")["project"]["optional-dependencies"]
    named = 0
    for extra, requirements in extras.items():
        for requirement in requirements:
            match = _OURS.match(requirement)
            if match is None:
                continue
            dist, wanted = match.groups()
            project = _toml(ROOT / "packages" / dist / "pyproject.toml")["project"]
            defined = set(project.get("optional-dependencies", {}))
            assert set(wanted.split(",")) <= defined, f"[{extra}] wants {requirement}: {defined}"
            named += 1
    assert named >= 2  # async -> inferencesh-core[live], images -> inferencesh-apps[images]


@pytest.mark.parametrize("extras", ["async", "async,upstream,images"])
def test_pip_resolves_the_install_line(extras: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--report",
            str(report),
            f"{META}[{extras}]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "does not provide the extra" not in output, output[-3000:]
    [item] = json.loads(report.read_text())["install"]  # everything else is already there
    assert item["metadata"]["name"] == "inferencesh"
    assert set(item["requested_extras"]) == set(extras.split(","))
    version = _toml(META / "pyproject.toml")["project"]["version"]
    assert item["metadata"]["version"] == version

"""Lock-step versions: one version everywhere, and one command that moves all of them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bump_version", ROOT / "tools/bump_version.py")
assert spec and spec.loader
bump_version = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bump_version)


def _copy_tree(dst: Path) -> Path:
    for src in [
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("packages/*/src/inferencesh/*/_version.py"),
    ]:
        target = dst / src.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    return dst


_EXPECTED = 4 + 1 + 9 + 1 + 1


def test_all_versions_and_pins_agree() -> None:
    found = bump_version.current_versions()
    # 4 version files + meta version + 9 sibling pins (agents, apps -> core; platform -> core,
    # agents, apps; meta -> all four) + the meta `async` extra's pin of `inferencesh-core[live]`
    # + the meta `images` extra's pin of `inferencesh-apps[images]`
    assert len(found) == _EXPECTED, found
    assert "<missing>" not in found.values()
    assert len(set(found.values())) == 1, f"versions drifted: {found}"


def test_installed_versions_match_source() -> None:
    import inferencesh
    import inferencesh.agents
    import inferencesh.apps
    import inferencesh.core
    import inferencesh.platform

    expected = set(bump_version.current_versions().values())
    assert {
        inferencesh.core.__version__,
        inferencesh.agents.__version__,
        inferencesh.apps.__version__,
        inferencesh.platform.__version__,
        inferencesh.__version__,
    } == expected


def test_bump_moves_everything(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    bump_version.bump("7.8.9rc1", root)
    found = bump_version.current_versions(root)
    assert set(found.values()) == {"7.8.9rc1"}, found
    assert len(found) == _EXPECTED


def test_drift_is_detected(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    meta = root / "packages/inferencesh/pyproject.toml"
    meta.write_text(meta.read_text().replace('"inferencesh-apps==', '"inferencesh-apps==9', 1))
    assert len(set(bump_version.current_versions(root).values())) == 2


def test_bump_rejects_bad_version(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    with pytest.raises(SystemExit, match="not a release version"):
        bump_version.bump("v1.2", root)
    assert set(bump_version.current_versions(root).values()) == set(
        bump_version.current_versions().values()
    )


def test_bump_command_line(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    (root / "tools").mkdir()
    shutil.copy(ROOT / "tools/bump_version.py", root / "tools/bump_version.py")
    proc = subprocess.run(
        [sys.executable, str(root / "tools/bump_version.py"), "1.0.0"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert set(bump_version.current_versions(root).values()) == {"1.0.0"}

"""The successor of the published ``inferencesh`` 0.36: a version pip upgrades 0.36 users to.

``pip install -U inferencesh`` moves a user of the earlier package only to a higher version, and
``pip install "inferencesh[async]"`` (or any other extra 0.36 had) must keep resolving.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bump_version", ROOT / "tools/bump_version.py")
assert _spec and _spec.loader
bump_version = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bump_version)

# The extras of inferencesh 0.36.0 (its METADATA's Provides-Extra).
PUBLISHED_EXTRAS = {"async", "upstream", "images", "test"}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3])


def test_every_distribution_is_at_one_final_version_above_0_36() -> None:
    versions = set(bump_version.current_versions().values())
    assert len(versions) == 1, f"versions drifted: {versions}"
    (version,) = versions
    assert bump_version.VERSION_RE.fullmatch(version)
    assert version.replace(".", "").isdigit(), f"{version} is a pre-, post- or dev release"
    assert _release(version) > (0, 36, 0), f"{version} is not above the published 0.36.0"


def test_meta_package_keeps_every_published_extra() -> None:
    meta = tomllib.loads((ROOT / "packages/inferencesh/pyproject.toml").read_text())
    extras = meta["project"]["optional-dependencies"]
    assert set(extras) >= PUBLISHED_EXTRAS, sorted(PUBLISHED_EXTRAS - set(extras))
    version = meta["project"]["version"]
    # `images` brings Pillow through the distribution that ships inferencesh.images, pinned.
    assert extras["images"] == [f"inferencesh-apps[images]=={version}"]
    apps = tomllib.loads((ROOT / "packages/inferencesh-apps/pyproject.toml").read_text())
    assert any(r.startswith("pillow") for r in apps["project"]["optional-dependencies"]["images"])
    assert any(r.startswith("pytest") for r in extras["test"])


@pytest.mark.parametrize(
    ("version", "upgrades"),
    [
        ("0.37.0", True),
        ("1.0.0", True),
        ("0.36.1rc1", True),
        ("0.36.0.post1", True),
        ("0.36.0", False),
        ("0.36.0rc1", False),
        ("0.36.0.dev3", False),
        ("0.35.9", False),
        ("0.1.0", False),
    ],
)
def test_bump_refuses_versions_pip_would_not_upgrade_to(
    version: str, upgrades: bool, tmp_path: Path
) -> None:
    assert bump_version.above_published(version) is upgrades
    for src in [
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("packages/*/src/inferencesh/*/_version.py"),
    ]:
        target = tmp_path / src.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(src.read_text())
    before = bump_version.current_versions(tmp_path)
    if upgrades:
        bump_version.bump(version, tmp_path)
        assert set(bump_version.current_versions(tmp_path).values()) == {version}
    else:
        with pytest.raises(SystemExit, match=r"not above 0\.36\.0"):
            bump_version.bump(version, tmp_path)
        assert bump_version.current_versions(tmp_path) == before

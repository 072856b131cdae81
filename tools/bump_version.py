#!/usr/bin/env python3
"""Set one version on every distribution and every sibling ``==`` pin.

    python3 tools/bump_version.py 0.2.0
    python3 tools/bump_version.py --show

The version lives in ``src/inferencesh/<pkg>/_version.py`` of each code distribution (read by
hatch's version source) and in the meta-package's ``pyproject.toml``; the ``==`` pins on
``inferencesh-core``/``-agents``/``-apps``/``-platform`` are rewritten in every ``pyproject.toml``.

Every version must be above ``PUBLISHED`` (0.36.0, the last release of the earlier ``inferencesh``
package on PyPI): ``pip install -U inferencesh`` only moves a user of that package to a higher one.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DISTS = ("core", "agents", "apps", "platform")
META = "packages/inferencesh/pyproject.toml"
# PEP 440 in its normalized spelling only (no leading zeros, no `-rc`/`v`), so the tag, the files
# and the built metadata (which build back-ends normalize) all say the same string.
_N = r"(?:0|[1-9]\d*)"
VERSION_RE = re.compile(rf"{_N}\.{_N}\.{_N}(?:(?:a|b|rc){_N})?(?:\.post{_N})?(?:\.dev{_N})?")
# A sibling pin, with extras or not: "inferencesh-apps==1.2.3", "inferencesh-apps[images]==1.2.3".
PIN_RE = re.compile(r'"(inferencesh-(?:core|agents|apps|platform)(?:\[[a-z0-9,-]+\])?)==([^"]*)"')
FILE_RE = re.compile(r'^__version__ = "([^"]+)"$', re.M)
META_RE = re.compile(r'^version = "([^"]+)"$', re.M)
PUBLISHED = "0.36.0"
"""The last release of the earlier ``inferencesh`` package; every release must be above it."""


def above_published(version: str) -> bool:
    """Whether ``version`` (normalized PEP 440) sorts above ``PUBLISHED``, so pip upgrades to it."""
    return _release_key(version) > _release_key(PUBLISHED)


def _release_key(version: str) -> tuple[int, ...]:
    # The release segment decides it: a pre-release of 0.36.1 (0.36.1rc1) is above 0.36.0, and
    # 0.36.0.post1 is too; dev and pre-releases of 0.36.0 itself are below it.
    release = re.match(r"\d+\.\d+\.\d+", version)
    assert release is not None
    key = tuple(int(part) for part in release.group(0).split("."))
    rest = version[release.end() :]
    return (*key, 1 if rest.startswith(".post") else 0 if not rest else -1)


def _version_files(root: Path) -> list[Path]:
    return [root / f"packages/inferencesh-{d}/src/inferencesh/{d}/_version.py" for d in CODE_DISTS]


def _pyprojects(root: Path) -> list[Path]:
    return [root / f"packages/inferencesh-{d}/pyproject.toml" for d in CODE_DISTS] + [root / META]


def current_versions(root: Path = ROOT) -> dict[str, str]:
    """Every place a version is written (file, or file:pinned-dist), mapped to what it says."""
    found: dict[str, str] = {}
    for path in _version_files(root):
        match = FILE_RE.search(path.read_text())
        found[str(path.relative_to(root))] = match.group(1) if match else "<missing>"
    match = META_RE.search((root / META).read_text())
    found[META] = match.group(1) if match else "<missing>"
    for path in _pyprojects(root):
        for pin in PIN_RE.finditer(path.read_text()):
            found[f"{path.relative_to(root)}:{pin.group(1)}"] = pin.group(2)
    return found


def bump(version: str, root: Path = ROOT) -> None:
    """Write ``version`` into every version file, the meta-package and every sibling pin.

    Every file is read and checked before any is written, and a failed write restores the files
    already written, so a bump is all or nothing.
    """
    if not VERSION_RE.fullmatch(version):
        raise SystemExit(f"not a release version: {version!r} (expected e.g. 1.2.3 or 1.2.3rc1)")
    if not above_published(version):
        raise SystemExit(
            f"version {version} is not above {PUBLISHED}, the last release of the earlier "
            "inferencesh package: pip install -U inferencesh would not move its users to it"
        )
    new_texts: dict[Path, tuple[str, str]] = {}
    for path in _version_files(root):
        old = path.read_text()
        if not FILE_RE.search(old):
            raise SystemExit(f'{path.relative_to(root)}: no line __version__ = "..."')
        new_texts[path] = (old, FILE_RE.sub(f'__version__ = "{version}"', old, count=1))
    for path in _pyprojects(root):
        old = path.read_text()
        text = PIN_RE.sub(lambda m: f'"{m.group(1)}=={version}"', old)
        if path == root / META:
            if not META_RE.search(text):
                raise SystemExit(f'{META}: no line version = "..."')
            text = META_RE.sub(f'version = "{version}"', text, count=1)
        new_texts[path] = (old, text)
    written: list[Path] = []
    try:
        for path, (_, text) in new_texts.items():
            _write(path, text)
            written.append(path)
    except OSError as exc:
        for path in written:
            _write(path, new_texts[path][0])
        raise SystemExit(f"bump to {version} failed, nothing changed: {exc}") from exc


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a crash leaves the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if argv == ["--show"] or not argv:
        for where, version in current_versions().items():
            print(f"{version:12} {where}")
        return 0
    if len(argv) != 1:
        raise SystemExit("usage: bump_version.py VERSION | --show")
    bump(argv[0])
    versions = set(current_versions().values())
    print(f"all distributions and pins now at {argv[0]}" if versions == {argv[0]} else versions)
    return 0 if versions == {argv[0]} else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

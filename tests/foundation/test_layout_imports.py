"""The import graph of the shipped code: arrows only toward core, and only through public names.

Every module of every distribution is parsed (not imported) and each ``inferencesh`` import it
makes is checked against the layout of ``docs/development.md``: agents and apps build on core,
the platform on apps, agents and core; nothing imports a sibling's ``_private`` module or name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# distribution -> the packages it ships (under inferencesh/)
PACKAGES = {
    "inferencesh-core": ("core",),
    "inferencesh-agents": ("agents",),
    "inferencesh-apps": ("apps", "models", "openai", "upstream", "images"),
    "inferencesh-platform": ("platform",),
}
OWNER = {package: dist for dist, packages in PACKAGES.items() for package in packages}
# distribution -> the distributions it may import from (besides itself)
ALLOWED = {
    "inferencesh-core": set(),
    "inferencesh-agents": {"inferencesh-core"},
    "inferencesh-apps": {"inferencesh-core"},
    "inferencesh-platform": {"inferencesh-core", "inferencesh-agents", "inferencesh-apps"},
}
# Lazy, function-level imports that provide a sibling's optional feature when it is installed:
# `client.agent(...)` is the seed's API on the core client, backed by inferencesh-agents.
OPTIONAL = {("inferencesh/core/client.py", "inferencesh.agents")}
# The namespace face core ships at `inferencesh/` top level (the package `__init__` and the 0.36
# module paths, `inferencesh/client.py`, `inferencesh/api/`, ...) re-exports every distribution's
# public names, so any arrow is allowed there; private names still are not.
FACE = "inferencesh-core"


def _modules(dist: str) -> list[Path]:
    src = ROOT / "packages" / dist / "src" / "inferencesh"
    return sorted(p for package in PACKAGES[dist] for p in (src / package).rglob("*.py"))


def _face_modules() -> list[Path]:
    src = ROOT / "packages" / FACE / "src" / "inferencesh"
    owned = [src / package for package in PACKAGES[FACE]]
    return sorted(p for p in src.rglob("*.py") if not any(p.is_relative_to(o) for o in owned))


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(path: Path) -> list[tuple[int, str, list[str], bool]]:
    """(line, module, imported names, at module level) for each absolute inferencesh import."""
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(node) for node in tree.body}
    found: list[tuple[int, str, list[str], bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            found.append((node.lineno, node.module, names, id(node) in top_level))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name, [], id(node) in top_level))
    return [item for item in found if item[1].split(".")[0] == "inferencesh"]


def _violations(dist: str) -> list[str]:
    problems: list[str] = []
    src = ROOT / "packages" / dist / "src"
    face = _face_modules() if dist == FACE else []
    for path in _modules(dist) + face:
        where = path.relative_to(src).as_posix()
        checking = _type_checking_lines(ast.parse(path.read_text()))
        for line, module, names, _top in _imports(path):
            parts = module.split(".")
            if len(parts) == 1:
                target = "inferencesh"  # the namespace face, shipped by core
                owner = "inferencesh-core"
            else:
                owner = OWNER.get(parts[1], "?")
                target = module
            if owner == dist:
                continue
            at = f"{where}:{line}"
            optional = (where, ".".join(parts[:2])) in OPTIONAL
            anywhere = path in face
            if (
                owner not in ALLOWED[dist]
                and line not in checking
                and not optional
                and not anywhere
            ):
                problems.append(f"{at}: {dist} must not import {target} ({owner})")
            private = [p for p in parts[1:] if p.startswith("_")]
            private += [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                problems.append(f"{at}: private {', '.join(private)} of {owner} ({target})")
    return problems


@pytest.mark.parametrize("dist", sorted(PACKAGES))
def test_imports_point_toward_core_through_public_names(dist: str) -> None:
    assert _modules(dist), f"no modules found for {dist}"
    assert _violations(dist) == []


def test_checker_sees_a_private_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a planted private import and a backward arrow are both reported."""
    fake = tmp_path / "packages" / "inferencesh-agents" / "src" / "inferencesh" / "agents"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(
        "from inferencesh.core._effects import Op\n"
        "from inferencesh.core.errors import _private\n"
        "from inferencesh.platform import create_app\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert _violations("inferencesh-agents") == [
        "inferencesh/agents/bad.py:1: private _effects of inferencesh-core (inferencesh.core._effects)",
        "inferencesh/agents/bad.py:2: private _private of inferencesh-core (inferencesh.core.errors)",
        "inferencesh/agents/bad.py:3: inferencesh-agents must not import inferencesh.platform "
        "(inferencesh-platform)",
    ]


def test_checker_reads_the_namespace_face() -> None:
    """The face's files are read too: the package `__init__` and the 0.36 module paths."""
    src = ROOT / "packages" / FACE / "src"
    found = {p.relative_to(src).as_posix() for p in _face_modules()}
    assert {"inferencesh/__init__.py", "inferencesh/types.py", "inferencesh/api/tasks.py"} <= found
    assert not any(name.startswith("inferencesh/core/") for name in found)

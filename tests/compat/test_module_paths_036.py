"""Every module path of the published 0.36 imports on ours, with its public names, in the
smallest install that should have it.

0.36 was one distribution; ours are four. A 0.36 module path is a thin re-export that core ships
at ``inferencesh/`` top level (``inferencesh/models/`` belongs to inferencesh-apps), so it imports
wherever the distribution owning its names is installed, and otherwise raises an ``ImportError``
naming the distribution to install. The public names of 0.36 come from walking the real 0.36
(``signatures_036.py``); the few with no equivalent in ours are in ``NO_EQUIVALENT``, each with
what it is. The call signatures of the names that do resolve are ``test_signature_parity_036``'s.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
from platform_testkit import run_published

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORE, AGENTS, APPS = "inferencesh-core", "inferencesh-agents", "inferencesh-apps"

# Every module of 0.36 -> the distribution its names need besides core (None: core alone).
MODULES_036: dict[str, str | None] = {
    "inferencesh": None,
    "inferencesh.agent": AGENTS,
    "inferencesh.api": None,
    "inferencesh.api.agents": None,
    "inferencesh.api.files": None,
    "inferencesh.api.sessions": None,
    "inferencesh.api.sockets": None,
    "inferencesh.api.tasks": None,
    "inferencesh.client": None,
    "inferencesh.decorators": APPS,
    "inferencesh.delta": APPS,
    "inferencesh.images": APPS,
    "inferencesh.live": None,
    "inferencesh.llm_types_gen": APPS,
    "inferencesh.models": APPS,
    "inferencesh.models.base": APPS,
    "inferencesh.models.decision": APPS,
    "inferencesh.models.errors": APPS,
    "inferencesh.models.file": APPS,
    "inferencesh.models.llm": APPS,
    "inferencesh.models.output_meta": APPS,
    "inferencesh.models.response": APPS,
    "inferencesh.models.socket": APPS,
    "inferencesh.models.stream": APPS,
    "inferencesh.openai": APPS,
    "inferencesh.openai.adapter": APPS,
    "inferencesh.openai.types": APPS,
    "inferencesh.output_meta_gen": APPS,
    "inferencesh.ref": None,
    "inferencesh.streamable": None,
    "inferencesh.tools": AGENTS,
    "inferencesh.types": None,  # its names resolve lazily, each from its own distribution
    "inferencesh.upstream": APPS,
    "inferencesh.utils": APPS,
    "inferencesh.utils.download": APPS,
    "inferencesh.utils.storage": APPS,
}

# Public names of 0.36 with no equivalent in ours: module -> {name: what it is}. An entry that
# resolves now fails the test (drop it). `inferencesh.types` is apart (below).
NO_EQUIVALENT: dict[str, dict[str, str]] = {
    "inferencesh.client": {
        "StreamManager": "0.36's SSE reconnect loop; ours reconnects inside every stream",
        "TaskCallback": "a Protocol naming on_update/on_error/on_complete; ours takes callables",
    },
    "inferencesh.decorators": {
        "CREDENTIAL_KEYS": "the key order of a credential entry in functions_schema.json",
        "PROVIDER_SEED_KEYS": "the keys of a credential's provider seed in that file",
    },
    "inferencesh.live": {
        "WSMsgType": "aiohttp's WebSocket message kinds, for fakes; ours uses websockets",
    },
    "inferencesh.output_meta_gen": {"AppSDKTypes": "an empty TypedDict of the generator"},
    "inferencesh.models.stream": {"T": "a TypeVar of 0.36's implementation"},
}


@pytest.fixture(scope="module")
def published_surface(published_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    script = (HERE / "signatures_036.py").read_text()
    return run_published(published_python, script, [], tmp_path_factory.mktemp("names"))


def test_every_036_public_name_resolves_on_ours(published_surface: Any) -> None:
    assert set(published_surface["modules"]) == set(MODULES_036)
    missing: list[str] = []
    stale: list[str] = []
    for module_name, names in sorted(published_surface["names"].items()):
        if module_name == "inferencesh.types":
            continue  # test_types_holds_0_36_names_only
        module = importlib.import_module(module_name)
        absent = NO_EQUIVALENT.get(module_name, {})
        for name in names:
            found = hasattr(module, name)
            if not found and name not in absent:
                missing.append(f"{module_name}:{name}")
            elif found and name in absent:
                stale.append(f"{module_name}:{name}")
    assert not missing, "0.36 names missing in ours:\n" + "\n".join(missing)
    assert not stale, "NO_EQUIVALENT entries that resolve now (drop them):\n" + "\n".join(stale)
    unknown = [
        f"{module}:{name}"
        for module, names in NO_EQUIVALENT.items()
        for name in names
        if name not in published_surface["names"].get(module, [])
    ]
    assert not unknown, f"NO_EQUIVALENT names 0.36 does not have: {unknown}"


def _type_checking_imports(path: Path) -> dict[str, tuple[str, str]]:
    """``{bound name: (module, imported name)}`` of the ``if TYPE_CHECKING:`` block."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                assert isinstance(child, ast.ImportFrom) and child.module, ast.unparse(child)
                for alias in child.names:
                    found[alias.asname or alias.name] = (child.module, alias.name)
    return found


def test_types_holds_0_36_names_only(published_surface: Any) -> None:
    """``inferencesh.types`` maps the 0.36 names that have a wire type of ours (the rest are
    the platform's own account, billing and flow types; docs/migration.md), each to the object
    its type-checking block names."""
    import inferencesh.types as types_036

    theirs = set(published_surface["names"]["inferencesh.types"])
    exports = types_036._EXPORTS
    assert set(exports) <= theirs, sorted(set(exports) - theirs)
    assert sorted(types_036.__all__) == sorted(exports)
    static = _type_checking_imports(Path(types_036.__file__))
    assert static == {name: (module, ours) for name, (module, ours, _) in exports.items()}
    for name, (module, ours, _distribution) in exports.items():
        assert getattr(types_036, name) is getattr(importlib.import_module(module), ours), name
    assert set(dir(types_036)) >= set(exports)
    with pytest.raises(AttributeError, match="no_such_type"):
        types_036.no_such_type  # noqa: B018


def test_streamable_stays_the_function_after_its_module_loads() -> None:
    """0.36 has both: the module ``inferencesh.streamable`` and the function of that name."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import inferencesh.streamable, inferencesh\n"
            "from inferencesh import streamable\n"
            "print(callable(streamable), type(streamable).__name__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.split() == ["True", "function"], proc.stderr


# -- each module in the install that should have it ------------------------------------------

_PROBE = textwrap.dedent(
    """
    import importlib, json, sys
    report = {}
    for name in json.loads(sys.argv[1]):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            report[name] = str(exc)
        else:
            report[name] = None
    names = {}
    for name in json.loads(sys.argv[2]):
        try:
            exec(f"from inferencesh.types import {name}", {})
        except ImportError as exc:
            names[name] = str(exc)
        else:
            names[name] = None
    print(json.dumps([report, names]))
    """
)
# One name of `inferencesh.types` from each distribution.
_TYPES_BY_DIST = {"TaskDTO": CORE, "HookEvent": AGENTS, "LLMOutput": APPS}


def _installed_alone(distributions: tuple[str, ...]) -> list[Any]:
    """Run the probe with only ``distributions``' sources on the path (and this environment's
    third-party packages, without the editable installs of the others)."""
    paths = [ROOT / "packages" / dist / "src" for dist in distributions]
    paths.append(Path(sysconfig.get_paths()["purelib"]))  # httpx, pydantic, ...; no .pth run
    modules, names = json.dumps(sorted(MODULES_036)), json.dumps(sorted(_TYPES_BY_DIST))
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, modules, names],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": ":".join(map(str, paths)), "PATH": "/usr/bin:/bin"},
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr
    result: list[Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize(
    "installed",
    [(CORE,), (CORE, APPS), (CORE, AGENTS)],
    ids=["core", "app-image", "core+agents"],
)
def test_each_036_module_imports_where_its_distribution_is(installed: tuple[str, ...]) -> None:
    modules, types_names = _installed_alone(installed)
    wrong: list[str] = []
    for module, needs in sorted(MODULES_036.items()):
        error = modules[module]
        if needs is None or needs in installed:
            if error is not None:
                wrong.append(f"{module} fails with {installed}: {error}")
        elif error is None or f"pip install {needs}" not in error:
            wrong.append(f"{module} without {needs}: {error!r} does not name it")
    for name, needs in _TYPES_BY_DIST.items():
        error = types_names[name]
        if needs in installed:
            if error is not None:
                wrong.append(f"inferencesh.types.{name} fails with {installed}: {error}")
        elif error is None or f"pip install {needs}" not in error:
            wrong.append(f"inferencesh.types.{name} without {needs}: {error!r}")
    assert not wrong, "\n".join(wrong)


# The 0.36 paths that are re-exports of ours (the others are our own packages, documented with
# their names in the sections above the table).
REEXPORTS = [
    "inferencesh.agent", "inferencesh.api", "inferencesh.api.agents", "inferencesh.api.files",
    "inferencesh.api.sessions", "inferencesh.api.sockets", "inferencesh.api.tasks",
    "inferencesh.client", "inferencesh.decorators", "inferencesh.delta", "inferencesh.live",
    "inferencesh.llm_types_gen", "inferencesh.models.base", "inferencesh.models.errors",
    "inferencesh.models.file", "inferencesh.output_meta_gen", "inferencesh.ref",
    "inferencesh.streamable", "inferencesh.tools", "inferencesh.types", "inferencesh.utils",
    "inferencesh.utils.download", "inferencesh.utils.storage",
]  # fmt: skip


def test_migration_page_lists_each_reexported_path() -> None:
    """docs/migration.md, "0.36 import paths": each re-exported path in the table's first
    column, written whole or as `.rest` of `inferencesh.rest`."""
    assert set(REEXPORTS) <= set(MODULES_036)
    page = (ROOT / "docs" / "migration.md").read_text()
    section = page.split("## 0.36 import paths", 1)[1].split("\n## ", 1)[0]
    cells = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `")]
    listed: set[str] = set()
    for cell in cells:
        names = cell.split("`")[1::2]
        listed.update(
            name if name.startswith("inferencesh") else "inferencesh" + name for name in names
        )
    assert sorted(set(REEXPORTS) - listed) == []

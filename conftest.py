"""The repository's own pytest plugin (the rootdir's conftest, so every test folder gets it).

* Tiers: every test gets exactly one of the markers ``unit``, ``e2e``, ``compat`` and ``docs``
  (registered in the root ``pyproject.toml``), so ``pytest -m e2e`` runs one tier. A marker the
  test or its module sets wins; otherwise the folder says it (``tests/e2e``, ``tests/compat``,
  ``tests/docs``), then the file name (``test_docs_*.py``), then whether the test runs against a
  local platform (it uses ``local_platform``, or starts one itself: ``e2e``); everything else is
  ``unit``.
* ``local_platform``: the factory of local platforms, one per distinct configuration per test
  process (see ``PlatformFactory`` in ``packages/inferencesh-platform/tests/platform_testkit.py``).
* Parallel runs (pytest-xdist, ``-n 4 --dist loadgroup``): the tests of a module that share a
  platform or another fixture wider than a test stay in one process; every other test goes where
  there is room.

Nothing here imports a distribution at import time: each distribution's folder also runs alone,
with only that distribution and its dependencies installed.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parent
# Run as root (containers, CI), `inferencesh dev` runs workers as `nobody`, which cannot read
# the apps tests write under pytest's private temp dirs: the suite keeps them as its own user,
# except the tests of that switch (test_worker_sandbox.py), which ask for it.
os.environ.setdefault("INFERENCESH_WORKER_USER", "root")
TIERS = ("unit", "e2e", "compat", "docs")
_PLATFORM_START = re.compile(r"\b(?:Local)?Platform\(")


def _tier(item: pytest.Item) -> str:
    for marker in item.iter_markers():
        if marker.name in TIERS:
            return marker.name
    parts = item.path.relative_to(ROOT).parts
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS:
        return parts[1]
    for tier in ("docs", "compat"):
        if item.path.name.startswith(f"test_{tier}_"):
            return tier
    if "local_platform" in getattr(item, "fixturenames", ()) or _starts_a_platform(item):
        return "e2e"
    return "unit"


def _starts_a_platform(item: pytest.Item) -> bool:
    """Whether the test starts a local platform of its own (to restart or stop it)."""
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        return False
    return _PLATFORM_START.search(source) is not None


def _shared_with(item: pytest.Item) -> str | None:
    """What the test shares with others, as a group name, or None.

    A fixture of module (or class) scope from a ``conftest.py`` is shared by every module that
    uses it: its name and folder. One defined in the test's module: the module. A test on a
    local platform of its own module's making: the module too (one platform per configuration
    and process, cheaper kept together). Session fixtures are each process's own cache, or built
    once for the whole run, and group nothing.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    module = item.path.relative_to(ROOT).as_posix()
    from_conftest = []
    for name in info.names_closure:  # the test's own fixtures first, then what they use
        defs = info.name2fixturedefs.get(name)
        if not defs or defs[-1].scope not in ("module", "class", "package"):
            continue
        where = defs[-1].baseid.split("::")[0]
        if where.endswith(".py"):
            return module
        # The platform itself, rather than a client fixture on it, names the group.
        platform = "local_platform" in defs[-1].argnames
        from_conftest.insert(0 if platform else len(from_conftest), f"{name}@{where or '.'}")
    if from_conftest:
        return from_conftest[0]
    return module if "local_platform" in info.names_closure else None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Give each test its tier as it is collected (before any other hook reads markers)."""
    tier = _tier(item)
    if item.get_closest_marker(tier) is None:
        item.add_marker(getattr(pytest.mark, tier))


# -- parallel runs ---------------------------------------------------------------------------------
#
# pytest-xdist's `--dist loadgroup` sends the tests of one `xdist_group` to one process; since
# pytest 9.2 it can no longer tag a test's id with its group, so the group of every test is
# worked out here: each process writes them to a file the controller reads (`_GROUPS`), and the
# scheduler below keeps each group together. Groups start longest first: modules marked slow,
# then the other modules whose tests share a fixture, then single tests.


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    return _shared_with(item)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups_file = getattr(config, "workerinput", {}).get("inferencesh_groups")
    if groups_file is None:
        return
    groups = {item.nodeid: _group(item) for item in items}
    # Longest first, keeping each module's tests together and in their order.
    rank: dict[Path, int] = {}
    for item in items:
        level = 0 if item.get_closest_marker("slow") else 1 if groups[item.nodeid] else 2
        rank[item.path] = min(level, rank.get(item.path, level))
    items.sort(key=lambda item: rank[item.path])
    path = Path(groups_file)
    partial = path.with_name(f"{path.name}.{config.workerinput['workerid']}")
    partial.write_text(json.dumps({k: v for k, v in groups.items() if v}))
    partial.replace(path)  # every process writes the same map; the last whole one stays


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """(xdist, controller) Tell each test process where to write the groups."""
    config = node.config
    if getattr(config, "_inferencesh_groups", None) is None:
        config._inferencesh_groups = Path(tempfile.mkdtemp(prefix="pytest-groups-")) / "groups.json"
    node.workerinput["inferencesh_groups"] = str(config._inferencesh_groups)


def pytest_unconfigure(config: pytest.Config) -> None:
    groups = getattr(config, "_inferencesh_groups", None)
    if groups is not None:
        shutil.rmtree(groups.parent, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """(xdist, controller) ``--dist loadgroup``: the groups worked out by the test processes."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                path = getattr(self.config, "_inferencesh_groups", None)
                self._groups = json.loads(path.read_text()) if path and path.exists() else {}
            return self._groups.get(nodeid, nodeid)

    config.option.loadscopereorder = False  # the processes' order: longest first
    return GroupScheduling(config, log)


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformFactory]:
    """``local_platform(apps=[...], agents=..., args=..., env=..., files=..., name=...)``.

    A running local platform (``inferencesh dev`` in a subprocess) for that configuration,
    started on first use and shared by every later call with the same one in this process;
    all of them stop at the end of the session.
    """
    from platform_testkit import PlatformFactory

    factory = PlatformFactory(tmp_path_factory.mktemp("platforms"))
    try:
        yield factory
    finally:
        factory.close()

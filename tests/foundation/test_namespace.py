"""The shared `inferencesh` namespace: sibling discovery, lazy re-exports, helpful ImportErrors."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_INIT = ROOT / "packages/inferencesh-core/src/inferencesh/__init__.py"


def _run(code: str, pythonpath: list[Path] | None = None, isolated: bool = False) -> str:
    """Run ``code`` in a fresh interpreter; ``isolated`` drops site-packages and the editable paths."""
    cmd = [sys.executable, *(["-S"] if isolated else []), "-c", textwrap.dedent(code)]
    env = {"PYTHONPATH": ":".join(map(str, pythonpath or [])), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def fake_tree(tmp_path: Path) -> dict[str, Path]:
    """Four sibling source roots shaped like the real distributions, with trivial contents."""
    roots = {name: tmp_path / name for name in ("core", "agents", "apps", "platform")}
    (roots["core"] / "inferencesh/core").mkdir(parents=True)
    (roots["core"] / "inferencesh/__init__.py").write_text(CORE_INIT.read_text())
    (roots["core"] / "inferencesh/core/__init__.py").write_text("inference = 'core'\n")
    (roots["agents"] / "inferencesh/agents").mkdir(parents=True)
    (roots["agents"] / "inferencesh/agents/__init__.py").write_text("tool = 'agents'\n")
    (roots["apps"] / "inferencesh/apps").mkdir(parents=True)
    (roots["apps"] / "inferencesh/apps/__init__.py").write_text("BaseApp = 'apps'\n")
    (roots["apps"] / "inferencesh/models").mkdir(parents=True)
    (roots["apps"] / "inferencesh/models/__init__.py").write_text("ChatInput = 'models'\n")
    (roots["platform"] / "inferencesh/platform").mkdir(parents=True)
    (roots["platform"] / "inferencesh/platform/__init__.py").write_text("LocalPlatform = 'pl'\n")
    return roots


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["core", "agents", "apps", "platform"]))
)
def test_siblings_found_in_any_sys_path_order(
    fake_tree: dict[str, Path], order: tuple[str, ...]
) -> None:
    out = _run(
        """
        import inferencesh
        from inferencesh import inference, tool, BaseApp
        from inferencesh.models import ChatInput
        from inferencesh.platform import LocalPlatform
        print(inference, tool, BaseApp, ChatInput, LocalPlatform, len(inferencesh.__path__))
        print(inferencesh.__file__)
        """,
        [fake_tree[name] for name in order],
        isolated=True,
    )
    words = out.split()
    assert words[:6] == ["core", "agents", "apps", "models", "pl", "4"]
    assert words[6].startswith(str(fake_tree["core"]))


def test_missing_sibling_names_its_distribution(fake_tree: dict[str, Path]) -> None:
    out = _run(
        """
        for name, dist in [("BaseApp", "inferencesh-apps"), ("tool", "inferencesh-agents")]:
            try:
                exec(f"from inferencesh import {name}")
            except ImportError as exc:
                assert dist in str(exc) and f"pip install {dist}" in str(exc), exc
                print("ok", name)
            else:
                raise AssertionError(f"{name} imported without {dist}")
        """,
        [fake_tree["core"]],
        isolated=True,
    )
    assert out.split() == ["ok", "BaseApp", "ok", "tool"]


def test_missing_sibling_module_names_its_distribution(fake_tree: dict[str, Path]) -> None:
    """`import inferencesh.<package>` of a missing sibling says what to install, keeping `name`."""
    out = _run(
        """
        import importlib
        for module in ["inferencesh.agents", "inferencesh.platform", "inferencesh.models"]:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                print(exc.name, "|", exc)
        import inferencesh.apps  # installed: found as usual
        """,
        [fake_tree["core"], fake_tree["apps"]],
        isolated=True,
    )
    lines = out.splitlines()
    assert [line.split(" | ")[0] for line in lines] == [
        "inferencesh.agents",
        "inferencesh.platform",
    ]
    assert "pip install inferencesh-agents" in lines[0]
    assert "pip install inferencesh-platform" in lines[1]


def test_unknown_submodule_is_a_plain_module_not_found(fake_tree: dict[str, Path]) -> None:
    out = _run(
        """
        try:
            import inferencesh.no_such_module
        except ModuleNotFoundError as exc:
            print(exc.name, "|", exc)
        """,
        [fake_tree["core"]],
        isolated=True,
    )
    assert (
        out.strip() == "inferencesh.no_such_module | No module named 'inferencesh.no_such_module'"
    )


def test_unknown_name_is_attribute_error(fake_tree: dict[str, Path]) -> None:
    out = _run(
        """
        import inferencesh
        try:
            inferencesh.no_such_name
        except AttributeError as exc:
            print(type(exc).__name__, exc)
        """,
        [fake_tree["core"]],
        isolated=True,
    )
    assert out.startswith("AttributeError") and "no_such_name" in out


def test_broken_dependency_inside_sibling_is_not_masked(fake_tree: dict[str, Path]) -> None:
    """A sibling that is installed but fails on its own import must raise its real error."""
    (fake_tree["agents"] / "inferencesh/agents/__init__.py").write_text("import not_a_real_dep\n")
    out = _run(
        """
        try:
            from inferencesh import tool
        except ModuleNotFoundError as exc:
            print(exc.name)
        """,
        [fake_tree["core"], fake_tree["agents"]],
        isolated=True,
    )
    assert out.strip() == "not_a_real_dep"


def test_import_does_not_load_siblings_eagerly() -> None:
    out = _run(
        """
        import sys, inferencesh
        loaded = sorted(m for m in sys.modules if m.startswith("inferencesh."))
        print(loaded)
        """
    )
    assert "inferencesh.agents" not in out and "inferencesh.apps" not in out
    assert "inferencesh.models" not in out and "inferencesh.platform" not in out


def test_every_export_resolves_to_its_owner() -> None:
    """With all distributions installed, every lazily re-exported name resolves."""
    import inferencesh

    exports = inferencesh._EXPORTS
    assert set(inferencesh.__all__) == set(exports)
    for name, (module, _dist) in exports.items():
        value = getattr(inferencesh, name)
        assert value is getattr(sys.modules[module], name), name
    assert set(dir(inferencesh)) >= set(exports)


def test_seed_import_paths() -> None:
    """The exact import lines the seeds show."""
    _run(
        """
        from inferencesh import inference, async_inference, UploadFileOptions, RequirementsNotMetException
        from inferencesh import tool, app_tool, agent_tool, webhook_tool, internal_tools
        from inferencesh import string, number, integer, boolean, enum_of, array, obj, optional
        from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
        from inferencesh.models import ChatInput, ModelSettings, LLMOutput, LLMInput, ModelSettingsCapabilityMixin
        """
    )

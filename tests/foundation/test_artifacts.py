"""Built artifacts, not the source tree: wheel contents, metadata, and installs in isolation.

Each distribution is built (sdist, then the wheel from that sdist alone) and checked by
`tools/check_dists.py`; then each is installed alone into a fresh virtual environment, as a user
would, to see what imports and what raises the helpful ImportError.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_dists", ROOT / "tools/check_dists.py")
assert spec and spec.loader
check_dists = importlib.util.module_from_spec(spec)
sys.modules["check_dists"] = check_dists
spec.loader.exec_module(check_dists)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # wheels installed and run in fresh venvs

# What each install must offer: (expression that must work) and (name -> distribution it lacks).
PROBE = textwrap.dedent(
    """
    import json, sys, importlib
    report = {"ok": [], "missing": {}}
    for stmt in sys.argv[1:]:
        try:
            exec(stmt, {})
            report["ok"].append(stmt)
        except ImportError as exc:
            report["missing"][stmt] = str(exc)
    print(json.dumps(report))
    """
)
# The 0.36 module paths ship in core's wheel and work wherever their names' owner is installed.
CORE = [
    "from inferencesh import inference, async_inference, UploadFileOptions, RequirementsNotMetException",
    "import inferencesh.client, inferencesh.api.tasks, inferencesh.types, inferencesh.streamable",
]
AGENTS = [
    "from inferencesh import tool, app_tool, string, internal_tools, Agent",
    "import inferencesh.agent, inferencesh.tools",
]
APPS = [
    "from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File",
    "from inferencesh.models import ChatInput, ModelSettings, LLMOutput, LLMInput",
    "import inferencesh.models.base, inferencesh.utils.download, inferencesh.llm_types_gen",
]
PLATFORM = ["from inferencesh.platform import LocalPlatform, create_app, PlatformConfig"]
# A sibling package imported as a module (not through a re-exported name) names its distribution.
AGENTS_MODULE = "import inferencesh.agents"
PLATFORM_MODULE = "import inferencesh.platform"
SEED_APP = ROOT / "examples" / "apps" / "seed" / "run_method"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every distribution built and checked, once for the run (parallel processes share it)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # not a parallel run
        return check_dists.build_and_check(tmp_path_factory.mktemp("dist"))
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, above each process's
    with (shared / "dist.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "dist.json"
        if not done.exists():
            built = check_dists.build_and_check(shared / "dist")
            done.write_text(json.dumps({name: str(path) for name, path in built.items()}))
        return {name: Path(path) for name, path in json.loads(done.read_text()).items()}


def _install(tmp: Path, wheels: dict[str, Path], dist: str) -> Path:
    env_dir = tmp / dist
    # No pip of its own (ensurepip is 4 s of CPU per environment): this Python's pip installs
    # into it, as `pip --python` does for any interpreter.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    find_links = str(next(iter(wheels.values())).parent)
    subprocess.run(
        [
            *_pip(python),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--find-links",
            find_links,
            str(wheels[dist]),
        ],
        check=True,
    )
    return python


def _probe(python: Path, statements: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [str(python), "-c", PROBE, *statements], capture_output=True, text=True, cwd="/", check=True
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _pip(python: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "--python", str(python)]


def _installed(python: Path) -> set[str]:
    proc = subprocess.run(
        [*_pip(python), "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {p["name"].lower() for p in json.loads(proc.stdout)}


def test_artifacts_are_checked(wheels: dict[str, Path]) -> None:
    assert set(wheels) == {d.name for d in check_dists.DISTS}


def test_wheel_check_catches_a_stray_file(wheels: dict[str, Path], tmp_path: Path) -> None:
    import shutil
    import zipfile

    bad = tmp_path / wheels["inferencesh-agents"].name
    shutil.copy(wheels["inferencesh-agents"], bad)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("inferencesh/__init__.py", "")
    agents = next(d for d in check_dists.DISTS if d.name == "inferencesh-agents")
    problems = check_dists.check_wheel(agents, bad, check_dists.project_version())
    assert problems == [f"{bad.name}: unexpected file inferencesh/__init__.py"]


@pytest.mark.parametrize(
    ("dist", "works", "lacks", "pulled_in", "absent"),
    [
        (
            "inferencesh-core",
            CORE,
            {
                AGENTS[0]: "inferencesh-agents",
                AGENTS[1]: "inferencesh-agents",
                AGENTS_MODULE: "inferencesh-agents",
                APPS[0]: "inferencesh-apps",
                APPS[2]: "inferencesh-apps",
                PLATFORM_MODULE: "inferencesh-platform",
            },
            {"httpx", "msgspec"},
            {"pydantic", "inferencesh-agents", "inferencesh-apps", "inferencesh-platform"},
        ),
        (
            # What an app image installs: no agents client, no local platform.
            "inferencesh-apps",
            CORE + APPS,
            {
                AGENTS[0]: "inferencesh-agents",
                AGENTS[1]: "inferencesh-agents",
                AGENTS_MODULE: "inferencesh-agents",
                PLATFORM[0]: "inferencesh-platform",
            },
            {"inferencesh-core", "pydantic"},
            {"inferencesh-agents", "inferencesh-platform"},
        ),
        (
            "inferencesh-agents",
            CORE + AGENTS,
            {
                APPS[0]: "inferencesh-apps",
                APPS[2]: "inferencesh-apps",
                PLATFORM_MODULE: "inferencesh-platform",
            },
            {"inferencesh-core"},
            {"pydantic", "inferencesh-apps", "inferencesh-platform"},
        ),
        (
            "inferencesh-platform",
            CORE + AGENTS + APPS + PLATFORM,
            {},
            {"inferencesh-core", "inferencesh-agents", "inferencesh-apps", "mcp"},
            {"inferencesh"},
        ),
        (
            "inferencesh",
            CORE + AGENTS + APPS + PLATFORM,
            {},
            {"inferencesh-core", "inferencesh-agents", "inferencesh-apps", "inferencesh-platform"},
            set(),
        ),
    ],
)
def test_install_alone(
    wheels: dict[str, Path],
    tmp_path: Path,
    dist: str,
    works: list[str],
    lacks: dict[str, str],
    pulled_in: set[str],
    absent: set[str],
) -> None:
    python = _install(tmp_path, wheels, dist)
    installed = _installed(python)
    assert pulled_in <= installed, installed
    assert not (absent & installed), installed & absent
    report = _probe(python, works + list(lacks))
    assert report["ok"] == works, report
    missing = report["missing"]
    assert isinstance(missing, dict)
    for stmt, needed in lacks.items():
        assert f"pip install {needed}" in missing[stmt], missing[stmt]
    cli = python.parent / "inferencesh"
    top = subprocess.run([str(cli), "--help"], capture_output=True, text=True)
    assert top.returncode == 0, top.stderr
    # Each command group exists exactly when its distribution is installed (entry points);
    # without it the command fails and names the distribution to install.
    for group, owner in [("app", "inferencesh-apps"), ("dev", "inferencesh-platform")]:
        run = subprocess.run([str(cli), group, "--help"], capture_output=True, text=True)
        if owner in installed:
            assert run.returncode == 0, run.stderr
        else:
            assert run.returncode == 1, (group, run.returncode, run.stderr)
            assert f"pip install {owner}" in run.stderr, run.stderr


def test_app_image_install_tests_the_seed_app(wheels: dict[str, Path], tmp_path: Path) -> None:
    """An app image (core and apps only) runs an app; `inferencesh dev` there says what to add."""
    python = _install(tmp_path, wheels, "inferencesh-apps")
    cli = python.parent / "inferencesh"
    test = subprocess.run(
        [str(cli), "app", "test", str(SEED_APP)], capture_output=True, text=True, cwd=tmp_path
    )
    assert test.returncode == 0, test.stderr
    assert "A RED FOX" in test.stdout, test.stdout
    dev = subprocess.run([str(cli), "dev", str(SEED_APP)], capture_output=True, text=True)
    assert dev.returncode == 1, dev.stderr
    assert "pip install inferencesh-platform" in dev.stderr, dev.stderr

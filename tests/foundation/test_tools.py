"""The release and development tooling: tools/run.py, bump_version.py, check_dists.py, the CI and
release workflows, and the commands the README and the development page show."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
import venv
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load("run")
bump_version = _load("bump_version")
check_dists = _load("check_dists")


# ---------------------------------------------------------------------------------- tools/run.py


def test_half_built_env_is_recreated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted `venv` creation leaves a Python without pip; the next run must rebuild it."""
    env_dir = tmp_path / "venv with spaces"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import pip"], capture_output=True).returncode != 0
    monkeypatch.setattr(run, "VENV", env_dir)
    monkeypatch.setattr(run, "STAMP", env_dir / ".inferencesh-stamp")
    installs: list[tuple[str, ...]] = []
    # Only the network installs are recorded instead of run; the venv itself is real.
    monkeypatch.setattr(run, "_run", lambda *cmd: installs.append(tuple(map(str, cmd))))
    assert run.ensure_env() == python
    assert subprocess.run([str(python), "-c", "import pip"], capture_output=True).returncode == 0
    assert [c[3:5] for c in installs] == [("install", "--quiet")] * 2
    assert run.STAMP.read_text() == run._fingerprint()


def test_an_interrupted_install_leaves_no_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stamp of an older install + interrupted install must not later pass for a finished one."""
    env_dir = tmp_path / "venv"
    monkeypatch.setattr(run, "VENV", env_dir)
    monkeypatch.setattr(run, "STAMP", env_dir / ".inferencesh-stamp")
    monkeypatch.setattr(run, "_usable", lambda python: True)
    env_dir.mkdir()
    run.STAMP.write_text("fingerprint of an older pyproject.toml")

    def interrupted(*cmd: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.ensure_env()
    assert not run.STAMP.exists()


def test_env_with_a_deleted_interpreter_is_not_usable(tmp_path: Path) -> None:
    assert not run._usable(tmp_path / "gone" / "bin" / "python")
    assert run._usable(Path(sys.executable))


def test_env_made_by_another_python_is_not_usable(tmp_path: Path) -> None:
    other = tmp_path / "python"
    other.write_text("#!/bin/sh\necho '3.9.0 (main) [GCC]'\n")
    other.chmod(0o755)
    assert not run._usable(other)


def test_setup_step_failure_names_the_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run._run(sys.executable, "-c", "raise SystemExit(3)")
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "FAILED: setting up" in err
    assert "raise SystemExit(3)" in err
    assert "(exit 3)" in err


def test_a_child_killed_by_a_signal_exits_like_a_shell_reports_it() -> None:
    code = run._call([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 15)"])
    assert code == 128 + 15
    assert run._call([sys.executable, "-c", "raise SystemExit(7)"]) == 7


def test_ctrl_c_lets_the_step_finish_and_passes_its_status_through(tmp_path: Path) -> None:
    child = textwrap.dedent(
        """
        import sys, time
        try:
            print("ready", flush=True)
            time.sleep(30)
        except KeyboardInterrupt:
            time.sleep(0.5)  # longer than subprocess.run's grace period
            print("child cleaned up", flush=True)
            sys.exit(2)
        """
    )
    driver = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("run", {str(ROOT / "tools/run.py")!r})
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
        sys.exit(run._call([sys.executable, "-c", {child!r}]))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", driver],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    out, err = proc.communicate(timeout=20)
    assert "child cleaned up" in out, (out, err, proc.returncode)
    assert "Traceback" not in err, err
    assert proc.returncode == 2


def test_run_py_scripts_exist() -> None:
    scripts = re.findall(r'"((?:tools|examples)/[\w/]+\.py)"', (ROOT / "tools/run.py").read_text())
    assert scripts
    for script in scripts:
        assert (ROOT / script).is_file(), script


def test_run_py_works_from_another_directory(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/run.py"), "nonsense"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown job 'nonsense'" in proc.stderr


# ------------------------------------------------------------------------ tools/bump_version.py


def _copy_versions(dst: Path) -> Path:
    for src in [
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("packages/*/src/inferencesh/*/_version.py"),
    ]:
        target = dst / src.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    return dst


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    "version", ["1.2.3\n", "01.2.3", "1.02.3", "1.2.3rc01", "1.2.3-rc1", "v1.2.3", "1.2", " 1.2.3"]
)
def test_bump_refuses_unnormalized_versions(tmp_path: Path, version: str) -> None:
    root = _copy_versions(tmp_path)
    before = _snapshot(root)
    with pytest.raises(SystemExit, match="not a release version"):
        bump_version.bump(version, root)
    assert _snapshot(root) == before


@pytest.mark.parametrize("version", ["1.10.0", "1.2.3rc1", "1.2.3.post1", "2.0.0.dev0", "1.0.0b2"])
def test_bump_accepts_normalized_versions_and_is_idempotent(tmp_path: Path, version: str) -> None:
    root = _copy_versions(tmp_path)
    bump_version.bump(version, root)
    once = _snapshot(root)
    bump_version.bump(version, root)
    assert _snapshot(root) == once
    assert set(bump_version.current_versions(root).values()) == {version}


def test_bump_changes_nothing_when_a_file_lacks_its_version(tmp_path: Path) -> None:
    root = _copy_versions(tmp_path)
    meta = root / "packages/inferencesh/pyproject.toml"
    meta.write_text(re.sub(r'(?m)^version = "[^"]*"\n', "", meta.read_text()))
    before = _snapshot(root)
    with pytest.raises(SystemExit, match=r"packages/inferencesh/pyproject\.toml: no line version"):
        bump_version.bump("9.9.9", root)
    assert _snapshot(root) == before


def test_bump_restores_written_files_when_a_later_write_fails(tmp_path: Path) -> None:
    root = _copy_versions(tmp_path)
    before = _snapshot(root)
    # The meta pyproject is written last; its temporary name being taken makes that write fail.
    (root / "packages/inferencesh/.pyproject.toml.tmp").mkdir()
    with pytest.raises(SystemExit, match="nothing changed"):
        bump_version.bump("9.9.9", root)
    assert {k: v for k, v in _snapshot(root).items() if ".tmp" not in k} == before


def test_bump_command_line_rejects_extra_arguments(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/bump_version.py"), "1.2.3", "4.5.6"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "usage" in proc.stderr


# ------------------------------------------------------------------------ tools/check_dists.py


def _dist(name: str) -> object:
    return next(d for d in check_dists.DISTS if d.name == name)


def _wheel(tmp: Path, name: str, files: list[str], version: str = "1.0.0") -> Path:
    dist = _dist(name)
    normalized = name.replace("-", "_")
    path = tmp / f"{normalized}-{version}-py3-none-any.whl"
    requires = [
        f"{r}=={version}" if r in dist.pinned else r  # type: ignore[attr-defined]
        for r in sorted(dist.requires)  # type: ignore[attr-defined]
    ]
    meta = "\n".join(
        [
            "Metadata-Version: 2.4",
            f"Name: {name}",
            f"Version: {version}",
            f"Requires-Python: {check_dists.REQUIRES_PYTHON}",
            *(f"Requires-Dist: {r}" for r in requires),
        ]
    )
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.writestr(f, "")
        zf.writestr(f"{normalized}-{version}.dist-info/METADATA", meta + "\n")
    return path


CORE_FILES = [
    "inferencesh/__init__.py",
    "inferencesh/__main__.py",
    "inferencesh/py.typed",
    "inferencesh/core/__init__.py",
    "inferencesh/core/py.typed",
    *check_dists.COMPAT_036,
]


def test_a_complete_wheel_passes(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "inferencesh-core", CORE_FILES)
    assert check_dists.check_wheel(_dist("inferencesh-core"), wheel, "1.0.0") == []


@pytest.mark.parametrize("missing", ["inferencesh/py.typed", "inferencesh/__init__.py"])
def test_a_wheel_missing_a_top_level_file_fails(tmp_path: Path, missing: str) -> None:
    wheel = _wheel(tmp_path, "inferencesh-core", [f for f in CORE_FILES if f != missing])
    problems = check_dists.check_wheel(_dist("inferencesh-core"), wheel, "1.0.0")
    assert problems == [f"{wheel.name}: missing {missing}"]


@pytest.mark.parametrize(
    "stray",
    [
        "inferencesh/core/__pycache__/client.cpython-312.pyc",
        "inferencesh/core/tests/test_client.py",
        "inferencesh/core/conftest.py",
        "inferencesh/core/.DS_Store",
    ],
)
def test_a_wheel_with_a_stray_file_inside_its_subtree_fails(tmp_path: Path, stray: str) -> None:
    wheel = _wheel(tmp_path, "inferencesh-core", [*CORE_FILES, stray])
    problems = check_dists.check_wheel(_dist("inferencesh-core"), wheel, "1.0.0")
    assert problems == [f"{wheel.name}: stray file {stray}"]


def test_a_wheel_with_wrong_metadata_fails(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "inferencesh-core", CORE_FILES, version="1.0.1")
    problems = check_dists.check_wheel(_dist("inferencesh-agents"), wheel, "1.0.0")
    assert f"{wheel.name}: Name 'inferencesh-core' != 'inferencesh-agents'" in problems
    assert f"{wheel.name}: version 1.0.1 != 1.0.0" in problems


def _sdist(tmp: Path, name: str, files: list[str]) -> Path:
    top = f"{name.replace('-', '_')}-{check_dists.project_version()}"
    path = tmp / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for f in ["PKG-INFO", "pyproject.toml", "README.md", ".gitignore", *files]:
            src = tmp / "empty"
            src.write_text("")
            tar.add(src, f"{top}/{f}")
    return path


def test_sdists_are_checked_for_strays_and_foreign_files(tmp_path: Path) -> None:
    agents = _dist("inferencesh-agents")
    good = ["src/inferencesh/agents/__init__.py", "src/inferencesh/agents/py.typed"]
    assert check_dists.check_sdist(agents, _sdist(tmp_path, agents.name, good)) == []  # type: ignore[attr-defined]
    bad = _sdist(
        tmp_path,
        agents.name,
        [*good, "src/inferencesh/agents/tests/test_x.py", "src/inferencesh/core/client.py"],
    )
    assert check_dists.check_sdist(agents, bad) == [  # type: ignore[attr-defined]
        f"{bad.name}: stray file src/inferencesh/agents/tests/test_x.py",
        f"{bad.name}: unexpected file src/inferencesh/core/client.py",
    ]


def test_a_failing_build_names_the_distribution(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[project\n")
    with pytest.raises(SystemExit, match=r"inferencesh-agents: building the sdist from .* failed"):
        check_dists._build(_dist("inferencesh-agents"), "sdist", broken, tmp_path / "out")


@pytest.mark.parametrize("argv", [["--out"], ["--bogus"], ["--out", "a", "b"], ["--out", ""]])
def test_check_dists_rejects_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match=r"usage: check_dists\.py \[--out DIR\]"):
        check_dists.main(argv)


# -------------------------------------------------------------------------------- the workflows


def _workflow(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / ".github/workflows" / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _runs(job: dict[str, object]) -> list[str]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return [s["run"] for s in steps if "run" in s]


def _classified_pythons(pyproject: Path) -> set[str]:
    # Regexes, not tomllib: the suite runs on Python 3.10 too.
    return set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject.read_text()))


def _requires_python(pyproject: Path) -> str:
    match = re.search(r'(?m)^requires-python = "([^"]+)"$', pyproject.read_text())
    assert match, pyproject
    return match.group(1)


def test_workflow_paths_exist() -> None:
    for name in ("ci.yml", "release.yml"):
        for job in _workflow(name)["jobs"].values():  # type: ignore[attr-defined]
            for line in _runs(job):
                for path in re.findall(r"\b(?:tools|tests|packages)/[\w./-]*\w", line):
                    assert (ROOT / path).exists(), f"{name}: {path} does not exist"


def test_ci_matrices_cover_every_distribution_and_python() -> None:
    jobs = _workflow("ci.yml")["jobs"]
    assert isinstance(jobs, dict)
    code_dists = {
        p.parent.name for p in ROOT.glob("packages/*/pyproject.toml") if (p.parent / "src").is_dir()
    }
    assert set(jobs["test-alone"]["strategy"]["matrix"]["dist"]) == code_dists
    for dist in code_dists:
        assert any((ROOT / "packages" / dist / "tests").glob("test_*.py")), dist
    pythons = set(jobs["test-all"]["strategy"]["matrix"]["python"])
    assert set(jobs["test-alone"]["strategy"]["matrix"]["python"]) == pythons
    for pyproject in ROOT.glob("packages/*/pyproject.toml"):
        assert _classified_pythons(pyproject) == pythons, pyproject
        assert (
            _requires_python(pyproject)
            == f">={min(pythons, key=lambda v: tuple(map(int, v.split('.'))))}"
        )
    assert "python3 tools/run.py test" in _runs(jobs["test-all"])
    assert (ROOT / ".ci/run").read_text().strip().endswith("exec python3 tools/run.py test")


def test_release_checks_the_tag_tests_and_publishes_every_distribution() -> None:
    jobs = _workflow("release.yml")["jobs"]
    assert isinstance(jobs, dict)
    build = "\n".join(_runs(jobs["build"]))
    assert 'tag="${GITHUB_REF_NAME#v}"' in build
    assert 'tools/bump_version.py --show | awk \'{print $1}\' | sort -u)" = "$tag"' in build
    # Tag pushes do not run CI, so the release must test what it publishes.
    assert build.index("python3 tools/run.py test") < build.index("tools/check_dists.py --out dist")
    assert jobs["publish"]["needs"] == "build"
    uploaded = next(s for s in jobs["build"]["steps"] if "upload-artifact" in s.get("uses", ""))
    downloaded = next(
        s for s in jobs["publish"]["steps"] if "download-artifact" in s.get("uses", "")
    )
    assert uploaded["with"]["path"] == downloaded["with"]["path"] == "dist/"
    assert {d.name for d in check_dists.DISTS} == {
        p.parent.name for p in ROOT.glob("packages/*/pyproject.toml")
    }


# ------------------------------------------------------------------------ README and docs pages


DOCS = [ROOT / "README.md", ROOT / "docs/development.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_paths_named_in_the_docs_exist(doc: Path) -> None:
    text = doc.read_text()
    named = set(re.findall(r"(?<![\w/.])((?:tools|tests|packages|docs|examples)/[\w./-]*\w)", text))
    assert named
    missing = sorted(p for p in named if not (doc.parent / p).exists() and not (ROOT / p).exists())
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_check_dists_is_shown_with_the_dev_python(doc: Path) -> None:
    # check_dists needs `build` and `hatchling`, which only the dev environment has.
    for line in doc.read_text().splitlines():
        if "tools/check_dists.py" in line and "python" in line:
            assert ".venv/bin/python tools/check_dists.py" in line, line


def test_check_dists_as_documented_fails_clearly_without_build(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=False).create(bare)
    start = time.monotonic()
    proc = subprocess.run(
        [str(bare / "bin/python"), str(ROOT / "tools/check_dists.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    assert "No module named build" in proc.stderr

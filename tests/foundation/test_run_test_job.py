"""`tools/run.py test`: the checks run beside the parallel test suite, and every failing step is
still named, with the command's status that of the first one that failed."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tools_run_test_job", ROOT / "tools" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load_run()


def _fake_python(tmp_path: Path, codes: dict[str, int]) -> Path:
    """An interpreter stand-in: ``-m TOOL`` prints its arguments and exits with ``codes[TOOL]``."""
    script = tmp_path / "python"
    cases = "\n".join(f"  {tool}) exit {code};;" for tool, code in codes.items())
    script.write_text(f'#!/bin/sh\necho "ran $*"\ncase "$2" in\n{cases}\n  *) exit 0;;\nesac\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_every_step_runs_and_each_failure_is_named(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    python = _fake_python(tmp_path, {"mypy": 3, "pytest": 1})
    code = run._test(python, dict(os.environ), ["-k", "some_test"])
    out, err = capfd.readouterr()
    # The first failing step in the documented order (checks, then the suite) sets the status.
    assert code == 3
    assert "FAILED: -m mypy (exit 3)" in err
    assert "FAILED: -m pytest -n 4 --dist loadgroup -k some_test (exit 1)" in err
    assert "FAILED: -m ruff" not in err and "FAILED: -m mkdocs" not in err
    # Each check's output is shown under its name, after the suite's own.
    for step in ("ruff check .", "ruff format --check .", "mypy", "mkdocs build --strict"):
        header = f"+ -m {step}"
        assert header in out, out
        assert out.index(header) < out.index(f"ran -m {step}"), out
    assert out.index("ran -m pytest") < out.index("+ -m ruff check .")


def test_a_run_where_all_pass_exits_0(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    python = _fake_python(tmp_path, {})
    assert run._test(python, dict(os.environ), []) == 0
    assert "FAILED" not in capfd.readouterr().err


def test_a_failing_suite_alone_fails_the_command(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    python = _fake_python(tmp_path, {"pytest": 2})
    assert run._test(python, dict(os.environ), []) == 2
    assert "FAILED: -m pytest -n 4 --dist loadgroup (exit 2)" in capfd.readouterr().err

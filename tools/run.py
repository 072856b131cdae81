#!/usr/bin/env python3
"""One entry point for the project's jobs; each job sets up what it needs first.

    python3 tools/run.py demo    # start the local platform on an example app and run a task
    python3 tools/run.py test    # lint, type-check, the whole test suite and the docs build
    python3 tools/run.py agents  # agents on the local platform, thinking with the scripted model
    python3 tools/run.py env     # only create/refresh the dev environment (.venv)

The dev environment is a virtual environment in ``.venv`` with the five distributions
installed editable plus the ``dev`` dependency group of the root ``pyproject.toml``. It is
rebuilt when any ``pyproject.toml`` changes. Only the Python standard library is used here,
so this runs on a fresh machine with nothing but Python and git.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PACKAGES = [
    "inferencesh-core",
    "inferencesh-agents",
    "inferencesh-apps",
    "inferencesh-platform",
    "inferencesh",
]
STAMP = VENV / ".inferencesh-stamp"


def _bin(name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    return VENV / sub / name


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in [
        ROOT / "pyproject.toml",
        *(ROOT / "packages" / p / "pyproject.toml" for p in PACKAGES),
    ]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _call(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` in the repository root; return its exit status as a shell would report it.

    A child killed by signal N reports ``128 + N`` (not Python's negative code, which would
    reach the shell as a meaningless ``256 - N``). On Ctrl-C the child got the same SIGINT from
    the terminal, so it is left to finish its own clean-up (pytest prints its summary) first.
    """
    with subprocess.Popen(cmd, cwd=ROOT, env=env) as proc:
        return _wait(proc)


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """The status of a started process as a shell reports it (see ``_call``)."""
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            raise
        code = code or 128 + signal.SIGINT
    return 128 - code if code < 0 else code


def _run(*cmd: str | Path) -> None:
    """Run one setup step; on failure say which step and exit with its status."""
    shown = " ".join(str(c) for c in cmd)
    print("+", shown, flush=True)
    code = _call([str(c) for c in cmd])
    if code != 0:
        print(f"FAILED: setting up {VENV}: {shown} (exit {code})", file=sys.stderr)
        raise SystemExit(code)


def _usable(python: Path) -> bool:
    """Whether ``python`` runs, has pip and is this Python's version.

    A ``.venv`` left half-built (no pip), whose interpreter is gone, or made by another Python
    (``python3.12 tools/run.py`` after ``python3.11 tools/run.py``) must be recreated, not patched.
    """
    try:
        probe = subprocess.run(
            [str(python), "-c", "import pip, sys; print(sys.version)"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    except OSError:  # deleted or foreign interpreter
        return False
    return probe.returncode == 0 and probe.stdout.strip() == sys.version


def ensure_env() -> Path:
    """Create or refresh ``.venv`` and return its Python."""
    python = _bin("python")
    fingerprint = _fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    if not _usable(python):
        print(f"creating {VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except subprocess.CalledProcessError as exc:
            # Typically a distribution Python without ensurepip (Debian/Ubuntu: python3-venv).
            print(
                f"FAILED: creating {VENV}: {' '.join(map(str, exc.cmd))} (exit {exc.returncode});"
                " does this Python have the venv module with ensurepip?",
                file=sys.stderr,
            )
            raise SystemExit(exc.returncode) from None
    # No stamp while installing: an interrupted install must not pass for a finished one later.
    STAMP.unlink(missing_ok=True)
    quiet = ["--quiet", "--disable-pip-version-check"]
    _run(python, "-m", "pip", "install", *quiet, "--upgrade", "pip>=25.1")
    editables = [arg for p in PACKAGES for arg in ("-e", f"packages/{p}")]
    _run(python, "-m", "pip", "install", *quiet, *editables, "--group", "dev")
    STAMP.write_text(fingerprint)
    return python


# The test suite in parallel: many tests wait on subprocesses and sockets, so more processes than
# cores pay; `loadgroup` keeps the tests that share a platform or a module fixture in one process
# (the repository's conftest.py works out the groups). Chosen by measurement on 2 cores.
PYTEST_PARALLEL = ["-n", "4", "--dist", "loadgroup"]


def _test(python: Path, env: dict[str, str], rest: list[str]) -> int:
    """Lint, format check, type check and docs build alongside the test suite.

    The checks run at the same time as pytest (whose output goes straight to the terminal); their
    output is shown once pytest ends, each under its name. Every failing step is named; the exit
    status is that of the first failing step, in the order listed here.
    """
    checks: list[list[str]] = [
        [str(python), "-m", "ruff", "check", "."],
        [str(python), "-m", "ruff", "format", "--check", "."],
        [str(python), "-m", "mypy"],
        [str(python), "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", "build/site"],
    ]
    pytest = [str(python), "-m", "pytest", *PYTEST_PARALLEL, *rest]
    with contextlib.ExitStack() as stack:
        outputs = [stack.enter_context(tempfile.TemporaryFile()) for _ in checks]
        running: list[subprocess.Popen[bytes]] = []
        stack.callback(_reap, running)
        for cmd, out in zip(checks, outputs, strict=True):
            running.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            )
        print("+", " ".join(pytest[1:]), flush=True)
        pytest_code = _wait(subprocess.Popen(pytest, cwd=ROOT, env=env))
        codes = [_wait(proc) for proc in running]
        for cmd, out in zip(checks, outputs, strict=True):
            print("+", " ".join(cmd[1:]), flush=True)
            out.seek(0)
            sys.stdout.buffer.write(out.read())
            sys.stdout.flush()
    failed = [
        (cmd, code)
        for cmd, code in zip([*checks, pytest], [*codes, pytest_code], strict=True)
        if code != 0
    ]
    for cmd, code in failed:
        print(f"FAILED: {' '.join(cmd[1:])} (exit {code})", file=sys.stderr)
    return failed[0][1] if failed else 0


def _reap(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill what is still running (an interrupted run) and wait for it."""
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    rest = argv[1:]
    if job in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    python = ensure_env()
    env = {**os.environ, "PYTHONPATH": ""}
    if job == "env":
        return 0
    scripts = {"demo": "tools/demo.py", "agents": "examples/agents/demo.py"}
    if job in scripts:
        return _call([str(python), scripts[job], *rest], env)
    if job == "test":
        return _test(python, env, rest)
    print(f"unknown job {job!r}; try: demo, test, agents, env", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None

#!/usr/bin/env python3
"""One entry point for the project's jobs; each job sets up what it needs first.

    python3 tools/run.py demo    # start the local platform on an example app and run a task
    python3 tools/run.py test    # lint, type-check, the whole test suite and the docs build
    python3 tools/run.py agents  # agents on the local platform, thinking with the scripted model
    python3 tools/run.py env     # only create/refresh the dev environment (.venv)

The dev environment is a virtual environment in ``.venv`` with the four distributions
installed editable plus the ``dev`` dependency group of the root ``pyproject.toml``. It is
rebuilt when any ``pyproject.toml`` changes. Only the Python standard library is used here,
so this runs on a fresh machine with nothing but Python and git.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PACKAGES = ["inferencesh-core", "inferencesh-agents", "inferencesh-apps", "inferencesh"]
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


def _run(*cmd: str | Path, **kwargs: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_env() -> Path:
    """Create or refresh ``.venv`` and return its Python."""
    python = _bin("python")
    fingerprint = _fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    quiet = ["--quiet", "--disable-pip-version-check"]
    _run(python, "-m", "pip", "install", *quiet, "--upgrade", "pip>=25.1")
    editables = [arg for p in PACKAGES for arg in ("-e", f"packages/{p}")]
    _run(python, "-m", "pip", "install", *quiet, *editables, "--group", "dev")
    STAMP.write_text(fingerprint)
    return python


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
        return subprocess.run([str(python), scripts[job], *rest], cwd=ROOT, env=env).returncode
    if job == "test":
        steps: list[list[str]] = [
            [str(python), "-m", "ruff", "check", "."],
            [str(python), "-m", "ruff", "format", "--check", "."],
            [str(python), "-m", "mypy"],
            [
                str(python),
                "-m",
                "mkdocs",
                "build",
                "--strict",
                "--quiet",
                "--site-dir",
                "build/site",
            ],
            [str(python), "-m", "pytest", *rest],
        ]
        for step in steps:
            print("+", " ".join(step[1:]), flush=True)
            code = subprocess.run(step, cwd=ROOT, env=env).returncode
            if code != 0:
                print(f"FAILED: {' '.join(step[1:])} (exit {code})", file=sys.stderr)
                return code
        return 0
    print(f"unknown job {job!r}; try: demo, test, agents, env", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

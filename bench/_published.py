"""The published ``inferencesh`` client from PyPI, in a virtual environment of its own.

Not a benchmark itself. One helper for every place that runs the published client as a peer:
the benches (pinned to ``PINNED_VERSION`` so their figures stay comparable) and the tests (the
latest release, through the ``published_python`` fixture in ``tests/conftest.py``).

The venv is keyed by the version: ``.venvs/published`` for the latest release,
``.venvs/published-<version>`` for a pin. It holds the client with the extras the differential
tests need (``async``; ``upstream`` and ``images`` for ``inferencesh.upstream`` and
``inferencesh.images``), and is reused while importing them works in it and reports the pinned
version, and rebuilt otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED_VERSION = "0.36.0"

# Prints the version when the client and its async extra import; run outside the repo so our
# own `inferencesh` can never stand in for the published one.
_CHECK = "import inferencesh, aiohttp, httpx, PIL; print(inferencesh.__version__)"
_EXTRAS = "async,upstream,images"
_PIP_INSTALL = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")


def venv_dir(version: str | None = None) -> Path:
    """Where the venv for ``version`` (``None``: the latest release) lives."""
    return ROOT / ".venvs" / ("published" if version is None else f"published-{version}")


def published_python(version: str | None = None) -> Path:
    """The interpreter of a venv holding ``inferencesh[async,upstream,images]`` at ``version``
    (``None``: latest).

    Created with pip from PyPI on first use, reused afterwards. Raises ``RuntimeError`` saying
    what failed (with pip's own message) if it cannot be installed; no half-built venv is left.
    """
    home = venv_dir(version)
    python = home / "bin" / "python"
    if _usable(_installed_version(python), version):
        return python
    requirement = f"inferencesh[{_EXTRAS}]" + (f"=={version}" if version else "")
    print(f"installing {requirement} into {home} ...", file=sys.stderr, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    pip = subprocess.run(
        [str(python), *_PIP_INSTALL, requirement],
        capture_output=True,
        text=True,
        check=False,
    )
    found = _installed_version(python)
    if pip.returncode != 0 or not _usable(found, version):
        shutil.rmtree(home, ignore_errors=True)
        # pip's last lines hold its error; earlier ones are index warnings.
        detail = "\n".join(pip.stderr.strip().splitlines()[-5:]) or f"installed version {found!r}"
        raise RuntimeError(f"could not install {requirement} into {home}:\n{detail}")
    return python


def _usable(found: str | None, wanted: str | None) -> bool:
    """A client is installed and, if a version is wanted, it is that one."""
    return found is not None and wanted in (None, found)


def _installed_version(python: Path) -> str | None:
    """The client's version in the venv of ``python``, or None if it is missing or broken."""
    if not python.exists():
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    check = subprocess.run(
        [str(python), "-c", _CHECK],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=python.parent,
    )
    if check.returncode != 0:
        return None
    return check.stdout.strip() or None

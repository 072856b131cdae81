#!/usr/bin/env python3
"""Build every distribution and check the artifacts, not the source tree.

    .venv/bin/python tools/check_dists.py [--out build/dist]

For each distribution: build the sdist, then build the wheel *from that sdist alone* (so an sdist
that lacks a file its wheel needs fails here), then check that the wheel holds only its own subtree
plus its dist-info, and that its metadata lists exactly the intended dependencies and Python range.
Run it with the dev environment's Python (``.venv``), which has ``build`` and ``hatchling``.
"""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRES_PYTHON = ">=3.10"
# Files no artifact may carry even inside its own subtree: caches, tests, editor/OS dot-files.
STRAY = re.compile(
    r"(?:^|/)(?:__pycache__|tests?|\.[^/]*)(?:/|$)|\.py[co]$|(?:^|/)(?:conftest|test_[^/]*)\.py$"
)


@dataclass(frozen=True)
class Dist:
    name: str
    allowed: tuple[str, ...]  # path prefixes (or exact files) a wheel may contain
    requires: frozenset[str]  # distribution names it depends on
    pinned: frozenset[str]  # the subset pinned with `==` to our own version


_OURS = ("inferencesh-core", "inferencesh-agents", "inferencesh-apps", "inferencesh-platform")

# The 0.36 module paths at `inferencesh/` top level: thin re-exports that core ships, since only
# core may put files there (docs/migration.md, "0.36 import paths").
COMPAT_036 = (
    "inferencesh/agent.py",
    "inferencesh/api/__init__.py",
    "inferencesh/api/agents.py",
    "inferencesh/api/files.py",
    "inferencesh/api/sessions.py",
    "inferencesh/api/sockets.py",
    "inferencesh/api/tasks.py",
    "inferencesh/client.py",
    "inferencesh/decorators.py",
    "inferencesh/delta.py",
    "inferencesh/live.py",
    "inferencesh/llm_types_gen.py",
    "inferencesh/output_meta_gen.py",
    "inferencesh/ref.py",
    "inferencesh/streamable.py",
    "inferencesh/tools.py",
    "inferencesh/types.py",
    "inferencesh/utils/__init__.py",
    "inferencesh/utils/download.py",
    "inferencesh/utils/storage.py",
)

DISTS = [
    Dist(
        "inferencesh-core",
        (
            "inferencesh/__init__.py",
            "inferencesh/__main__.py",
            "inferencesh/py.typed",
            "inferencesh/core/",
            *COMPAT_036,
        ),
        frozenset({"httpx", "msgspec", "sniffio"}),
        frozenset(),
    ),
    Dist(
        "inferencesh-agents",
        ("inferencesh/agents/",),
        frozenset({"inferencesh-core"}),
        frozenset({"inferencesh-core"}),
    ),
    Dist(
        "inferencesh-apps",
        (
            "inferencesh/apps/",
            "inferencesh/models/",
            "inferencesh/openai/",
            "inferencesh/upstream/",
            "inferencesh/images/",
        ),
        frozenset(
            {
                "inferencesh-core",
                "pydantic",
                "starlette",
                "uvicorn",
                "httptools",
                "pyyaml",
                "websockets",
            }
        ),
        frozenset({"inferencesh-core"}),
    ),
    Dist(
        "inferencesh-platform",
        ("inferencesh/platform/",),
        frozenset(
            {
                "inferencesh-core",
                "inferencesh-agents",
                "inferencesh-apps",
                "starlette",
                "uvicorn",
                "httptools",
                "websockets",
                "pyyaml",
                "mcp",
            }
        ),
        frozenset({"inferencesh-core", "inferencesh-agents", "inferencesh-apps"}),
    ),
    Dist(
        "inferencesh",
        (),
        frozenset(_OURS),
        frozenset(_OURS),
    ),
]


def project_version() -> str:
    text = (ROOT / "packages/inferencesh-core/src/inferencesh/core/_version.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', text)
    assert match, "core _version.py has no __version__"
    return match.group(1)


def _build(dist: Dist, kind: str, source: Path, out: Path) -> None:
    """Run ``python -m build --<kind>``; a failure names the distribution (errors are on stderr)."""
    cmd = [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out)]
    proc = subprocess.run([*cmd, str(source)], stdout=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"{dist.name}: building the {kind} from {source} failed (exit {proc.returncode})"
        )


def build(dist: Dist, out: Path) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from the unpacked sdist; return (sdist, wheel)."""
    _build(dist, "sdist", ROOT / "packages" / dist.name, out)
    normalized = dist.name.replace("-", "_")
    sdist = max(out.glob(f"{normalized}-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(sdist) as tar:
            if sys.version_info >= (3, 12):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)  # our own freshly built sdist
        (unpacked,) = Path(tmp).iterdir()
        _build(dist, "wheel", unpacked, out)
    wheel = max(out.glob(f"{normalized}-*.whl"), key=lambda p: p.stat().st_mtime)
    return sdist, wheel


def check_wheel(dist: Dist, wheel: Path, version: str) -> list[str]:
    """Return every problem found in one wheel (empty when it is right)."""
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(
            (n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")), None
        )
        if dist_info is None:
            return [f"{wheel.name}: no .dist-info"]
        for name in names:
            if name.startswith(dist_info + "/"):
                continue
            if not any(name == a or (a.endswith("/") and name.startswith(a)) for a in dist.allowed):
                problems.append(f"{wheel.name}: unexpected file {name}")
            elif STRAY.search(name):
                problems.append(f"{wheel.name}: stray file {name}")
        for a in dist.allowed:
            if not any(n == a or (a.endswith("/") and n.startswith(a)) for n in names):
                problems.append(f"{wheel.name}: missing {a}")
            if a.endswith("/") and a + "py.typed" not in names and a != "inferencesh/":
                problems.append(f"{wheel.name}: {a} has no py.typed")
        meta = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
    if meta["Name"] != dist.name:
        problems.append(f"{wheel.name}: Name {meta['Name']!r} != {dist.name!r}")
    if meta["Version"] != version:
        problems.append(f"{wheel.name}: version {meta['Version']} != {version}")
    if meta["Requires-Python"] != REQUIRES_PYTHON:
        problems.append(
            f"{wheel.name}: Requires-Python {meta['Requires-Python']!r} != {REQUIRES_PYTHON!r}"
        )
    requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names_found = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requires}
    if names_found != dist.requires:
        problems.append(
            f"{wheel.name}: Requires-Dist {sorted(names_found)} != {sorted(dist.requires)}"
        )
    for pinned in dist.pinned:
        if f"{pinned}=={version}" not in [r.replace(" ", "") for r in requires]:
            problems.append(f"{wheel.name}: {pinned} is not pinned =={version}: {requires}")
    return problems


def check_sdist(dist: Dist, sdist: Path) -> list[str]:
    """Return every problem found in one sdist: only its sources and build files, no strays."""
    problems: list[str] = []
    with tarfile.open(sdist) as tar:
        members = [m.name for m in tar.getmembers() if m.isfile()]
    top = f"{dist.name.replace('-', '_')}-{project_version()}/"
    expected = {"PKG-INFO", "pyproject.toml", "README.md"}
    sources = tuple(f"src/{a}" for a in dist.allowed)
    for member in members:
        rel = member[len(top) :] if member.startswith(top) else member
        if not member.startswith(top):
            problems.append(f"{sdist.name}: {member} is outside {top}")
        elif rel == ".gitignore" or rel in expected:
            continue  # hatchling copies the repository's .gitignore in; it is harmless
        elif not any(rel == s or (s.endswith("/") and rel.startswith(s)) for s in sources):
            problems.append(f"{sdist.name}: unexpected file {rel}")
        elif STRAY.search(rel):
            problems.append(f"{sdist.name}: stray file {rel}")
    for name in sorted(expected):
        if top + name not in members:
            problems.append(f"{sdist.name}: missing {name}")
    return problems


def build_and_check(out: Path) -> dict[str, Path]:
    """Build all distributions into ``out``; raise ``SystemExit`` listing every problem."""
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.whl"), *out.glob("*.tar.gz")]:
        old.unlink()
    version = project_version()
    wheels: dict[str, Path] = {}
    problems: list[str] = []
    for dist in DISTS:
        sdist, wheel = build(dist, out)
        wheels[dist.name] = wheel
        problems += check_sdist(dist, sdist)
        problems += check_wheel(dist, wheel, version)
    if problems:
        raise SystemExit("artifact check failed:\n  " + "\n  ".join(problems))
    return wheels


def main(argv: list[str]) -> int:
    if argv and (len(argv) != 2 or argv[0] != "--out" or not argv[1]):
        raise SystemExit("usage: check_dists.py [--out DIR]")
    out = Path(argv[1]) if argv else ROOT / "build" / "dist"
    wheels = build_and_check(out)
    for name, wheel in wheels.items():
        print(f"ok  {name:20} {wheel.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

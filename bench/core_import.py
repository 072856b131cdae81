"""Benchmark (1): the cost of importing the SDK, against importing httpx + msgspec alone.

Each measurement is a fresh interpreter (warm .pyc), timing only the import statement; the
statements run round-robin and the median of RUNS runs is reported. Target: ``from inferencesh import inference`` (which loads
the whole client) within 1.2x of the httpx+msgspec floor; the published client takes ~3.4x.

    .venv/bin/python bench/core_import.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core_common import median, published_python, run_python

RUNS = 21
FLOOR = "import httpx, msgspec"
TIMER = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def measure_all(python: Path | str, stmts: list[str]) -> dict[str, float]:
    """Median import times, the statements run round-robin so load drifts hit all alike."""
    for stmt in stmts:
        run_python(python, stmt)  # warm the .pyc cache
    times: dict[str, list[float]] = {stmt: [] for stmt in stmts}
    for _ in range(RUNS):
        for stmt in stmts:
            times[stmt].append(float(run_python(python, TIMER.format(stmt=stmt))))
    return {stmt: median(values) for stmt, values in times.items()}


OURS = [
    FLOOR,
    "import inferencesh",
    "import inferencesh.core",
    "from inferencesh.core.types import Task",
    "from inferencesh import inference",
    "from inferencesh import inference, AsyncInference",
]


def main() -> None:
    ours = measure_all(sys.executable, OURS)
    floor = ours[FLOOR]
    rows = [(stmt if stmt != FLOOR else f"{FLOOR} (floor)", t) for stmt, t in ours.items()]
    published = published_python()
    if published is not None:
        theirs = measure_all(published, ["import requests, pydantic", "import inferencesh"])
        rows.append(("published 0.36.0: import inferencesh", theirs["import inferencesh"]))
        rows.append(
            ("published venv: import requests, pydantic", theirs["import requests, pydantic"])
        )
    print(
        f"{'import (median of ' + str(RUNS) + ' fresh interpreters)':<52}{'ms':>9}{'x floor':>10}"
    )
    for name, seconds in rows:
        print(f"{name:<52}{seconds * 1000:>9.1f}{seconds / floor:>10.2f}")
    full = ours["from inferencesh import inference"]
    print(f"\nfull client import / floor = {full / floor:.2f}x (target <= 1.20x)")


if __name__ == "__main__":
    main()

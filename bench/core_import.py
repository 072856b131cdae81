"""Benchmark (1): the cost of importing the SDK, against importing httpx + msgspec alone.

Each measurement is a fresh interpreter (warm .pyc), timing only the import statement; the
median of RUNS runs is reported. Target: ``from inferencesh import inference`` (which loads
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


def measure(python: Path | str, stmt: str) -> float:
    """The median import time over RUNS fresh interpreters (after one warm-up run)."""
    run_python(python, stmt)  # warm the .pyc cache
    return median([float(run_python(python, TIMER.format(stmt=stmt))) for _ in range(RUNS)])


def measure_pair(python: Path | str, stmt: str, floor_stmt: str) -> tuple[float, float]:
    """Median times of ``stmt`` and the floor, measured interleaved so load drifts cancel."""
    run_python(python, stmt)
    run_python(python, floor_stmt)
    ours: list[float] = []
    floor: list[float] = []
    for _ in range(RUNS):
        ours.append(float(run_python(python, TIMER.format(stmt=stmt))))
        floor.append(float(run_python(python, TIMER.format(stmt=floor_stmt))))
    return median(ours), median(floor)


def main() -> None:
    ours = sys.executable
    floor = measure(ours, FLOOR)
    rows = [
        ("import httpx, msgspec (floor)", floor),
        ("import inferencesh", measure(ours, "import inferencesh")),
        ("import inferencesh.core", measure(ours, "import inferencesh.core")),
        (
            "from inferencesh.core.types import Task",
            measure(ours, "from inferencesh.core.types import Task"),
        ),
        ("from inferencesh import inference", measure(ours, "from inferencesh import inference")),
        (
            "from inferencesh import inference, AsyncInference",
            measure(ours, "from inferencesh import inference, AsyncInference"),
        ),
    ]
    published = published_python()
    if published is not None:
        pub_floor = measure(published, "import requests, pydantic")
        rows.append(("published: import inferencesh", measure(published, "import inferencesh")))
        rows.append(("published venv floor: requests+pydantic", pub_floor))
    print(f"{'import':<52}{'ms':>9}{'x floor':>10}")
    for name, seconds in rows:
        print(f"{name:<52}{seconds * 1000:>9.1f}{seconds / floor:>10.2f}")
    full, paired_floor = measure_pair(ours, "from inferencesh import inference", FLOOR)
    print(
        f"\ninterleaved: full client {full * 1000:.1f} ms / floor {paired_floor * 1000:.1f} ms"
        f" = {full / paired_floor:.2f}x (target <= 1.20x)"
    )


if __name__ == "__main__":
    main()

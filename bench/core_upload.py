"""Benchmark (3): peak memory while uploading a 512 MiB file, ours versus the published client.

A loopback starlette/uvicorn server (a subprocess) answers ``POST /files`` and drains the
presigned ``PUT``. Each upload runs in a fresh interpreter that reports its peak RSS
(``ru_maxrss``) before and after the upload, after a small warm-up upload. Target: ours under
64 MiB above the baseline (the file is streamed from disk in 1 MiB chunks).

    .venv/bin/python bench/core_upload.py [size_mib]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core_common import loopback_server, published_python, run_python

MEASURE = r"""
import resource, sys, time
path, url, small = sys.argv[1], sys.argv[2], sys.argv[3]
{setup}
{upload}(small)  # warm-up: every code path imported, pools created
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
{upload}(path)
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base / 1024, peak / 1024, elapsed)
"""

OURS_SYNC = """
from inferencesh import inference
client = inference(api_key="inf_bench", base_url=url)
upload = client.upload_file
"""

OURS_ASYNC = """
import asyncio
from inferencesh import async_inference
async def _upload(p):
    async with async_inference(api_key="inf_bench", base_url=url) as client:
        await client.upload_file(p)
def upload(p):
    asyncio.run(_upload(p))
"""

PUBLISHED = """
from inferencesh import Inference
client = Inference(api_key="inf_bench", base_url=url)
upload = client.upload_file
"""


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    with tempfile.TemporaryDirectory(prefix="core-bench-") as tmp:
        big = Path(tmp) / "big.bin"
        with open(big, "wb") as f:
            f.truncate(size_mib << 20)  # sparse: no disk space, reads give zeros
        small = Path(tmp) / "small.bin"
        small.write_bytes(b"x" * 1024)
        rows = []
        with loopback_server() as url:
            for name, setup, python in [
                ("ours (sync)", OURS_SYNC, sys.executable),
                ("ours (async)", OURS_ASYNC, sys.executable),
                ("published 0.36.0", PUBLISHED, published_python()),
            ]:
                if python is None:
                    continue
                code = MEASURE.format(setup=setup, upload="upload")
                base, peak, elapsed = map(
                    float, run_python(python, code, str(big), url, str(small)).split()
                )
                rows.append((name, base, peak, elapsed))
    print(f"upload of a {size_mib} MiB file over loopback")
    print(f"{'client':<20}{'base MiB':>10}{'peak MiB':>10}{'growth MiB':>12}{'s':>8}")
    for name, base, peak, elapsed in rows:
        print(f"{name:<20}{base:>10.1f}{peak:>10.1f}{peak - base:>12.1f}{elapsed:>8.2f}")
    ours = rows[0][2] - rows[0][1]
    print(f"\nours grows {ours:.1f} MiB (target < 64 MiB above the baseline)")
    if len(rows) == 3:
        print(f"published grows {rows[2][2] - rows[2][1]:.1f} MiB")


if __name__ == "__main__":
    main()

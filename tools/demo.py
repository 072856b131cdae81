"""The main job: the local platform serving an example app, driven by the client end to end.

Run it with ``python3 tools/run.py demo``. It starts ``inferencesh dev`` on 127.0.0.1 with a fresh
data directory, then, through the same client code that talks to the cloud, runs the example app
``examples/apps/hello`` three ways: wait for the result, stream progress, and fire and forget.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from inferencesh import inference
from inferencesh.platform.launcher import LocalPlatform

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "examples" / "apps" / "hello"


def main() -> int:
    print(f"starting the local platform on {APP_DIR.relative_to(ROOT)} ...")
    with (
        tempfile.TemporaryDirectory(prefix="inferencesh-demo-") as data_dir,
        LocalPlatform([APP_DIR], data_dir=data_dir) as platform,
        inference(api_key=platform.api_key, base_url=platform.base_url) as client,
    ):
        print(f"serving local/hello at {platform.base_url}")

        print("\n1. run and wait")
        result = client.run({"app": "local/hello", "input": {"prompt": "A sunset over mountains"}})
        print(f"   status: {result['status']}")
        print(f"   output: {result['output']}")

        print("\n2. stream progress")
        for update in client.run(
            {"app": "local/hello", "input": {"prompt": "Ocean waves", "count": 2}}, stream=True
        ):
            print(f"   status: {update['status']}")
            if update.get("logs"):
                print(f"   log:    {str(update['logs'][-1]).strip()}")

        print("\n3. fire and forget, then check")
        task = client.run({"app": "local/hello", "input": {"prompt": "Later"}}, wait=False)
        print(f"   task id: {task['id']}")
        done = client.wait_for_completion(task["id"], timeout=60)
        print(f"   finished: {done['status']} {done['output']}")
    print("\ndemo finished: the same code runs against the cloud with your key and base_url.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

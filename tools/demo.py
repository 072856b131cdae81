"""The main job: the local platform serving an example app, driven by the client end to end.

Run it with ``python3 tools/run.py demo``. It starts ``inferencesh dev`` on 127.0.0.1 with a fresh
data directory, then, through the same client code that talks to the cloud, runs the example app
``examples/apps/hello`` three ways: wait for the result, stream progress, and fire and forget.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inferencesh import APIConnectionError, inference

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "examples" / "apps" / "hello"


def start_platform(data_dir: str, api_key: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``inferencesh dev`` on a free port and return the process and its base URL."""
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "inferencesh", "dev", str(APP_DIR), "--port", "0"),
            *("--data-dir", data_dir, "--api-key", api_key),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    for line in server.stdout:
        print(f"  | {line.rstrip()}".replace(api_key, "inf_***"))
        match = re.match(r"inferencesh dev: (http://\S+)", line)
        if match:
            return server, match.group(1)
        if time.monotonic() > deadline:
            break
    server.kill()
    raise SystemExit("the local platform did not start; see its output above")


def main() -> int:
    api_key = "inf_demo_" + secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="inferencesh-demo-") as data_dir:
        print(f"starting the local platform on {APP_DIR.relative_to(ROOT)} ...")
        server, base_url = start_platform(data_dir, api_key)
        try:
            client = inference(api_key=api_key, base_url=base_url)
            for _ in range(100):  # the banner prints before the socket accepts
                try:
                    client.sessions.list()
                    break
                except APIConnectionError:
                    time.sleep(0.1)

            print("\n1. run and wait")
            result = client.run(
                {"app": "local/hello", "input": {"prompt": "A sunset over mountains"}}
            )
            print(f"   status: {result['status']}")
            print(f"   output: {result['output']}")

            print("\n2. stream progress")
            for update in client.run(
                {"app": "local/hello", "input": {"prompt": "Ocean waves", "count": 2}},
                stream=True,
            ):
                print(f"   status: {update['status']}")
                if update.get("logs"):
                    print(f"   log:    {str(update['logs'][-1]).strip()}")

            print("\n3. fire and forget, then check")
            task = client.run({"app": "local/hello", "input": {"prompt": "Later"}}, wait=False)
            print(f"   task id: {task['id']}")
            done = client.wait_for_completion(task["id"], timeout=60)
            print(f"   finished: {done['status']} {done['output']}")
            client.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    print("\ndemo finished: the same code runs against the cloud with your key and base_url.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

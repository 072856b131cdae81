"""Start ``inferencesh dev`` in a subprocess and wait until it serves (tests, scripts, benchmarks).

with LocalPlatform(["examples/apps"], data_dir=tmp) as platform:
    client = inference(api_key=platform.api_key, base_url=platform.base_url)
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["LocalPlatform", "free_port"]

_URL_RE = re.compile(r"^inferencesh dev: (http://\S+)$", re.M)
_KEY_RE = re.compile(r"^  api key: (\S+)$", re.M)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPlatform:
    """A local platform server process over ``app_dirs`` (a context manager).

    ``args`` are extra ``inferencesh dev`` options (for example ``["--concurrency", "4"]``).
    The server's output goes to ``<data_dir>/server.log``.
    """

    def __init__(
        self,
        app_dirs: list[str | Path],
        *,
        data_dir: str | Path,
        port: int = 0,
        api_key: str | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.app_dirs = [str(d) for d in app_dirs]
        self.data_dir = Path(data_dir)
        self.port = port
        self.api_key = api_key or ""
        self.base_url = ""
        self._args = list(args or [])
        self._env = env
        self._start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.data_dir / "server.log"

    def start(self) -> LocalPlatform:
        """Start the server and wait until it answers ``/health``."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)
        cmd = [sys.executable, "-m", "inferencesh", "dev", *self.app_dirs]
        cmd += ["--port", str(self.port), "--data-dir", str(self.data_dir), *self._args]
        # If this process dies without stopping it (a killed test run), the server goes too.
        cmd += ["--parent-pid", str(os.getpid())]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        env = {**os.environ, **(self._env or {})}
        # The log holds the API key (the server prints it): its owner's alone.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "ab") as log:
            offset = log.tell()  # read only this run's output (the log is appended to)
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", errors="replace")
            url, key = _URL_RE.search(text), _KEY_RE.search(text)
            if url and key:
                self.base_url, self.api_key = url.group(1), key.group(1)
                self.port = int(self.base_url.rsplit(":", 1)[1])
                if self._healthy():
                    return self
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"inferencesh dev exited with code {self.process.returncode}:\n{text}"
                )
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"inferencesh dev did not start within {self._start_timeout:.0f}s")

    def _healthy(self) -> bool:
        try:
            response = httpx.get(
                f"{self.base_url}/health",
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=2.0,
                trust_env=False,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def stop(self, *, kill: bool = False, timeout: float = 20.0) -> None:
        """Stop the server: SIGINT (a clean shutdown) or SIGKILL when ``kill``."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        # Workers get SIGTERM when the server dies (see workers.py), even after a SIGKILL.

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

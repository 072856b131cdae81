"""Worker subprocesses driven through the worker HTTP contract (C3).

A :class:`Worker` is one ``python -m inferencesh.apps.worker`` process serving one app directory
on a loopback port. The platform talks to it over HTTP only, so a crash, a hang or a misbehaving
app can fail its task but never the server: the worker is killed and a new one is started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
from inferencesh.platform import sandbox
from inferencesh.platform.config import AppEntry, PlatformConfig
from inferencesh.platform.ids import new_id
from inferencesh.platform.worker_channel import OnEvent, RunChannel

__all__ = ["Worker", "WorkerError", "WorkerLost", "remove_leftovers"]

_LOG_TAIL_BYTES = 4000


class WorkerError(RuntimeError):
    """A worker could not be started or answered outside the contract."""


class WorkerLost(WorkerError):
    """The worker died or stopped answering while it held a task."""


# Failures of an exchange with a worker that leave its state unknown: the connection failed
# (refused, reset, cut mid-stream, timed out) or the answer was outside the contract.
_CONTACT_ERRORS = (httpx.HTTPError, ValueError)
# Failures of a request that got no answer on its connection: worth one more try on another.
_STALE_CONNECTION = (
    httpx.ConnectError,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class Worker:
    """One worker process and an HTTP client to it."""

    def __init__(
        self,
        app: AppEntry,
        process: asyncio.subprocess.Process,
        port: int,
        log_path: Path,
        worker_id: str,
    ) -> None:
        self.id = worker_id
        self.app = app
        self.process = process
        self.port = port
        self.log_path = log_path
        self.setup_key: str | None = None
        self.home: Path | None = None
        """The worker's own dir (its ``TMPDIR``), removed when it stops."""
        self.broken = False
        self._cut_off: str | None = None  # why contact was lost while the process still ran
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=httpx.Timeout(30.0, read=None),
            trust_env=False,  # loopback: never through a proxy from the environment
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )
        # Runs go on a lean channel of their own (the most frequent exchange by far).
        self._runs = RunChannel(port)

    def __repr__(self) -> str:
        return f"<Worker {self.id} app={self.app.name} pid={self.process.pid} port={self.port}>"

    @classmethod
    async def start(cls, app: AppEntry, config: PlatformConfig) -> Worker:
        """Start a worker for ``app`` and wait until it announces readiness."""
        worker_id = new_id("wrk_")
        run_dir = _run_dir(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        log_path = run_dir / f"{worker_id}.log"
        # Its own home (TMPDIR, the ready file): nothing in its arguments or environment names
        # the data directory (sandbox.py).
        identity = sandbox.resolve_identity(config.worker_user)
        if identity is not None:
            problem = sandbox.unreadable_for(identity, app.directory)
            if problem is not None:
                raise WorkerError(problem)
        home = sandbox.make_home(worker_id, identity)
        ready = home / ".ready"
        cmd = [
            *config.worker_command,
            "--app-dir",
            str(app.directory),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ]
        env = sandbox.worker_env(os.environ, str(home), worker_id, identity)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=str(app.directory),
                env=env,
                start_new_session=True,  # our Ctrl-C goes to the server, which shuts workers down
                preexec_fn=sandbox.worker_preexec(identity),
            )
        sandbox.record_worker(run_dir, worker_id, process.pid, home)
        deadline = time.monotonic() + config.worker_start_timeout
        try:
            while True:
                if ready.is_file():
                    try:
                        port = int(json.loads(ready.read_text(encoding="utf-8"))["port"])
                        break
                    except (ValueError, KeyError, TypeError):
                        pass  # written atomically by contract; tolerate a partial read anyway
                if process.returncode is not None:
                    raise WorkerError(
                        f"worker for {app.ref} exited with code {process.returncode} before it was ready:\n"
                        + _tail(log_path)
                    )
                if time.monotonic() > deadline:
                    raise WorkerError(
                        f"worker for {app.ref} was not ready after {config.worker_start_timeout:.0f}s:\n"
                        + _tail(log_path)
                    )
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), 0.02)
        except BaseException:
            _kill(process)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 5)
            log_path.unlink(missing_ok=True)  # its tail is in the error already
            sandbox.remove_home(home)
            sandbox.forget_worker(run_dir, worker_id)
            raise
        finally:
            ready.unlink(missing_ok=True)
        worker = cls(app, process, port, log_path, worker_id)
        worker.home = home
        return worker

    @property
    def alive(self) -> bool:
        """Whether the process is still running and not known broken."""
        return self.process.returncode is None and not self.broken

    async def lost_contact(self, exc: BaseException) -> None:
        """The one place that decides a worker's state is unknown, after ``exc`` ended an
        exchange with it (see ``_CONTACT_ERRORS``, or a ``409 busy`` the platform did not expect).

        A process that is exiting on its own is given a moment, so its exit status stays the
        reason; one still running is killed: whatever it is doing, it is never handed out again,
        and its pool or session replaces it. Every failed request below goes through here.
        """
        if self.broken:
            return  # already given up on (killed or stopping)
        try:
            if not isinstance(exc, httpx.TimeoutException):  # timed out: hung, not exiting
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 1.0)
        finally:  # even when the caller is cancelled meanwhile
            if self.process.returncode is None and not self.broken:
                self._cut_off = (
                    f"the worker connection failed ({type(exc).__name__}: {exc}) while its "
                    "process was running; its state is unknown, so it was killed"
                )
            self.kill()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A short request, sent again once when the connection failed before any answer: a
        kept-alive connection the worker closed at that very moment is not a lost worker."""
        try:
            return await self.http.request(method, path, **kwargs)
        except _STALE_CONNECTION:
            return await self.http.request(method, path, **kwargs)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        timeout: float,
        json: Any = None,
        object_reply: bool = False,
    ) -> Any:
        """A short request's JSON answer (an object, with ``object_reply``); any failure gives
        the worker up (:meth:`lost_contact`) and is raised."""
        try:
            response = await self._request(method, path, json=json, timeout=timeout)
            response.raise_for_status()
            answer = response.json()
            if object_reply and not isinstance(answer, dict):
                raise ValueError(f"{path} answered {type(answer).__name__}, not an object")
        except _CONTACT_ERRORS as exc:
            await self.lost_contact(exc)
            raise
        return answer

    async def health(self, timeout: float) -> dict[str, Any]:
        """``GET /health`` within ``timeout`` seconds; a failure gives the worker up."""
        data: dict[str, Any] = await self._call(
            "GET", "/health", timeout=timeout, object_reply=True
        )
        return data

    async def schema(self, timeout: float = 30.0) -> dict[str, Any]:
        """``GET /schema``: the app's input/output/setup schemas and its functions'. When the
        app's models give no schema, a :class:`WorkerError` carries the worker's reason (the
        worker stays usable); any other failure gives the worker up."""
        try:
            response = await self._request("GET", "/schema", timeout=timeout)
            answer = response.json()
            if response.status_code == 500 and isinstance(answer, dict):
                reason = answer.get("error")
                if isinstance(reason, str):
                    raise WorkerError(reason)
            response.raise_for_status()
            if not isinstance(answer, dict):
                raise ValueError(f"/schema answered {type(answer).__name__}, not an object")
        except _CONTACT_ERRORS as exc:
            await self.lost_contact(exc)
            raise
        return answer

    async def run(self, body: dict[str, Any], on_event: OnEvent) -> None:
        """``POST /run``, handing each NDJSON event to ``on_event`` as it arrives; raises
        :class:`WorkerLost` when the connection fails (the worker is then given up:
        :meth:`lost_contact`), :class:`WorkerError` when the worker refuses the run."""
        try:
            status, answer = await self._runs.run(msgspec.json.encode(body), on_event)
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            await self.lost_contact(exc)
            raise WorkerLost(await self.loss_reason(exc)) from exc
        if status == 409:
            # Busy with a run the platform does not know of: its state is unknown.
            busy = WorkerError(f"worker {self.id} is busy with another run")
            await self.lost_contact(busy)
            raise busy
        if status != 200:
            text = answer.decode(errors="replace")[:500]
            raise WorkerError(f"worker {self.id} answered /run with HTTP {status}: {text}")

    async def loss_reason(self, exc: BaseException | None = None) -> str:
        """Why the worker is gone: its exit status and the end of its log."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 2)
        code = self.process.returncode
        if self._cut_off is not None:
            what = self._cut_off
        elif code is None:
            what = (
                f"the worker connection failed ({type(exc).__name__}: {exc})"
                if exc
                else "the worker stopped answering"
            )
        elif code < 0:
            try:
                what = f"the worker process was killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"the worker process was killed by signal {-code}"
        else:
            what = f"the worker process exited with code {code}"
        tail = _tail(self.log_path)
        return what + (f"; last worker output:\n{tail}" if tail else "")

    async def cancel(self, task_id: str) -> bool:
        """Ask the app to stop the run of ``task_id`` (``POST /cancel`` naming it): a cancel that
        arrives late never stops the worker's next run. ``False`` when that run is not in
        flight there (not arrived yet, or over); a failure gives the worker up."""
        answer = await self._call("POST", "/cancel", json={"task_id": task_id}, timeout=5.0)
        return bool(isinstance(answer, dict) and answer.get("cancelled"))

    def kill(self) -> None:
        """Kill the worker's process group at once."""
        self.broken = True
        _kill(self.process)
        self._runs.close()
        self._forget()

    async def stop(self, timeout: float = 5.0) -> None:
        """Shut down gracefully (``POST /shutdown``), then kill after ``timeout`` seconds."""
        self.broken = True
        if self.process.returncode is None:
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post("/shutdown", timeout=min(timeout, 2.0))
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except asyncio.TimeoutError:
                _kill(self.process)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 5)
        self._runs.close()
        await self.http.aclose()
        self.log_path.unlink(missing_ok=True)
        self._forget()

    def _forget(self) -> None:
        """Remove the stopped worker's home and its record (see :mod:`.sandbox`)."""
        sandbox.remove_home(self.home)
        sandbox.forget_worker(self.log_path.parent, self.id)


def _run_dir(config: PlatformConfig) -> Path:
    return config.data_dir / "workers"


def remove_leftovers(config: PlatformConfig) -> int:
    """Delete the ready and log files of workers a previous server left (it was killed, and
    its workers died with it); call before starting any worker. Returns how many."""
    count = 0
    run_dir = _run_dir(config)
    # Workers that outlived their server (its parent-death signal did not reach them).
    sandbox.reap_leftovers(run_dir)
    if run_dir.is_dir():
        for path in run_dir.glob("wrk_*"):
            path.unlink(missing_ok=True)
            count += 1
    return count


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _LOG_TAIL_BYTES))
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return ""

"""The clients: ``Inference`` (sync) and ``AsyncInference`` (async), with the same surface.

Each operation is written once in ``_ops`` as a generator of I/O effects; the two classes
here run it with the sync or the async driver of ``protocol`` over their own transport
(``HTTPClient`` / ``AsyncHTTPClient``) and otherwise only forward arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx

from inferencesh.core import _ops, protocol
from inferencesh.core._follow import RECONNECT_DELAY, TaskFollower
from inferencesh.core._transport import resolve_config
from inferencesh.core.files import UploadFileOptions
from inferencesh.core.http import AsyncHTTPClient, HTTPClient
from inferencesh.core.reconnect import DEFAULT_RECONNECT, Reconnect, reconnect_options
from inferencesh.core.tasks import AsyncTaskStream, OnDelta, TaskStream
from inferencesh.core.types import (
    DeletedTaskFiles,
    SessionInfo,
    Task,
    TaskFile,
    TaskFileRoleArg,
    UploadedFile,
)

if TYPE_CHECKING:
    from inferencesh.agents import Agent, Agents, AsyncAgent, AsyncAgents
    from inferencesh.core.live import AsyncLiveSession
    from inferencesh.core.progress import ProgressCallback, ProgressFactory
    from inferencesh.core.resources import (
        AsyncFiles,
        AsyncSessions,
        AsyncTasks,
        Files,
        Sessions,
        Tasks,
    )
    from inferencesh.core.sessions import AsyncSessionHandle, SessionHandle
    from inferencesh.core.sockets import AsyncSocketsAPI, SocketsAPI

__all__ = ["AsyncInference", "Inference", "async_inference", "inference"]

T = TypeVar("T")

_DEFAULT_MAX_RECONNECTS = 5


def _agent_config(config_or_ref: Any, config: Any) -> Any:
    """The agent's config, given as ``config_or_ref`` or as 0.36's ``config``."""
    if config is None:
        return config_or_ref
    if config_or_ref is not None:
        raise TypeError("agent() got both `config_or_ref` and `config`; pass one")
    return config


def _agents_module() -> Any:
    try:
        import inferencesh.agents as agents
    except ModuleNotFoundError as exc:
        if exc.name and "inferencesh.agents".startswith(exc.name):
            raise ImportError(
                "agents need the `inferencesh-agents` distribution, which is not installed. "
                "Install it with: pip install inferencesh-agents"
            ) from exc
        raise
    return agents


class _ClientBase:
    """Settings and helpers shared by both clients (no I/O)."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float | None,
        connect_timeout: float | None,
        max_retries: int | None,
        stream_idle_timeout: float | None,
        max_reconnects: int,
        api_version: int,
        upload_paths: bool,
    ) -> None:
        self._config = resolve_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            stream_idle_timeout=stream_idle_timeout,
            api_version=api_version,
        )
        if max_reconnects < 0:
            raise ValueError(f"max_reconnects must be 0 or more, got {max_reconnects}")
        self.max_reconnects = max_reconnects
        self.upload_paths = upload_paths

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._config.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    def _paths(self, upload_paths: bool | None) -> bool:
        return self.upload_paths if upload_paths is None else upload_paths

    def _follower(
        self, task: Task | None, timeout: float | None, reconnect: Reconnect
    ) -> TaskFollower:
        """The follower of ``task`` (``None``: a task created by the follower's first request)."""
        return TaskFollower(
            "" if task is None else task.id,
            task if task is not None and task.status else None,
            idle_timeout=self._config.stream_idle_timeout,
            max_reconnects=reconnect.attempts(self.max_reconnects),
            reconnect_delay=reconnect.first_delay(RECONNECT_DELAY),
            timeout=timeout,
            creating=task is None,
            reconnect=reconnect.enabled,
        )

    def _creating(
        self,
        params: Any,
        upload_paths: bool,
        upload_progress: ProgressFactory | None,
        reconnect: Reconnect,
    ) -> tuple[TaskFollower, protocol.Op[Task]]:
        """The op that creates a task and follows it to its end in one request (the run's reply
        is the task's stream), and its follower."""
        follower = self._follower(None, None, reconnect)
        retries = self._config.max_retries
        return follower, _ops.run(params, upload_paths, follower, retries, upload_progress)

    def _waiting(self, params: Any, timeout: float | None) -> protocol.Op[Task]:
        """The op of a run that waits for its task (``timeout``: see ``_streams_run``)."""
        if self._streams_run(timeout):
            return self._creating(params, self.upload_paths, None, DEFAULT_RECONNECT)[1]
        return _ops.create_and_follow(
            params,
            self.upload_paths,
            lambda task: self._follower(task, timeout, DEFAULT_RECONNECT),
        )

    @staticmethod
    def _streams_run(timeout: float | None) -> bool:
        """Whether a run that waits is one request whose reply is the task's stream: not with a
        ``timeout``, whose deadline counts from the task's creation and bounds each read of the
        stream (so the task is created first, then its stream is opened)."""
        return timeout is None


class Inference(_ClientBase):
    """The sync client of the inference.sh API.

    Args:
        api_key: the API key (default: the ``INFERENCE_API_KEY`` environment variable).
        base_url: the API URL (default: ``INFERENCE_BASE_URL``, else the cloud API).
        timeout: seconds for one request (read, write and pool; default 60).
        connect_timeout: seconds to connect (default 10).
        max_retries: retries of a failed request (connection errors, 408, 409, 429, 5xx;
            default 2).
        stream_idle_timeout: seconds without a byte (heartbeats count) before a stream is
            treated as dropped and reopened (default 60).
        max_reconnects: consecutive failed stream reconnects before giving up (default 5).
        api_version: 2 (bare bodies, RFC 9457 errors; default) or 1 (``{success, data}``).
            Replies of either shape are understood.
        upload_paths: upload input strings that are paths of existing files (default True).
        http_client: an ``httpx.Client`` to use (its proxies, certificates, limits); it is not
            closed by ``close()``.
        on_message: accepted for code written for the published SDK 0.36, where it received
            the server notices (``messages``) of its V3 reply envelope. Neither the local
            platform nor the v1/v2 replies this client reads carry such notices, so it is
            stored as ``client.on_message`` and never called.
        sse_chunk_size, sse_mode: accepted and ignored (0.36 stored them and never read them;
            streams here are NDJSON or SSE as the server answers).

    The client pools connections; use it as a context manager or call ``close()``.

    Example:
        >>> from inferencesh import Inference
        >>> with Inference() as client:  # the key and URL from the environment
        ...     result = client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A cat"}})
        >>> print(result["status"])
        completed
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        stream_idle_timeout: float | None = None,
        max_reconnects: int = _DEFAULT_MAX_RECONNECTS,
        api_version: int = 2,
        upload_paths: bool = True,
        http_client: httpx.Client | None = None,
        on_message: Callable[[list[Any]], Any] | None = None,
        sse_chunk_size: int | None = None,
        sse_mode: str | None = None,
    ) -> None:
        # 0.36's sse_chunk_size/sse_mode were stored and never read: accepted, ignored.
        del sse_chunk_size, sse_mode
        self.on_message = on_message
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            stream_idle_timeout=stream_idle_timeout,
            max_reconnects=max_reconnects,
            api_version=api_version,
            upload_paths=upload_paths,
        )
        self.http = HTTPClient(self._config, http_client)
        """The low-level transport: ``request(...)`` and ``stream(...)`` on any endpoint."""

    # The namespaces and session handles load their modules on first use, not with the client:
    # most programs only run tasks (import time).
    @cached_property
    def tasks(self) -> Tasks:
        """The task methods under shorter names: ``client.tasks.get(id)``, ..."""
        from inferencesh.core.resources import Tasks

        return Tasks(self)

    @cached_property
    def files(self) -> Files:
        """The file methods under shorter names: ``client.files.upload(...)``."""
        from inferencesh.core.resources import Files

        return Files(self)

    @cached_property
    def sessions(self) -> Sessions:
        """The session methods under shorter names: ``client.sessions.get(id)``, ..."""
        from inferencesh.core.resources import Sessions

        return Sessions(self)

    @cached_property
    def sockets(self) -> SocketsAPI:
        """The sockets of stream tasks (``open`` needs the async client)."""
        from inferencesh.core.sockets import SocketsAPI

        return SocketsAPI(self)

    def _drive(self, op: protocol.Op[T]) -> T:
        return protocol.run(self, op)

    # -- tasks ------------------------------------------------------------------------------
    @overload
    def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = ...,
        stream: Literal[False] = ...,
        timeout: float | None = ...,
        upload_paths: bool | None = ...,
        max_reconnects: int | None = ...,
        auto_reconnect: bool = ...,
        reconnect_delay_ms: float | None = ...,
        upload_progress: ProgressFactory | None = ...,
        on_delta: OnDelta | None = ...,
    ) -> Task: ...

    @overload
    def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = ...,
        stream: Literal[True],
        timeout: float | None = ...,
        upload_paths: bool | None = ...,
        max_reconnects: int | None = ...,
        auto_reconnect: bool = ...,
        reconnect_delay_ms: float | None = ...,
        upload_progress: ProgressFactory | None = ...,
        on_delta: OnDelta | None = ...,
    ) -> TaskStream: ...

    def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = True,
        stream: bool = False,
        timeout: float | None = None,
        upload_paths: bool | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        upload_progress: ProgressFactory | None = None,
        on_delta: OnDelta | None = None,
    ) -> Task | TaskStream:
        """Run an app.

        ``params`` holds ``app`` (``namespace/name@version[:function]``), ``input``, and
        optionally ``setup``, ``function``, ``infra``, ``session`` (``"new"`` or a session
        id), ``session_timeout`` (1-3600 s, with ``session="new"``), ``webhook`` and any other
        field of the API's run request (``inferencesh.core.requests.RunRequest``); a param it
        does not have, or one breaking its rules, raises ``RequestError`` before any request.
        Files in ``input`` are uploaded first (see ``inferencesh.core.files``).

        Returns the completed task (``wait=True``, the default; raises ``TaskFailedError`` /
        ``TaskCancelledError``), the created task at once (``wait=False``), or a
        ``TaskStream`` of every update (``stream=True``). ``timeout`` bounds the wait.

        ``max_reconnects`` overrides the client's limit on failed stream reconnects for this
        call. The 0.36 arguments ``auto_reconnect`` (``False``: a dropped stream raises, it is
        not reopened) and ``reconnect_delay_ms`` (the first pause before reopening, which
        later pauses double up to 5 s) are accepted too; see ``inferencesh.core.reconnect``.
        The same three are taken by ``wait_for_completion`` and ``stream_task``.

        ``upload_progress`` (opt-in) is called with each uploaded file's name and returns its
        progress callback, e.g. ``lambda name: ProgressBar(name)``; see
        ``inferencesh.core.progress``.

        ``on_delta`` is called with each ``TaskDelta`` (a token increment of an app that
        streams deltas, see ``inferencesh.core.deltas``) while the call waits or streams; the
        async client also awaits what it returns.

        Example:
            >>> result = client.run({"app": "local/hello", "input": {"prompt": "A cat"}})
            >>> print(result.status, result["output"]["result"])
            completed modern: A cat
            >>> params = {"app": "local/hello", "input": {"prompt": "A dog"}}
            >>> for update in client.run(params, stream=True):  # every update, merged
            ...     if update.status.is_terminal:
            ...         print(update.status, update.output["result"])
            completed modern: A dog
            >>> deltas = []  # a chat app streams its reply as token deltas
            >>> chat = {"app": "local/scripted-model", "input": {"text": "Hello"}}
            >>> task = client.run(chat, on_delta=deltas.append)
            >>> [d.text for d in deltas], task.output["response"]
            (['You', ' said:', ' Hello'], 'You said: Hello')
        """
        paths = self._paths(upload_paths)
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        if (stream or wait) and self._streams_run(timeout):
            follower, running = self._creating(params, paths, upload_progress, reconnect)
            if not stream and on_delta is None:
                return self._drive(running)  # no updates to hand out: no stream around it
            updates = TaskStream(None, self, follower=follower, on_delta=on_delta, op=running)
            if not stream:
                return updates.wait()
            updates._prime()
            return updates
        task = self._drive(_ops.create_task(params, paths, upload_progress))
        if stream:
            return TaskStream(
                task, self, follower=self._follower(task, timeout, reconnect), on_delta=on_delta
            )
        if not wait:
            return task
        return self._wait(task, timeout, reconnect, on_delta)

    def _wait(
        self,
        task: Task,
        timeout: float | None,
        reconnect: Reconnect,
        on_delta: OnDelta | None = None,
    ) -> Task:
        return TaskStream(
            task, self, follower=self._follower(task, timeout, reconnect), on_delta=on_delta
        ).wait()

    def get_task(self, task_id: str) -> Task:
        """Fetch a task (``GET /tasks/{id}``)."""
        return self._drive(_ops.get_task(task_id))

    def cancel(self, task_id: str, *, force: bool | None = None) -> None:
        """Ask the platform to cancel a task (``force=True`` skips the grace period)."""
        self._drive(_ops.cancel(task_id, force))

    def delete_task(self, task_id: str, *, files: bool = False) -> None:
        """Delete a finished task's record (``DELETE /tasks/{id}``); ``files=True`` also
        deletes the stored files it read and wrote. A running task must be cancelled first
        (``ConflictError``).

        Example:
            >>> task = client.run({"app": "local/hello", "input": {"prompt": "A cat"}})
            >>> client.delete_task(task.id)
            >>> client.get_task(task.id)
            Traceback (most recent call last):
            ...
            inferencesh.core.errors.NotFoundError: ...
        """
        self._drive(_ops.delete_task(task_id, files))

    def task_files(self, task_id: str, *, role: TaskFileRoleArg | None = None) -> list[TaskFile]:
        """The stored files a task read (``role="input"``) and wrote (``"output"``);
        ``GET /tasks/{id}/files``.

        Example:
            >>> task = client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A cat"}})
            >>> [(f.role, f.content_type) for f in client.task_files(task.id, role="output")]
            [('output', 'image/png')]
        """
        return self._drive(_ops.task_files(task_id, role))

    def delete_task_files(
        self, task_id: str, *, role: TaskFileRoleArg | None = None
    ) -> DeletedTaskFiles:
        """Delete the stored files of a finished task and keep its record
        (``DELETE /tasks/{id}/files``); returns the ids deleted and the files skipped.

        Example:
            >>> task = client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A cat"}})
            >>> result = client.delete_task_files(task.id)
            >>> len(result.deleted), result.skipped, client.task_files(task.id)
            (1, [], [])
        """
        return self._drive(_ops.delete_task_files(task_id, role))

    def wait_for_completion(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> Task:
        """Wait for a task to end; returns it when completed, raises when it failed or was
        cancelled, and raises ``APITimeoutError`` after ``timeout`` seconds.

        Example:
            >>> task = client.run({"app": "local/slow", "input": {"seconds": 0.2}}, wait=False)
            >>> done = client.wait_for_completion(task["id"], timeout=60)
            >>> print(done.status, done.id == task.id)
            completed True
        """
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        return self._wait(Task(id=task_id), timeout, reconnect, on_delta)

    def stream_task(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> TaskStream:
        """Follow an existing task: a ``TaskStream`` of its updates.

        Example:
            >>> task = client.run({"app": "local/hello", "input": {"prompt": "A cat"}}, wait=False)
            >>> with client.stream_task(task["id"]) as stream:
            ...     statuses = [update.status for update in stream]
            >>> print(statuses[-1], stream.result.output["result"])
            completed modern: A cat
        """
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        follower = self._follower(Task(id=task_id), timeout, reconnect)
        return TaskStream(task_id, self, follower=follower, on_delta=on_delta)

    # -- files ------------------------------------------------------------------------------
    def upload_file(
        self,
        data: Any,
        options: UploadFileOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> UploadedFile:
        """Upload a file: a path (``str`` or ``Path``), ``bytes``, a ``data:`` URI or a binary
        file object. Streams from disk. Returns the file record; use its ``uri`` in inputs.

        ``progress`` (opt-in) is called with ``(bytes sent, total)``: ``(0, total)`` first,
        ``(total, total)`` last, from 0 again if the upload is retried. A ``ProgressBar`` draws
        it on a terminal. An exception it raises fails the upload.

        Example:
            >>> from inferencesh import UploadFileOptions
            >>> file = client.upload_file("report.txt")
            >>> print(file.filename, file.size)
            report.txt 17
            >>> options = UploadFileOptions(filename="table.csv", content_type="text/csv")
            >>> client.upload_file(b"a,b", options).content_type  # bytes have no name of their own
            'text/csv'
            >>> file = client.upload_file("report.txt", progress=lambda done, total: print(done))
            0
            17
        """
        return self._drive(_ops.upload_file(data, options, progress))

    # -- sessions ---------------------------------------------------------------------------
    def session(
        self,
        app: str,
        *,
        input: Any = None,
        function: str | None = None,
        session_timeout: int | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> SessionHandle:
        """Start a session: run a first call with ``session="new"`` on a leased worker.

        Returns a ``SessionHandle`` (``.result`` is the first call's task) whose ``call``
        runs later calls on the same warm worker; ``end()`` (or leaving a ``with`` block)
        releases it. Extra keyword arguments are run request fields (``setup``, ``infra``).

        Example:
            >>> with client.session("local/counter") as session:  # one worker keeps the value
            ...     print(session.call("increment", {"by": 2}).output)
            ...     print(session.call("increment").output)
            {'value': 2}
            {'value': 3}
        """
        extra = dict(params)
        if session_timeout is not None:
            extra["session_timeout"] = session_timeout
        run_params = _ops.session_params(app, function, input, "new", extra)
        task = self._drive(_ops.start_session(self._waiting(run_params, timeout)))
        assert task.session_id is not None
        from inferencesh.core.sessions import SessionHandle

        return SessionHandle(self, app, task.session_id, task)

    def get_session(self, session_id: str) -> SessionInfo:
        """Fetch a session (``GET /sessions/{id}``)."""
        return self._drive(_ops.get_session(session_id))

    def list_sessions(self) -> list[SessionInfo]:
        """The account's sessions (``GET /sessions``)."""
        return self._drive(_ops.list_sessions())

    def keepalive(self, session_id: str) -> SessionInfo:
        """Reset a session's idle timer."""
        return self._drive(_ops.keepalive(session_id))

    def end_session(self, session_id: str) -> None:
        """End a session and release its worker."""
        self._drive(_ops.end_session(session_id))

    # -- agents -----------------------------------------------------------------------------
    def agent(
        self,
        config_or_ref: Any = None,
        context: Mapping[str, str] | None = None,
        *,
        config: Any = None,
        **kwargs: Any,
    ) -> Agent:
        """An agent chat client (needs ``inferencesh-agents``); ``context`` holds per-chat
        variables, ``config`` is the published SDK 0.36's name for ``config_or_ref``."""
        config_or_ref = _agent_config(config_or_ref, config)
        agent: Agent = _agents_module().Agent(self, config_or_ref, context, **kwargs)
        return agent

    @property
    def agents(self) -> Agents:
        """The agents namespace (needs ``inferencesh-agents``)."""
        agents: Agents = _agents_module().Agents(self)
        return agents

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool (not a pool passed in as ``http_client``)."""
        self.http.close()

    def __enter__(self) -> Inference:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncInference(_ClientBase):
    """The async client of the inference.sh API; the same arguments and methods as
    ``Inference``, awaited. Pass ``http_client=httpx.AsyncClient(...)`` to share a pool.

    Example:
        >>> import asyncio
        >>> from inferencesh import async_inference
        >>> async def main():
        ...     async with async_inference() as client:
        ...         result = await client.run({"app": "local/hello", "input": {"prompt": "A cat"}})
        ...         print(result.status, result.output["result"])
        >>> asyncio.run(main())
        completed modern: A cat
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        stream_idle_timeout: float | None = None,
        max_reconnects: int = _DEFAULT_MAX_RECONNECTS,
        api_version: int = 2,
        upload_paths: bool = True,
        http_client: httpx.AsyncClient | None = None,
        on_message: Callable[[list[Any]], Any] | None = None,
        sse_chunk_size: int | None = None,
        sse_mode: str | None = None,
    ) -> None:
        del sse_chunk_size, sse_mode  # as on Inference: accepted, ignored
        self.on_message = on_message
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            stream_idle_timeout=stream_idle_timeout,
            max_reconnects=max_reconnects,
            api_version=api_version,
            upload_paths=upload_paths,
        )
        self.http = AsyncHTTPClient(self._config, http_client)
        """The low-level transport: ``await request(...)`` and ``stream(...)``."""

    # Loaded on first use, as for the sync client.
    @cached_property
    def tasks(self) -> AsyncTasks:
        """The task methods under shorter names: ``await client.tasks.get(id)``, ..."""
        from inferencesh.core.resources import AsyncTasks

        return AsyncTasks(self)

    @cached_property
    def files(self) -> AsyncFiles:
        """The file methods under shorter names: ``await client.files.upload(...)``."""
        from inferencesh.core.resources import AsyncFiles

        return AsyncFiles(self)

    @cached_property
    def sessions(self) -> AsyncSessions:
        """The session methods under shorter names: ``await client.sessions.get(id)``, ..."""
        from inferencesh.core.resources import AsyncSessions

        return AsyncSessions(self)

    @cached_property
    def sockets(self) -> AsyncSocketsAPI:
        """The sockets of stream tasks: ``get``, ``list``, ``for_task``, ``access``, ``open``."""
        from inferencesh.core.sockets import AsyncSocketsAPI

        return AsyncSocketsAPI(self)

    async def _drive(self, op: protocol.Op[T]) -> T:
        return await protocol.arun(self, op)

    # -- tasks ------------------------------------------------------------------------------
    @overload
    async def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = ...,
        stream: Literal[False] = ...,
        timeout: float | None = ...,
        upload_paths: bool | None = ...,
        max_reconnects: int | None = ...,
        auto_reconnect: bool = ...,
        reconnect_delay_ms: float | None = ...,
        upload_progress: ProgressFactory | None = ...,
        on_delta: OnDelta | None = ...,
    ) -> Task: ...

    @overload
    async def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = ...,
        stream: Literal[True],
        timeout: float | None = ...,
        upload_paths: bool | None = ...,
        max_reconnects: int | None = ...,
        auto_reconnect: bool = ...,
        reconnect_delay_ms: float | None = ...,
        upload_progress: ProgressFactory | None = ...,
        on_delta: OnDelta | None = ...,
    ) -> AsyncTaskStream: ...

    async def run(
        self,
        params: Mapping[str, Any],
        *,
        wait: bool = True,
        stream: bool = False,
        timeout: float | None = None,
        upload_paths: bool | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        upload_progress: ProgressFactory | None = None,
        on_delta: OnDelta | None = None,
    ) -> Task | AsyncTaskStream:
        """Run an app; see ``Inference.run``. With ``stream=True`` use
        ``async for update in await client.run(params, stream=True)``."""
        paths = self._paths(upload_paths)
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        if (stream or wait) and self._streams_run(timeout):
            follower, running = self._creating(params, paths, upload_progress, reconnect)
            if not stream and on_delta is None:
                return await self._drive(running)  # no updates to hand out: no async generator
            updates = AsyncTaskStream(None, self, follower=follower, on_delta=on_delta, op=running)
            if not stream:
                return await updates.wait()
            await updates._prime()
            return updates
        task = await self._drive(_ops.create_task(params, paths, upload_progress))
        if stream:
            return AsyncTaskStream(
                task, self, follower=self._follower(task, timeout, reconnect), on_delta=on_delta
            )
        if not wait:
            return task
        return await self._wait(task, timeout, reconnect, on_delta)

    async def live(
        self, params: Mapping[str, Any], **open_kwargs: Any
    ) -> tuple[Task, AsyncLiveSession]:
        """Start a stream function and dial its socket: ``(task, session)``.

        ``params`` as for ``run`` (the function must take a socket); ``open_kwargs`` go to
        ``client.sockets.open`` (``on_state``, ``on_binary``, ``watch_task``, ...). The task
        runs until the session closes or the app returns. Needs ``inferencesh-core[live]``;
        see :mod:`inferencesh.core.live` for an example.
        """
        task = await self.run(params, wait=False)
        if task.socket is None:
            raise ValueError(
                f"{task.app or params.get('app')} function {task.function!r} is not a stream "
                "function: the run response carries no socket"
            )
        return task, await self.sockets.open(task, **open_kwargs)

    async def _wait(
        self,
        task: Task,
        timeout: float | None,
        reconnect: Reconnect,
        on_delta: OnDelta | None = None,
    ) -> Task:
        stream = AsyncTaskStream(
            task, self, follower=self._follower(task, timeout, reconnect), on_delta=on_delta
        )
        return await stream.wait()

    async def get_task(self, task_id: str) -> Task:
        """Fetch a task (``GET /tasks/{id}``)."""
        return await self._drive(_ops.get_task(task_id))

    async def cancel(self, task_id: str, *, force: bool | None = None) -> None:
        """Ask the platform to cancel a task (``force=True`` skips the grace period)."""
        await self._drive(_ops.cancel(task_id, force))

    async def delete_task(self, task_id: str, *, files: bool = False) -> None:
        """Delete a finished task's record; ``files=True`` also deletes its stored files."""
        await self._drive(_ops.delete_task(task_id, files))

    async def task_files(
        self, task_id: str, *, role: TaskFileRoleArg | None = None
    ) -> list[TaskFile]:
        """The stored files a task read (``role="input"``) and wrote (``"output"``)."""
        return await self._drive(_ops.task_files(task_id, role))

    async def delete_task_files(
        self, task_id: str, *, role: TaskFileRoleArg | None = None
    ) -> DeletedTaskFiles:
        """Delete the stored files of a finished task and keep its record."""
        return await self._drive(_ops.delete_task_files(task_id, role))

    async def wait_for_completion(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> Task:
        """Wait for a task to end; see ``Inference.wait_for_completion``."""
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        return await self._wait(Task(id=task_id), timeout, reconnect, on_delta)

    def stream_task(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        max_reconnects: int | None = None,
        auto_reconnect: bool = True,
        reconnect_delay_ms: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> AsyncTaskStream:
        """Follow an existing task: an ``AsyncTaskStream`` of its updates."""
        reconnect = reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)
        follower = self._follower(Task(id=task_id), timeout, reconnect)
        return AsyncTaskStream(task_id, self, follower=follower, on_delta=on_delta)

    # -- files ------------------------------------------------------------------------------
    async def upload_file(
        self,
        data: Any,
        options: UploadFileOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> UploadedFile:
        """Upload a file; see ``Inference.upload_file``. Disk reads run off the event loop;
        ``progress`` is called on the event loop, so it must not block."""
        return await self._drive(_ops.upload_file(data, options, progress))

    # -- sessions ---------------------------------------------------------------------------
    async def session(
        self,
        app: str,
        *,
        input: Any = None,
        function: str | None = None,
        session_timeout: int | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> AsyncSessionHandle:
        """Start a session; see ``Inference.session``. Use
        ``async with await client.session(app, ...) as s:``."""
        extra = dict(params)
        if session_timeout is not None:
            extra["session_timeout"] = session_timeout
        run_params = _ops.session_params(app, function, input, "new", extra)
        task = await self._drive(_ops.start_session(self._waiting(run_params, timeout)))
        assert task.session_id is not None
        from inferencesh.core.sessions import AsyncSessionHandle

        return AsyncSessionHandle(self, app, task.session_id, task)

    async def get_session(self, session_id: str) -> SessionInfo:
        """Fetch a session (``GET /sessions/{id}``)."""
        return await self._drive(_ops.get_session(session_id))

    async def list_sessions(self) -> list[SessionInfo]:
        """The account's sessions (``GET /sessions``)."""
        return await self._drive(_ops.list_sessions())

    async def keepalive(self, session_id: str) -> SessionInfo:
        """Reset a session's idle timer."""
        return await self._drive(_ops.keepalive(session_id))

    async def end_session(self, session_id: str) -> None:
        """End a session and release its worker."""
        await self._drive(_ops.end_session(session_id))

    # -- agents -----------------------------------------------------------------------------
    def agent(
        self,
        config_or_ref: Any = None,
        context: Mapping[str, str] | None = None,
        *,
        config: Any = None,
        **kwargs: Any,
    ) -> AsyncAgent:
        """An async agent chat client (needs ``inferencesh-agents``); ``context`` holds per-chat
        variables, ``config`` is the published SDK 0.36's name for ``config_or_ref``."""
        config_or_ref = _agent_config(config_or_ref, config)
        agent: AsyncAgent = _agents_module().AsyncAgent(self, config_or_ref, context, **kwargs)
        return agent

    @property
    def agents(self) -> AsyncAgents:
        """The agents namespace (needs ``inferencesh-agents``)."""
        agents: AsyncAgents = _agents_module().AsyncAgents(self)
        return agents

    # -- lifecycle --------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connection pool (not a pool passed in as ``http_client``)."""
        await self.http.close()

    close = aclose

    async def __aenter__(self) -> AsyncInference:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def inference(**kwargs: Any) -> Inference:
    """Create a sync client; takes the arguments of ``Inference``.

    Example:
        >>> import os
        >>> from inferencesh import inference
        >>> client = inference(api_key=os.environ["INFERENCE_API_KEY"])
        >>> client.run({"app": "local/multi-function", "input": {"name": "Ada"}}).output
        {'message': 'Hello, Ada!'}
    """
    return Inference(**kwargs)


def async_inference(**kwargs: Any) -> AsyncInference:
    """Create an async client; takes the arguments of ``AsyncInference``.

    Example:
        >>> import asyncio
        >>> from inferencesh import async_inference
        >>> async def main():
        ...     params = {"app": "local/hello", "input": {"prompt": "A cat"}}
        ...     async with async_inference() as client:
        ...         async for update in await client.run(params, stream=True):
        ...             if update.status.is_terminal:
        ...                 print(update.status, update.output["result"])
        >>> asyncio.run(main())
        completed modern: A cat
    """
    return AsyncInference(**kwargs)

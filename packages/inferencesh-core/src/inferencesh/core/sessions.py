"""Session handles: several calls on one warm, leased worker.

``client.session(app, input=..., session_timeout=300)`` runs a first call with
``session="new"`` and returns a handle; ``handle.call(function, input)`` runs the next calls
on the same worker (its in-memory state persists); ``end()`` releases the worker, as does
leaving a ``with`` block. Using an ended or expired session raises ``SessionEndedError`` /
``SessionExpiredError``; an unknown id raises ``SessionNotFoundError``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from inferencesh.core._log import logger
from inferencesh.core.errors import InferenceError, SessionEndedError
from inferencesh.core.types import SessionInfo, Task

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference
    from inferencesh.core.tasks import AsyncTaskStream, TaskStream

__all__ = ["AsyncSessionHandle", "SessionHandle"]


class _HandleBase:
    def __init__(self, app: str, session_id: str, result: Task | None) -> None:
        self.app = app
        self.session_id = session_id
        self.result = result
        """The task of the call that started the session."""
        self.ended = False

    def __repr__(self) -> str:
        state = "ended" if self.ended else "open"
        return f"{type(self).__name__}(app={self.app!r}, session_id={self.session_id!r}, {state})"

    def _params(self, function: str | None, input: Any, params: dict[str, Any]) -> dict[str, Any]:
        if self.ended:
            raise SessionEndedError(
                410, f"session {self.session_id} has been ended", code="SESSION_ENDED"
            )
        from inferencesh.core._ops import session_params

        return session_params(self.app, function, input, self.session_id, params)

    @staticmethod
    def _end_failed(exc: BaseException, session_id: str) -> None:
        # Leaving a block that already failed: keep the original error, report this one.
        logger.warning("ending session %s failed: %s", session_id, exc)


class SessionHandle(_HandleBase):
    """A session of the sync client; ``client.session(...)`` returns it.

    Example:
        >>> session = client.session("local/counter", session_timeout=300)
        >>> print(session.result.output)  # the first call, which leased the worker
        {'value': 0}
        >>> print(session.call("set_value", {"value": 41}).output)
        {'value': 41}
        >>> print(session.call("increment").output, session.info().status)
        {'value': 42} active
        >>> session.end()  # release the worker (leaving a ``with`` block does it too)
    """

    def __init__(self, client: Inference, app: str, session_id: str, result: Task | None = None):
        super().__init__(app, session_id, result)
        self._client = client

    @overload
    def call(
        self,
        function: str | None = ...,
        input: Any = ...,
        *,
        timeout: float | None = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        **params: Any,
    ) -> Task: ...

    @overload
    def call(
        self,
        function: str | None = ...,
        input: Any = ...,
        *,
        timeout: float | None = ...,
        wait: bool = ...,
        stream: Literal[True],
        **params: Any,
    ) -> TaskStream: ...

    def call(
        self,
        function: str | None = None,
        input: Any = None,
        *,
        timeout: float | None = None,
        wait: bool = True,
        stream: bool = False,
        **params: Any,
    ) -> Task | TaskStream:
        """Run ``function`` (default: the app's) with ``input`` in this session; waits.

        ``wait=False`` returns the created task at once and ``stream=True`` a ``TaskStream``,
        as ``client.run`` does; other keywords are fields of the run request.
        """
        run_params = self._params(function, input, params)
        if stream:
            return self._client.run(run_params, timeout=timeout, stream=True)
        return self._client.run(run_params, timeout=timeout, wait=wait)

    def info(self) -> SessionInfo:
        """The session's current record."""
        return self._client.get_session(self.session_id)

    def keepalive(self) -> SessionInfo:
        """Reset the idle timer."""
        return self._client.keepalive(self.session_id)

    def end(self) -> None:
        """End the session and release the worker (a second call does nothing)."""
        if not self.ended:
            self._client.end_session(self.session_id)
            self.ended = True

    def __enter__(self) -> SessionHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end()
            return
        try:
            self.end()
        except InferenceError as end_exc:
            self._end_failed(end_exc, self.session_id)


class AsyncSessionHandle(_HandleBase):
    """A session of the async client."""

    def __init__(
        self, client: AsyncInference, app: str, session_id: str, result: Task | None = None
    ):
        super().__init__(app, session_id, result)
        self._client = client

    @overload
    async def call(
        self,
        function: str | None = ...,
        input: Any = ...,
        *,
        timeout: float | None = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        **params: Any,
    ) -> Task: ...

    @overload
    async def call(
        self,
        function: str | None = ...,
        input: Any = ...,
        *,
        timeout: float | None = ...,
        wait: bool = ...,
        stream: Literal[True],
        **params: Any,
    ) -> AsyncTaskStream: ...

    async def call(
        self,
        function: str | None = None,
        input: Any = None,
        *,
        timeout: float | None = None,
        wait: bool = True,
        stream: bool = False,
        **params: Any,
    ) -> Task | AsyncTaskStream:
        """Run ``function`` with ``input`` in this session; see ``SessionHandle.call``."""
        run_params = self._params(function, input, params)
        if stream:
            return await self._client.run(run_params, timeout=timeout, stream=True)
        return await self._client.run(run_params, timeout=timeout, wait=wait)

    async def info(self) -> SessionInfo:
        """The session's current record."""
        return await self._client.get_session(self.session_id)

    async def keepalive(self) -> SessionInfo:
        """Reset the idle timer."""
        return await self._client.keepalive(self.session_id)

    async def end(self) -> None:
        """End the session and release the worker (a second call does nothing)."""
        if not self.ended:
            await self._client.end_session(self.session_id)
            self.ended = True

    async def __aenter__(self) -> AsyncSessionHandle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.end()
            return
        try:
            await self.end()
        except InferenceError as end_exc:
            self._end_failed(end_exc, self.session_id)

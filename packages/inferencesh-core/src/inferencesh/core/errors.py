"""The exceptions of the inference.sh client, one hierarchy for every failure.

::

    InferenceError (RuntimeError)
    ├── APIError                      an HTTP error reply (status, code, message, request_id, body)
    │   ├── BadRequestError           400, 422
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── RateLimitError            429
    │   ├── ServerError               5xx
    │   ├── RequirementsNotMetError   412 (alias RequirementsNotMetException), with ``.errors``
    │   ├── MalformedResponseError    a reply the client cannot read
    │   └── SessionError              SessionNotFoundError, SessionExpiredError,
    │                                 SessionEndedError, WorkerLostError
    ├── APIConnectionError            the server could not be reached / the connection dropped
    │   └── APITimeoutError           (also a TimeoutError)
    ├── TaskFailedError               the task ended FAILED; ``.task`` holds it
    └── TaskCancelledError            the task ended CANCELLED; ``.task`` holds it

No exception text ever contains the API key: messages are built from the reply body and the
request's method and path only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

if TYPE_CHECKING:
    from inferencesh.core.types import RequirementError, Task

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InferenceError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequirementsNotMetError",
    "RequirementsNotMetException",
    "ServerError",
    "SessionEndedError",
    "SessionError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "TaskCancelledError",
    "TaskFailedError",
    "WorkerLostError",
    "error_from_response",
]


class InferenceError(RuntimeError):
    """Base of every error raised by the inference.sh client.

    Example:
        >>> from inferencesh import InferenceError
        >>> try:
        ...     client.run({"app": "local/failing", "input": {"message": "out of memory"}})
        ... except InferenceError as e:  # an HTTP error, a lost connection or a failed task
        ...     print(type(e).__name__, "-", e.task.error)
        TaskFailedError - ValueError: out of memory
    """

    idempotency_key: str | None = None
    """Set when a ``POST`` gave up with its outcome unknown (its retries ran out on a lost
    connection or a 5xx): the request may have been carried out. Sending the same request
    again with this ``Idempotency-Key`` answers with what the first one created (for
    ``POST /apps/run``, the task) instead of creating it twice::

        client.http.request("POST", "/apps/run", json=params, idempotency_key=e.idempotency_key)
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # The default pickling calls `cls(*self.args)`, which the subclasses' keyword-only
        # and structured constructors refuse: restore the message and attributes directly, so
        # errors cross process boundaries (multiprocessing, concurrent.futures).
        return (_restore, (type(self), self.args, self.__dict__))


class APIError(InferenceError):
    """The API answered with an error.

    Attributes: ``status`` (HTTP status), ``code`` (the platform's error code such as
    ``"not_found"``, or ``None``), ``message``, ``request_id`` (from ``X-Request-ID``, for
    support), ``body`` (the decoded error body, or the raw text when it was not JSON).

    Example:
        >>> from inferencesh import APIError
        >>> try:
        ...     client.get_task("no-such-task")
        ... except APIError as e:  # here a NotFoundError
        ...     print(e.status, e.code, type(e).__name__)
        404 not_found NotFoundError
    """

    def __init__(
        self,
        status: int | None = None,
        message: str = "",
        body: Any = None,
        *,
        code: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        response_body: Any = None,
    ) -> None:
        # `status_code` and `response_body` are the published SDK 0.36's names.
        self.status: int = _one("status", status, "status_code", status_code)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = (
            body if response_body is None else _one("body", body, "response_body", response_body)
        )
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        text += f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    @property
    def status_code(self) -> int:
        """Alias of ``status`` (the name the published SDK used)."""
        return self.status

    @property
    def response_body(self) -> Any:
        """Alias of ``body`` (the name the published SDK used)."""
        return self.body


class BadRequestError(APIError):
    """400 or 422: the request was invalid; the message says what was wrong."""


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the API key lacks the scope for this call."""


class NotFoundError(APIError):
    """404: no such task, file, app or session."""


class ConflictError(APIError):
    """409: the resource is in a conflicting state (deleting a running task); retried only
    when the server marks the conflict as passing (``Retry-After`` or ``x-should-retry``)."""


class RateLimitError(APIError):
    """429: too many requests (retried automatically, honouring ``Retry-After``)."""


class ServerError(APIError):
    """5xx: the platform failed (retried automatically)."""


class MalformedResponseError(APIError):
    """The reply could not be read: not JSON, or JSON of the wrong shape."""


class RequirementsNotMetError(APIError):
    """412: the app needs secrets, credentials or OAuth scopes the account does not have.

    ``errors`` is a list of dicts with ``type`` (``"secret"``, ``"credential"``/
    ``"integration"``, ``"scope"``), ``key``, ``message`` and ``action``.
    """

    def __init__(
        self,
        errors: list[dict[str, Any]] | list[RequirementError],
        status: int | None = None,
        *,
        request_id: str | None = None,
        body: Any = None,
        status_code: int | None = None,
    ) -> None:
        # 0.36 code passes `RequirementError` objects: keep them as the dicts ours carry.
        self.errors = [e if isinstance(e, dict) else _as_dict(e) for e in errors]
        first = self.errors[0].get("message") if self.errors else None
        message = str(first) if first else "requirements not met"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        if status is None and status_code is None:
            status = 412
        super().__init__(
            status,
            message,
            code="requirements_not_met",
            request_id=request_id,
            body=body,
            status_code=status_code,
        )

    @classmethod
    def from_response(cls, payload: Any) -> RequirementsNotMetError:
        """The error for a 412 reply's decoded body, ``{"errors": [...]}`` (as the published
        SDK 0.36 reads it); a bare list of errors is read the same way.

        Example:
            >>> from inferencesh import RequirementsNotMetError
            >>> error = RequirementsNotMetError.from_response(
            ...     {"errors": [{"type": "secret", "key": "K", "message": "add K"}]}
            ... )
            >>> error.status, error.errors[0]["key"], str(error)
            (412, 'K', 'HTTP 412 requirements_not_met: add K')
        """
        items = payload.get("errors") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise TypeError(
                "RequirementsNotMetError.from_response() takes a 412 body with an `errors` "
                f"list, not {type(payload).__name__}"
            )
        errors = [e if isinstance(e, dict) else {"message": str(e)} for e in items]
        return cls(errors, 412, body=payload)


RequirementsNotMetException = RequirementsNotMetError
"""The name the documentation uses for :class:`RequirementsNotMetError`."""


class SessionError(APIError):
    """A stateful session could not be used; ``session_id`` names it when known."""

    session_id: str | None = None


class _SessionStateError(SessionError):
    """A session error with a fixed status, built two ways:

    - ours, ``Error(status, message, code=..., request_id=..., body=...)`` (a status ``int``
      first), as the client builds them from a reply;
    - the published SDK 0.36's, ``Error(session_id, response_body=None)`` (a session id
      ``str`` first), whose message names the session.
    """

    _status: ClassVar[int]
    _what: ClassVar[str]

    def __init__(
        self,
        status: int | str | None = None,
        message: Any = None,
        body: Any = None,
        *,
        code: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        response_body: Any = None,
        session_id: str | None = None,
    ) -> None:
        if isinstance(status, str):  # 0.36's form: (session_id, response_body)
            if session_id is not None:
                raise TypeError(f"{type(self).__name__}() got the session id twice")
            session_id, status = status, None
            if message is not None:
                if response_body is not None or body is not None:
                    raise TypeError(f"{type(self).__name__}() got the response body twice")
                response_body, message = message, None
        if status is None and status_code is None:
            status = self._status
        if message is None:
            message = f"{self._what}: {session_id}" if session_id else self._what
        self.session_id = session_id
        super().__init__(
            status,
            message,
            body,
            code=code,
            request_id=request_id,
            status_code=status_code,
            response_body=response_body,
        )


class SessionNotFoundError(_SessionStateError, NotFoundError):
    """404 ``SESSION_NOT_FOUND``: no session with that id."""

    _status = 404
    _what = "session not found"


class SessionExpiredError(_SessionStateError):
    """410 ``SESSION_EXPIRED``: the session idled past its timeout."""

    _status = 410
    _what = "session expired"


class SessionEndedError(_SessionStateError):
    """410 ``SESSION_ENDED``: the session was ended."""

    _status = 410
    _what = "session ended"


class WorkerLostError(_SessionStateError, ServerError):
    """The worker holding the session went away; its in-memory state is lost."""

    _status = 500
    _what = "worker lost for session"


class APIConnectionError(InferenceError):
    """The request did not get an answer: connection refused, reset or dropped mid-stream."""


class APITimeoutError(APIConnectionError, TimeoutError):
    """A connect, read or overall timeout ran out.

    When a wait for a task ran out (``run(..., timeout=)``, ``wait_for_completion``, a task
    stream), ``task_id`` names the task, which may still be running, and ``task`` is its last
    known state: wait again with ``client.wait_for_completion(e.task_id)``, or cancel it.
    For a single request that timed out both are ``None``.

    Example:
        >>> from inferencesh import APITimeoutError
        >>> try:
        ...     client.run({"app": "local/slow", "input": {"seconds": 1}}, timeout=0.2)
        ... except APITimeoutError as e:  # the task goes on: wait for it again
        ...     result = client.wait_for_completion(e.task_id)
        >>> print(result.status)
        completed
    """

    def __init__(
        self, message: str, *, task_id: str | None = None, task: Task | None = None
    ) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.task = task


class TaskFailedError(InferenceError):
    """The task ended FAILED (or REJECTED); ``task`` is the final task, ``task.error`` the cause.

    Example:
        >>> from inferencesh import TaskFailedError
        >>> try:
        ...     client.run({"app": "local/failing", "input": {"message": "boom"}})
        ... except TaskFailedError as e:
        ...     print(e.task.status, e.task.error)
        failed ValueError: boom
    """

    def __init__(self, task: Task) -> None:
        self.task = task
        verb = "was rejected" if int(task.status) == 13 else "failed"
        super().__init__(f"task {task.id} {verb}: {task.error or 'no error message'}")


class TaskCancelledError(InferenceError):
    """The task ended with status CANCELLED; ``task`` is the final task.

    Example:
        >>> from inferencesh import TaskCancelledError
        >>> task = client.run({"app": "local/slow", "input": {"seconds": 30}}, wait=False)
        >>> client.cancel(task["id"])
        >>> try:
        ...     client.wait_for_completion(task["id"])
        ... except TaskCancelledError as e:
        ...     print(e.task.status)
        cancelled
    """

    def __init__(self, task: Task) -> None:
        self.task = task
        super().__init__(f"task {task.id} was cancelled")


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}

_BY_CODE: dict[str, type[APIError]] = {
    "session_not_found": SessionNotFoundError,
    "session_expired": SessionExpiredError,
    "session_ended": SessionEndedError,
    "worker_lost": WorkerLostError,
}


def _snippet(body: bytes, limit: int = 300) -> str:
    """The start of a reply or stream body for an error message (core's one such helper)."""
    text = body[:limit].decode("utf-8", "replace").strip()
    return text + ("…" if len(body) > limit else "")


def error_from_response(
    status: int, body: bytes, *, request_id: str | None = None, where: str = ""
) -> APIError:
    """Build the exception for an error reply (pure: used by the sync and async clients).

    Reads the v1 envelope ``{"success": false, "error": {"code", "message"}}``, an RFC 9457
    problem ``{"type", "title", "status", "detail"}``, ``{"error": "text"}`` or
    ``{"message": "text"}``; a 412 ``{"errors": [...]}`` becomes ``RequirementsNotMetError``.
    """
    payload: Any
    try:
        payload = msgspec.json.decode(body) if body else None
    except (msgspec.DecodeError, RecursionError):  # a body nesting too deeply included
        payload = None
    code: str | None = None
    message: str | None = None
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if status == 412 and isinstance(errors, list):
            items = [e if isinstance(e, dict) else {"message": str(e)} for e in errors]
            return RequirementsNotMetError(items, status, request_id=request_id, body=payload)
        error = payload.get("error")
        if isinstance(error, dict):
            code = _str(error.get("code"))
            message = _str(error.get("message"))
        elif isinstance(error, str):
            message = error
        problem_type = _str(payload.get("type"))
        if code is None and problem_type and problem_type != "about:blank":
            code = problem_type.rstrip("/").rsplit("/", 1)[-1]
        if code is None:
            code = _str(payload.get("code"))
        message = (
            message
            or _str(payload.get("detail"))
            or _str(payload.get("title"))
            or _str(payload.get("message"))
        )
    if not message:
        message = _snippet(body) if body else "no error details in the reply"
    if where:
        message = f"{message} [{where}]"
    cls = _BY_CODE.get(code.lower()) if code else None
    if cls is None:
        cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(status, message, code=code, request_id=request_id, body=payload or _snippet(body))


def _restore(cls: type[InferenceError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Rebuild a pickled error without calling its constructor."""
    # `TimeoutError` subclasses have the memory layout of `OSError`, which must allocate them.
    base: Any = OSError if issubclass(cls, OSError) else Exception
    error = base.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def _one(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    """The value given under ``name`` or under its 0.36 ``alias``: exactly one is needed."""
    if alias_value is None:
        if value is None:
            raise TypeError(f"missing argument `{name}` (or its 0.36 name `{alias}`)")
        return value
    if value is not None:
        raise TypeError(f"got both `{name}` and its 0.36 name `{alias}`; pass one")
    return alias_value


def _as_dict(item: Any) -> dict[str, Any]:
    # A `RequirementError` struct (or any struct): its fields as JSON-ready values.
    data = msgspec.to_builtins(item)
    if not isinstance(data, dict):
        raise TypeError(f"a requirement error is a dict or RequirementError, not {item!r}")
    return data


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

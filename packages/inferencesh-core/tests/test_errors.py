"""The client's errors: what they carry, and that they survive crossing a process boundary."""

from __future__ import annotations

import pickle

import pytest
from inferencesh.core import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InferenceError,
    MalformedResponseError,
    RequirementsNotMetError,
    SessionExpiredError,
    Task,
    TaskCancelledError,
    TaskFailedError,
    WorkerLostError,
)

# -- errors cross process boundaries -------------------------------------------------------


ERRORS = [
    APIError(404, "no such task", code="not_found", request_id="req_1", body={"a": 1}),
    RequirementsNotMetError([{"type": "secret", "key": "K", "message": "missing K"}]),
    SessionExpiredError(410, "idle", code="SESSION_EXPIRED"),
    WorkerLostError(500, "gone"),
    MalformedResponseError(200, "not JSON"),
    APIConnectionError("GET /tasks/t1 failed"),
    APITimeoutError("too slow", task_id="t1", task=Task(id="t1", status=7)),
    TaskFailedError(Task(id="t1", status=11, error="boom")),
    TaskCancelledError(Task(id="t1", status=12)),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error: InferenceError) -> None:
    # Errors cross process boundaries (multiprocessing, ProcessPoolExecutor) by pickle.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__dict__ == error.__dict__
    assert isinstance(copy, TimeoutError) == isinstance(error, TimeoutError)

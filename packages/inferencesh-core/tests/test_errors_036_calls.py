"""The errors take the published SDK 0.36's constructor calls too, with the same attributes
readable under both names; ours stay as they were (the client builds errors with them)."""

from __future__ import annotations

import pickle

import pytest
from inferencesh import (
    APIError,
    NotFoundError,
    RequirementError,
    RequirementsNotMetError,
    ServerError,
    SessionEndedError,
    SessionError,
    SessionExpiredError,
    SessionNotFoundError,
    WorkerLostError,
)
from inferencesh.core.errors import error_from_response


@pytest.mark.parametrize(
    "error",
    [
        APIError(503, "busy", {"detail": "busy"}),
        APIError(status_code=503, message="busy", response_body={"detail": "busy"}),
        APIError(503, "busy", response_body={"detail": "busy"}),
        APIError(503, "busy", body={"detail": "busy"}),
    ],
)
def test_api_error_both_spellings(error: APIError) -> None:
    assert (error.status, error.status_code) == (503, 503)
    assert error.body == error.response_body == {"detail": "busy"}
    assert error.message == "busy" and str(error) == "HTTP 503: busy"


def test_api_error_refuses_a_value_given_twice_or_missing() -> None:
    with pytest.raises(TypeError, match=r"both `status` and its 0\.36 name `status_code`"):
        APIError(500, "m", status_code=500)
    with pytest.raises(TypeError, match=r"both `body` and its 0\.36 name `response_body`"):
        APIError(500, "m", {"a": 1}, response_body={"a": 1})
    with pytest.raises(TypeError, match="missing argument `status`"):
        APIError(message="m")


@pytest.mark.parametrize(
    ("cls", "status", "text"),
    [
        (SessionNotFoundError, 404, "session not found: s1"),
        (SessionExpiredError, 410, "session expired: s1"),
        (SessionEndedError, 410, "session ended: s1"),
        (WorkerLostError, 500, "worker lost for session: s1"),
    ],
)
def test_session_errors_take_036s_session_id(
    cls: type[SessionError], status: int, text: str
) -> None:
    for error in (cls("s1", {"raw": 1}), cls(session_id="s1", response_body={"raw": 1})):
        assert isinstance(error, SessionError)
        assert (error.session_id, error.status_code, error.message) == ("s1", status, text)
        assert error.response_body == {"raw": 1}
        assert pickle.loads(pickle.dumps(error)).session_id == "s1"
    # Ours: a status first, as the client builds it from a reply.
    ours = cls(status, "from the server", code="SESSION_X", request_id="r1")
    assert (ours.status, ours.message, ours.code, ours.session_id) == (
        status,
        "from the server",
        "SESSION_X",
        None,
    )


def test_session_errors_keep_their_places_in_the_hierarchy() -> None:
    assert isinstance(SessionNotFoundError("s"), NotFoundError)
    assert isinstance(WorkerLostError("s"), ServerError)
    built = error_from_response(410, b'{"error": {"code": "session_expired", "message": "idle"}}')
    assert type(built) is SessionExpiredError and built.message == "idle"
    assert SessionError(400, "bad").status_code == 400
    with pytest.raises(TypeError, match="session id twice"):
        SessionEndedError("s1", session_id="s2")


def test_requirements_error_from_a_036_response_and_objects() -> None:
    body = {"errors": [{"type": "secret", "key": "K", "message": "add K"}]}
    error = RequirementsNotMetError.from_response(body)
    assert (error.status, error.status_code, error.response_body) == (412, 412, body)
    assert error.errors == body["errors"] and error.message == "add K"
    with pytest.raises(TypeError, match="an `errors` list"):
        RequirementsNotMetError.from_response({"detail": "nope"})
    # 0.36 code builds it from RequirementError objects, with `status_code`.
    typed = RequirementsNotMetError(
        [RequirementError(type="scope", key="repo", message="grant repo")], status_code=403
    )
    assert typed.status == 403 and typed.errors[0]["key"] == "repo"
    assert typed.message == "grant repo"

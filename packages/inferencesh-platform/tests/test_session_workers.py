"""A session whose idle worker died (issue 16, item 10): its status says ended at once, and the
client's next call raises the documented ``WorkerLostError``."""

from __future__ import annotations

import time

import pytest
from inferencesh import Inference
from inferencesh.core.errors import SessionError, WorkerLostError
from platform_testkit import SharedPlatform, kill_and_wait


def test_the_session_shows_ended_and_its_next_call_raises_worker_lost(
    one_slot: SharedPlatform,
) -> None:
    with Inference(api_key=one_slot.api_key, base_url=one_slot.base_url) as client:
        first = client.run({"app": "local/stuck", "input": {}, "session": "new"})
        session_id = first.session_id
        assert client.sessions.get(session_id).status == "active"
        kill_and_wait(first.output["pid"])
        deadline = time.monotonic() + 5
        while client.sessions.get(session_id).status == "active":
            assert time.monotonic() < deadline, "the session still shows active"
            time.sleep(0.05)
        info = client.sessions.get(session_id)
        assert info.status == "ended"
        with pytest.raises(WorkerLostError) as lost:
            client.run({"app": "local/stuck", "input": {}, "session": session_id})
        assert isinstance(lost.value, SessionError)
        assert "worker lost" in str(lost.value)

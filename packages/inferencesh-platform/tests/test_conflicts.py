"""Deleting a running task is a state conflict the client raises at once (issue 16, item 12),
over a real platform: one request, no retries."""

from __future__ import annotations

import pytest
from inferencesh import Inference
from inferencesh.core.errors import ConflictError
from platform_testkit import SharedPlatform


def test_deleting_a_running_task_raises_conflict_at_once(one_slot: SharedPlatform) -> None:
    with Inference(api_key=one_slot.api_key, base_url=one_slot.base_url) as client:
        task = client.run({"app": "local/stuck", "input": {"seconds": 30}}, wait=False)
        sent: list[str] = []
        client.http.httpx_client.event_hooks["request"].append(lambda r: sent.append(r.method))
        try:
            with pytest.raises(ConflictError) as conflict:
                client.delete_task(task.id)
            assert "still running" in str(conflict.value)
            assert sent == ["DELETE"]  # 0.36 sent it three times, with backoff between
        finally:
            client.cancel(task.id, force=True)

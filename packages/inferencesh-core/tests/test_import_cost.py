"""What importing the core client loads: nothing beyond httpx and msgspec but its own modules,
and not the modules it defers to first use (issue 17's import target; speed is measured in
``bench/speed.py --only import``, this only guards the mechanism)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import inferencesh.core.agent_requests as agent_requests
import inferencesh.core.requests as requests
import pytest
from core_testkit import BASE, KEY
from inferencesh.core import AsyncInference, Inference

# Loaded on first use, never by `from inferencesh import inference`.
DEFERRED = [
    # other distributions and heavy libraries
    "inferencesh.agents",
    "inferencesh.apps",
    "inferencesh.models",
    "inferencesh.platform",
    "pydantic",
    "websockets",
    "asyncio",  # the sync client never needs it; the async drivers import it
    "pkgutil",  # the face finds its sibling portions itself
    # core modules of rarely used paths
    "inferencesh.core.agent_requests",  # agents' request bodies
    "inferencesh.core.resources",  # client.tasks / files / sessions
    "inferencesh.core.sessions",  # client.session(...)
    "inferencesh.core.sockets",  # client.sockets
    "inferencesh.core.live",
    "inferencesh.core.live_schema",
    "inferencesh.core.chat",
    "inferencesh.core.progress",
    "inferencesh.core.ndjson",
    "inferencesh.core._time",
]


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    return set(out.stdout.split())


def test_client_import_adds_only_its_own_modules_to_the_floor() -> None:
    floor = _modules_after("import httpx, msgspec")
    ours = _modules_after("from inferencesh import inference")
    extra = sorted(ours - floor)
    assert [m for m in extra if m != "inferencesh" and not m.startswith("inferencesh.core")] == []
    assert "inferencesh.core.client" in extra


def test_client_import_defers_what_it_does_not_need() -> None:
    loaded = _modules_after("from inferencesh import inference, async_inference")
    assert [m for m in DEFERRED if m in loaded] == []


def test_a_client_loads_its_namespaces_on_first_use() -> None:
    loaded = _modules_after(
        f"""
        from inferencesh import inference
        client = inference(api_key={KEY!r}, base_url={BASE!r})
        client.run  # the task methods are the client's own
        """
    )
    assert "inferencesh.core.resources" not in loaded
    assert "inferencesh.core.sockets" not in loaded


@pytest.mark.parametrize("cls", [Inference, AsyncInference])
def test_namespaces_are_built_once_per_client(cls: type[Inference] | type[AsyncInference]) -> None:
    client = cls(api_key=KEY, base_url=BASE)
    for name in ("tasks", "files", "sessions", "sockets"):
        assert getattr(client, name) is getattr(client, name), name
    assert client.tasks.get == client.get_task
    other = cls(api_key=KEY, base_url=BASE)
    assert other.tasks is not client.tasks


def test_requests_still_exports_the_agent_bodies() -> None:
    for name in agent_requests.__all__:
        assert name in requests.__all__, name
        assert getattr(requests, name) is getattr(agent_requests, name), name
    with pytest.raises(AttributeError, match="no_such_body"):
        requests.no_such_body  # noqa: B018 - the lookup is the test


def test_agent_bodies_load_on_first_use_from_requests() -> None:
    loaded = _modules_after(
        """
        import sys
        import inferencesh.core.requests
        assert "inferencesh.core.agent_requests" not in sys.modules
        from inferencesh.core.requests import AgentConfig, convert_request
        config = convert_request({"tools": [{"name": "t", "type": "client"}]}, AgentConfig)
        assert config.tools[0].name == "t"
        """
    )
    assert "inferencesh.core.agent_requests" in loaded

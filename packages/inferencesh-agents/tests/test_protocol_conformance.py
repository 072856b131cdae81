"""The agents client against the protocol reference (``platform-protocol.md`` §5.1, §5.4)."""

from __future__ import annotations

import msgspec
from inferencesh.agents._config import normalize_agent
from inferencesh.core import Inference
from inferencesh.core.chat import AgentConfig, AgentTool


def test_context_fields_and_hooks_are_agent_config_keys(client: Inference) -> None:
    """§5.1 ``AgentConfigInput{..., context[ContextField], ..., hooks[LifecycleHookConfig],
    output_schema}``: an ad-hoc config with them is accepted and sent as given."""
    context = [{"name": "region", "description": "Where the user is", "required": True}]
    hooks = [{"event": "agent.start", "type": "webhook", "handler": "https://example.org/h"}]
    config = {
        "core_app": {"ref": "infsh/claude-sonnet-4@latest"},
        "context": context,
        "hooks": hooks,
    }
    client.agents.create(config)  # no AgentConfigError
    fields = normalize_agent(config).run_fields()
    assert fields["agent_config"]["context"] == context
    assert fields["agent_config"]["hooks"] == hooks
    decoded = msgspec.convert(fields["agent_config"], AgentConfig)
    assert decoded.context == context and decoded.hooks == hooks


def test_call_tools_are_agent_tools() -> None:
    """§5.4 ``http`` / ``call``: ``AgentTool`` has a ``call`` key configured like ``http``."""
    tool = {
        "name": "ping",
        "type": "call",
        "description": "Ping",
        "call": {"url": "https://example.org/ping", "method": "GET"},
    }
    spec = normalize_agent({"core_app": {"ref": "a/b"}, "tools": [tool]})
    assert spec.run_fields()["agent_config"]["tools"] == [tool]
    decoded = msgspec.convert(tool, AgentTool)
    assert decoded.call is not None and decoded.call.url == "https://example.org/ping"
    assert decoded.to_dict()["call"] == {"url": "https://example.org/ping", "method": "GET"}

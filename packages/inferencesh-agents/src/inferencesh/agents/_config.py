"""Turn what users pass to ``client.agent(...)`` into the ``POST /agents/run`` agent fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from inferencesh.agents.tools import (
    BuiltTool,
    ClientToolBuilder,
    InternalToolsBuilder,
    ToolHandler,
    _ToolBuilder,
    check_ref,
)
from inferencesh.core.chat import AgentConfig

__all__ = ["AgentConfigError", "AgentSpec", "normalize_agent"]

# LLM settings a user may give at the top level of an ad-hoc config; the platform reads them
# from the core app's input defaults.
MODEL_SETTINGS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "seed",
        "stop",
        "max_tokens",
        "reasoning_effort",
        "reasoning_max_tokens",
        "context_size",
    }
)
_CONFIG_KEYS = frozenset(AgentConfig.__struct_fields__)


class AgentConfigError(ValueError):
    """An agent reference or ad-hoc agent config is invalid; the message says where."""


class AgentSpec:
    """A normalized agent: a template ``ref`` or an ad-hoc ``config`` dict, plus tool handlers."""

    __slots__ = ("config", "handlers", "ref")

    def __init__(
        self, ref: str | None, config: dict[str, Any] | None, handlers: dict[str, ToolHandler]
    ) -> None:
        self.ref = ref
        self.config = config
        self.handlers = handlers

    def run_fields(self) -> dict[str, Any]:
        """The agent part of a ``POST /agents/run`` body."""
        if self.ref is not None:
            return {"agent": self.ref}
        assert self.config is not None
        fields: dict[str, Any] = {"agent_config": self.config}
        if self.config.get("name"):
            # The platform reuses an existing ad-hoc agent of that name instead of a new one.
            fields["agent_name"] = self.config["name"]
        return fields


def _tool(item: object, index: int, handlers: dict[str, ToolHandler]) -> dict[str, Any]:
    where = f"agent config: tools[{index}]"
    handler: ToolHandler | None = None
    if isinstance(item, _ToolBuilder):
        item = item.build()
    elif callable(item) and not isinstance(item, Mapping):
        item = ClientToolBuilder.from_function(item).build()
    if isinstance(item, BuiltTool):
        handler = item.handler
    elif isinstance(item, Mapping) and set(item) == {"schema", "handler"}:
        # The older `{"schema": ..., "handler": fn}` client-tool form.
        handler = item["handler"]
        item = item["schema"]
    if not isinstance(item, Mapping):
        raise AgentConfigError(
            f"{where}: expected a tool built with tool(...).build(), got {item!r}"
        )
    data = dict(item)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise AgentConfigError(f"{where}: the tool has no name")
    if handler is not None:
        if not callable(handler):
            raise AgentConfigError(f"{where}: the handler of tool {name!r} is not callable")
        if handlers.get(name, handler) is not handler:
            # Two handlers for one tool: whichever won, the other would be silently unused.
            raise AgentConfigError(
                f"{where}: tool {name!r} has a handler of its own and another one is given "
                "for it (in handlers=, or by another tool of that name); give it once"
            )
        handlers[name] = handler
    return data


def normalize_agent(
    config: str | Mapping[str, Any] | AgentConfig,
    handlers: Mapping[str, Callable[..., Any]] | None = None,
) -> AgentSpec:
    """Validate a template ref or an ad-hoc config, raising ``AgentConfigError`` on bad input."""
    all_handlers: dict[str, ToolHandler] = dict(handlers or {})
    for name, fn in all_handlers.items():
        if not callable(fn):
            raise AgentConfigError(f"handlers[{name!r}] is not callable")
    if isinstance(config, str):
        try:
            ref = check_ref(config, "agent")
        except ValueError as exc:
            raise AgentConfigError(str(exc)) from None
        return AgentSpec(ref, None, all_handlers)
    if isinstance(config, AgentConfig):
        config = config.to_dict()
    if not isinstance(config, Mapping):
        raise AgentConfigError(
            "client.agent() takes a template agent ref such as 'my-team/support@latest' or an "
            f"ad-hoc config dict, got {config!r}"
        )
    data = dict(config)
    unknown = sorted(set(data) - _CONFIG_KEYS - MODEL_SETTINGS)
    if unknown:
        raise AgentConfigError(
            f"agent config: unknown keys {unknown}; use {sorted(_CONFIG_KEYS)} "
            f"or model settings {sorted(MODEL_SETTINGS)}"
        )
    core_app = data.get("core_app")
    if core_app is None:
        raise AgentConfigError(
            "agent config: an ad-hoc agent needs core_app, e.g. "
            "{'core_app': {'ref': 'infsh/claude-sonnet-4@latest'}}"
        )
    if not isinstance(core_app, Mapping):
        raise AgentConfigError(f"agent config: core_app must be a dict, got {core_app!r}")
    core_app = dict(core_app)
    if "ref" in core_app:
        try:
            check_ref(core_app["ref"], "agent config: core_app")
        except ValueError as exc:
            raise AgentConfigError(str(exc)) from None
    settings = {k: data.pop(k) for k in sorted(MODEL_SETTINGS & set(data))}
    if settings:
        app_input = dict(core_app.get("input") or {})
        for key, value in settings.items():
            if key in app_input and app_input[key] != value:
                raise AgentConfigError(
                    f"agent config: {key}={value!r} conflicts with core_app.input[{key!r}]="
                    f"{app_input[key]!r}; give it once"
                )
            app_input[key] = value
        core_app["input"] = app_input
    data["core_app"] = core_app
    if data.get("tools") is not None:
        tools = data["tools"]
        if not isinstance(tools, (list, tuple)):
            raise AgentConfigError(f"agent config: tools must be a list, got {tools!r}")
        built = [_tool(item, i, all_handlers) for i, item in enumerate(tools) if item is not None]
        names = [t["name"] for t in built]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise AgentConfigError(f"agent config: duplicate tool names {duplicates}")
        data["tools"] = built
    if isinstance(data.get("internal_tools"), InternalToolsBuilder):
        data["internal_tools"] = data["internal_tools"].build()
    for i, skill in enumerate(data.get("skills") or []):
        if not isinstance(skill, Mapping) or not skill.get("name"):
            raise AgentConfigError(f"agent config: skills[{i}] needs a name")
        if not (skill.get("content") or skill.get("url") or skill.get("skill_id")):
            raise AgentConfigError(
                f"agent config: skill {skill['name']!r} needs content, url or skill_id"
            )
    try:
        msgspec.convert(data, AgentConfig)
    except msgspec.ValidationError as exc:
        raise AgentConfigError(f"agent config: {exc}") from None
    return AgentSpec(None, data, all_handlers)

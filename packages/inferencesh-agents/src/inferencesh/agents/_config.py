"""Turn what users pass to ``client.agent(...)`` into the ``AgentConfig`` (or template ref) of
``POST /agents/run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from inferencesh.agents.tools import (
    BuiltTool,
    ClientToolBuilder,
    InternalToolsBuilder,
    ToolHandler,
    _ToolBuilder,
    check_ref,
)
from inferencesh.core.requests import AgentConfig, RequestError, convert_request

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
    """A normalized agent: a template ``ref`` or an ad-hoc ``AgentConfig``, plus tool handlers."""

    __slots__ = ("config", "handlers", "ref")

    def __init__(
        self, ref: str | None, config: AgentConfig | None, handlers: dict[str, ToolHandler]
    ) -> None:
        self.ref = ref
        self.config = config
        self.handlers = handlers

    def run_fields(self) -> dict[str, Any]:
        """The agent part of a ``POST /agents/run`` body (the config encoded as JSON builtins)."""
        if self.ref is not None:
            return {"agent": self.ref}
        assert self.config is not None
        fields: dict[str, Any] = {"agent_config": self.config.to_dict()}
        if self.config.name:
            # The platform reuses an existing ad-hoc agent of that name instead of a new one.
            fields["agent_name"] = self.config.name
        return fields


def _tool(item: object, index: int) -> tuple[object, ToolHandler | None]:
    """A tool given in any accepted form, as its JSON (a mapping) and its handler if any."""
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
            f"agent config: tools[{index}]: expected a tool built with tool(...).build(), "
            f"got {item!r}"
        )
    if handler is not None and not callable(handler):
        raise AgentConfigError(
            f"agent config: tools[{index}]: the handler of tool {item.get('name')!r} is not "
            "callable"
        )
    return dict(item), handler


def _bind(handlers: dict[str, ToolHandler], name: str, handler: ToolHandler, index: int) -> None:
    if handlers.get(name, handler) is not handler:
        # Two handlers for one tool: whichever won, the other would be silently unused.
        raise AgentConfigError(
            f"agent config: tools[{index}]: tool {name!r} has a handler of its own and another "
            "one is given for it (in handlers=, or by another tool of that name); give it once"
        )
    handlers[name] = handler


def _fold_settings(data: dict[str, Any]) -> None:
    """Move top-level model settings into ``core_app.input`` (where the platform reads them)."""
    settings = {k: data.pop(k) for k in sorted(MODEL_SETTINGS & set(data))}
    core_app = data.get("core_app")
    if not settings or not isinstance(core_app, Mapping):
        return
    core_app = dict(core_app)
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


def normalize_agent(
    config: str | Mapping[str, Any] | AgentConfig,
    handlers: Mapping[str, Callable[..., Any]] | None = None,
) -> AgentSpec:
    """Validate a template ref or an ad-hoc config, raising ``AgentConfigError`` on bad input.

    An ad-hoc config becomes the shared ``AgentConfig`` struct (its rules: tool names, refs,
    unique names, ...), after the client's own steps: tools given as builders or functions are
    built (their handlers kept), top-level model settings go into ``core_app.input``, and a key
    ``AgentConfig`` does not have is refused rather than dropped.
    """
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
    if data.get("core_app") is None:
        raise AgentConfigError(
            "agent config: an ad-hoc agent needs core_app, e.g. "
            "{'core_app': {'ref': 'infsh/claude-sonnet-4@latest'}}"
        )
    _fold_settings(data)
    bound: list[tuple[int, ToolHandler]] = []
    tools = data.get("tools")
    if isinstance(tools, (list, tuple)):
        built = []
        for index, item in enumerate(t for t in tools if t is not None):
            tool, handler = _tool(item, index)
            built.append(tool)
            if handler is not None:
                bound.append((index, handler))
        data["tools"] = built
    if isinstance(data.get("internal_tools"), InternalToolsBuilder):
        data["internal_tools"] = data["internal_tools"].build()
    try:
        agent = convert_request(data, AgentConfig)
    except RequestError as exc:
        raise AgentConfigError(f"agent config: {exc.json_path} {exc.reason}") from None
    for index, handler in bound:
        _bind(all_handlers, (agent.tools or [])[index].name, handler, index)
    for skill in agent.skills or ():
        if not (skill.content or skill.url or skill.skill_id):
            # The cloud resolves a skill_id; something must say where the skill's text is.
            raise AgentConfigError(
                f"agent config: skill {skill.name!r} needs content, url or skill_id"
            )
    return AgentSpec(None, agent, all_handlers)

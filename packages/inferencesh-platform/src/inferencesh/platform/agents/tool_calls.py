"""An agent's tools: what the model is offered, and how each call runs by tool type.

* ``client``: waits in ``awaiting_input`` for ``POST /tools/{id}`` from the client.
* ``app``: runs a task of the app on this platform (``setup`` and ``input`` presets applied).
* ``agent``: starts a child chat with the sub-agent and returns its result.
* ``hook``: POSTs the documented payload (with the secret header) and waits for the callback.
* ``http`` / ``call`` (the newer name): one authenticated request; the response body is the
  result.
* ``mcp``: calls the tool on an MCP server (see :mod:`.mcp`).
* ``internal``: ``plan_*``, ``memory_*``, ``finish``, ``skill_get`` on chat state.

``require_approval`` on any tool first parks the call in ``awaiting_approval``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from inferencesh.core.requests import (
    AgentConfig,
    AppToolConfig,
    RequestError,
    ToolType,
    convert_request,
)
from inferencesh.core.types import WireStruct
from inferencesh.platform.ids import now_iso

from . import internal_tools
from .hub import InvocationRecord, LiveChat
from .internal_tools import ToolFailure
from .mcp import call_mcp_tool
from .task_runner import TaskError

if TYPE_CHECKING:
    from .loop import AgentRuntime

_log = logging.getLogger("inferencesh.platform.agents")

TOOL_TYPES = ("client", "app", "agent", "hook", "http", "call", "mcp", "internal")
_SECTIONS = ("client", "app", "agent", "hook", "http", "call", "mcp")
_OPEN_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}
# Built-in capabilities that are ordinary app tools on the platform; the refs can be
# re-pointed with aliases (see inferencesh.platform.refs).
CAPABILITY_APPS = {
    "web_search": ("local/web-search", "Search the web and return the top results.", "query"),
    "code_execution": ("local/code-execution", "Run Python code and return its output.", "code"),
    "image_generation": ("local/image-generation", "Generate an image from a prompt.", "prompt"),
}


class ConfigError(ValueError):
    """The agent config is invalid; the message says which part."""


@dataclass
class ToolSpec:
    """One tool as the loop sees it."""

    name: str
    type: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: dict(_OPEN_OBJECT))
    display_name: str = ""
    require_approval: bool = False
    config: WireStruct = field(default_factory=AppToolConfig)
    """The tool's section of its type (``AppToolConfig`` for an app tool, ...)."""
    schema_from_app: bool = False
    """An app tool declared without params: offered the app's own input schema when known."""

    def function(self) -> dict[str, Any]:
        """The tool in the function-call form the LLM app receives."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def collect_tools(config: AgentConfig | dict[str, Any], *, is_child: bool) -> dict[str, ToolSpec]:
    """Every tool of an agent config, by name: its own tools and the built-in ones it switches
    on. The config's shape (names, types, sections, refs, unique names) is checked by decoding
    it into ``AgentConfig`` (a dict is decoded here); this raises :class:`ConfigError` for a
    config that breaks those rules, for what the local platform cannot run and for a name taken
    twice once the built-in tools join."""
    if not isinstance(config, AgentConfig):
        try:
            config = convert_request(config, AgentConfig)
        except RequestError as exc:
            raise ConfigError(f"{exc.location('agent_config')} {exc.reason}") from None
    specs: dict[str, ToolSpec] = {}

    def add(spec: ToolSpec, where: str) -> None:
        if spec.name in specs:
            raise ConfigError(f"{where}: two tools are named {spec.name!r}")
        specs[spec.name] = spec

    for index, tool in enumerate(config.tools or ()):
        where = f"agent_config.tools[{index}]"
        kind = str(tool.type)
        if kind not in TOOL_TYPES:
            raise ConfigError(
                f"{where}.type must be one of {', '.join(TOOL_TYPES)} on the local platform, "
                f"got {kind!r}"
            )
        section: WireStruct | None = getattr(tool, kind) if kind in _SECTIONS else None
        declared = section.get("input_schema") if section is not None else None
        params = dict(_OPEN_OBJECT) if declared is None else declared
        if kind == ToolType.APP:
            if not section or not section.get("ref"):
                raise ConfigError(f"{where}.app.ref names no app (an app id is not known here)")
            params = _app_params(params, section)
        elif kind == ToolType.AGENT and params == _OPEN_OBJECT:
            params = {
                "type": "object",
                "properties": {"message": {"type": "string", "description": "The task"}},
                "required": ["message"],
            }
        elif kind == ToolType.INTERNAL and tool.name not in internal_tools.HANDLERS:
            raise ConfigError(f"{where}: unknown internal tool {tool.name!r}")
        add(
            ToolSpec(
                name=tool.name,
                type=kind,
                description=tool.description,
                parameters=params,
                display_name=tool.display_name or tool.name,
                require_approval=bool(tool.require_approval),
                config=section if section is not None else AppToolConfig(),
                schema_from_app=kind == ToolType.APP and declared is None,
            ),
            where,
        )

    flags = config.internal_tools
    groups = (("plan", internal_tools.PLAN_TOOLS), ("memory", internal_tools.MEMORY_TOOLS))
    for flag, table in groups:
        if _switch(flags, flag, True):
            for name, (description, params) in table.items():
                add(ToolSpec(name, "internal", description, params, name), f"internal_tools.{flag}")
    if _switch(flags, "finish", is_child) or config.output_schema is not None:
        description, params = internal_tools.finish_tool(config.output_schema)
        add(ToolSpec("finish", "internal", description, params, "finish"), "internal_tools.finish")
    on_demand = [s for s in config.skills or () if not s.preload]
    if on_demand and _switch(flags, "skills", True):
        description, params = internal_tools.skill_tool(on_demand)
        add(ToolSpec("skill_get", "internal", description, params, "skill_get"), "skills")
    for flag, (ref, description, arg) in CAPABILITY_APPS.items():
        value = None if flags is None else getattr(flags, flag)
        if not value or (isinstance(value, WireStruct) and not value.get("enabled", True)):
            continue
        app_ref = value.get("app_ref") if isinstance(value, WireStruct) else None
        params = {
            "type": "object",
            "properties": {arg: {"type": "string", "description": arg.capitalize()}},
            "required": [arg],
        }
        add(
            ToolSpec(
                flag, "app", description, params, flag, config=AppToolConfig(ref=app_ref or ref)
            ),
            f"internal_tools.{flag}",
        )
    return specs


def _switch(flags: Any, name: str, default: bool) -> bool:
    """An ``internal_tools`` switch: its value when set, else ``default``."""
    value = None if flags is None else getattr(flags, name)
    return default if value is None else bool(value)


AppSchemaLookup = Callable[[str, str | None], Awaitable[dict[str, Any]]]
"""``await lookup(ref, function)``: the input schema of an app function (raises when unknown)."""


async def with_app_schemas(
    specs: dict[str, ToolSpec], lookup: AppSchemaLookup
) -> dict[str, ToolSpec]:
    """``specs`` with each app tool declared without params offered its app's input schema
    (the tool's ``function`` if set), presets left out of ``required`` and ``session`` kept.

    A schema that cannot be had (the app fails to load, the ref names nothing) leaves the
    tool's empty schema, and the reason is logged: the call itself will then fail clearly.
    """
    wanted = [spec for spec in specs.values() if spec.schema_from_app]
    if not wanted:
        return specs

    async def fetch(spec: ToolSpec) -> dict[str, Any] | None:
        ref = str(spec.config["ref"])
        function = spec.config.get("function")
        try:
            return await lookup(ref, str(function) if function else None)
        except Exception as exc:  # noqa: BLE001 - logged; the tool keeps the empty schema
            _log.warning(
                "app tool %r is offered an empty schema: the input schema of %s could not be "
                "read: %s",
                spec.name,
                ref + (f" (function {function!r})" if function else ""),
                exc,
            )
            return None

    schemas = await asyncio.gather(*(fetch(spec) for spec in wanted))
    result = dict(specs)
    for spec, schema in zip(wanted, schemas, strict=True):
        if schema is not None:
            result[spec.name] = dataclasses.replace(
                spec, parameters=_app_params(schema, spec.config), schema_from_app=False
            )
    return result


def _app_params(schema: dict[str, Any], section: WireStruct) -> dict[str, Any]:
    """An app tool's parameters: preset inputs are not required; ``session`` when enabled."""
    params = _without_required(schema, set((section.get("input") or {}).keys()))
    if section.get("session_enabled"):
        params = _with_session(params)
    return params


_SESSION_PARAM = {
    "type": "string",
    "description": (
        'Keep the app warm between calls: "new" starts a session, the session_id an earlier '
        "call returned continues it; leave it out for a one-off call"
    ),
}


def _with_session(schema: dict[str, Any]) -> dict[str, Any]:
    """A ``session_enabled`` app tool offers the model its optional ``session`` argument."""
    props = schema.get("properties")
    if not isinstance(props, dict) or "session" in props:
        return schema
    return {**schema, "properties": {**props, "session": _SESSION_PARAM}}


def _without_required(schema: dict[str, Any], preset: set[str]) -> dict[str, Any]:
    if not preset or not isinstance(schema.get("required"), list):
        return schema
    return {**schema, "required": [k for k in schema["required"] if k not in preset]}


def parse_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments (object or JSON string; ``""``/``"{}"``/``null`` mean none)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ToolFailure(f"the arguments are not valid JSON ({exc}): {raw[:200]}") from exc
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
    raise ToolFailure(f"the arguments must be a JSON object, got {raw!r:.200}")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# -- execution by type ----------------------------------------------------------------------


async def execute(
    runtime: AgentRuntime,
    live: LiveChat,
    invocation: InvocationRecord,
    spec: ToolSpec,
    args: dict[str, Any],
) -> None:
    """Run an ``in_progress`` invocation to a terminal status (or to ``awaiting_input``, then on).

    Failures end the invocation ``failed`` with the reason as its result, for the model to read.
    """
    hub = runtime.hub
    try:
        if spec.type == "client":
            hub.update_invocation(live, invocation, status="awaiting_input")
            runtime.refresh_chat_status(live)
            await runtime.wait_resolved(invocation, ("awaiting_input",))
            return
        if spec.type == "internal":
            ctx = internal_tools.InternalContext(hub, live, runtime.http)
            result, data = await internal_tools.HANDLERS[spec.name](ctx, args)
            hub.update_invocation(live, invocation, status="completed", result=result, data=data)
            return
        if spec.type == "app":
            result, data = await _run_app(runtime, live, invocation, spec, args)
        elif spec.type == "agent":
            result, data = await runtime.run_sub_agent(live, invocation, spec, args)
        elif spec.type == "hook":
            await _call_hook(runtime, live, invocation, spec, args)
            return
        elif spec.type == "mcp":
            result, data = await call_mcp_tool(runtime.mcp, spec, args)
        else:
            result, data = await _call_http(runtime, live, spec, args)
        hub.update_invocation(live, invocation, status="completed", result=result, data=data)
    except ToolFailure as exc:
        hub.update_invocation(live, invocation, status="failed", result=f"Error: {exc}")
    except TaskError as exc:
        hub.update_invocation(live, invocation, status="failed", result=f"Error: {exc}")


async def _run_app(
    runtime: AgentRuntime,
    live: LiveChat,
    invocation: InvocationRecord,
    spec: ToolSpec,
    args: dict[str, Any],
) -> tuple[str, Any]:
    section = spec.config
    ref = str(section["ref"])
    body: dict[str, Any] = {"app": ref, "input": {**(section.get("input") or {}), **args}}
    if section.get("setup"):
        body["setup"] = section["setup"]
    if section.get("function"):
        body["function"] = section["function"]
    if section.get("session_enabled") and "session" in body["input"]:
        body["session"] = body["input"].pop("session")

    async def created(task_id: str) -> None:
        runtime.hub.update_invocation(live, invocation, execution_id=task_id)

    try:
        task = await runtime.runner.run(body, on_created=created)
    except TaskError as exc:
        task_id = exc.task.get("id") or invocation.execution_id or "?"
        raise ToolFailure(f"Task {task_id} {ref} failed: {exc}") from exc
    output = task.get("output")
    extra = f" (session_id: {task['session_id']})" if task.get("session_id") else ""
    app = task.get("app") or ref  # the local app the platform resolved the ref to
    return (f"Task {task['id']} {app} completed with output: {json.dumps(output)}{extra}", output)


def _secret(name: str | None) -> str | None:
    return os.environ.get(name) if name else None


async def _call_hook(
    runtime: AgentRuntime,
    live: LiveChat,
    invocation: InvocationRecord,
    spec: ToolSpec,
    args: dict[str, Any],
) -> None:
    section = spec.config
    chat = live.chat
    payload = {
        "tool_invocation_id": invocation.id,
        "hook_name": spec.name,
        "chat_id": chat.id,
        "agent_id": chat.agent_id,
        "agent_version_id": chat.agent_version_id,
        "callback_url": f"{runtime.base_url}/tools/{invocation.id}",
        "callback_method": "POST",
        "timestamp": now_iso(),
        "arguments": args,
    }
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    secret_name = section.get("secret")
    secret = _secret(secret_name)
    if secret_name and secret is None:
        raise ToolFailure(
            f"webhook {spec.name!r} needs the secret {secret_name!r}: set it in the environment "
            "of the local platform"
        )
    if secret is not None:
        headers["X-Hook-Secret"] = secret
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Webhook-Signature"] = f"sha256={digest}"
    # Waiting for the callback starts before the POST, so a fast callback is never missed.
    runtime.hub.update_invocation(live, invocation, _hook_sent=True)
    try:
        response = await runtime.http.post(
            str(section["url"]), content=body, headers=headers, timeout=30.0
        )
    except httpx.HTTPError as exc:
        raise ToolFailure(f"webhook {spec.name!r} at {section['url']} failed: {exc}") from exc
    if response.status_code >= 400:
        raise ToolFailure(
            f"webhook {spec.name!r} answered HTTP {response.status_code}: {response.text[:500]}"
        )
    reply: Any = None
    if response.content:
        try:
            reply = response.json()
        except ValueError:
            reply = None
    if isinstance(reply, dict) and reply.get("success") is False:
        raise ToolFailure(f"webhook {spec.name!r} refused: {reply.get('message') or reply}")
    if invocation.status != "in_progress":
        return  # the callback already arrived while the POST was answered
    if isinstance(reply, dict) and "result" in reply:
        runtime.hub.update_invocation(
            live, invocation, status="completed", result=_text(reply["result"])
        )
        return
    runtime.hub.update_invocation(live, invocation, status="awaiting_input")
    await runtime.wait_resolved(invocation, ("awaiting_input",))


_CONTEXT_REF = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
_SECRET_REF = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")


def _query(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as query parameters: a list repeats its key, an object (or an object in a
    list) goes as its JSON text, never as a Python repr, and a missing value is left out."""

    def value(item: Any) -> Any:
        return json.dumps(item) if isinstance(item, dict) else item

    return {
        key: [value(v) for v in item] if isinstance(item, list) else value(item)
        for key, item in args.items()
        if item is not None
    }


async def _call_http(
    runtime: AgentRuntime, live: LiveChat, spec: ToolSpec, args: dict[str, Any]
) -> tuple[str, Any]:
    section = spec.config
    context = live.chat.context or {}
    url = _CONTEXT_REF.sub(lambda m: str(context.get(m.group(1), "")), str(section["url"]))
    method = str(section.get("method") or "POST").upper()
    headers = {
        key: _SECRET_REF.sub(lambda m: os.environ.get(m.group(1), ""), str(value))
        for key, value in (section.get("headers") or {}).items()
    }
    auth = section.get("auth") or {}
    kind = auth.get("type") or "none"
    if kind not in ("none", "api_key", "bearer"):
        # credential/integration auth injects a connected account's token server-side; there
        # are no connected accounts here, and calling without it would fail in a misleading way.
        raise ToolFailure(
            f"http tool {spec.name!r} authenticates with {kind!r} (a connected account), which "
            "the local platform does not have; use auth type 'api_key' or 'bearer' with a secret"
        )
    if kind in ("api_key", "bearer"):
        value = _secret(auth.get("secret"))
        if value is None:
            raise ToolFailure(f"http tool {spec.name!r} needs the secret {auth.get('secret')!r}")
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        else:
            headers[str(auth.get("header") or "X-API-Key")] = value
    try:
        if method in ("GET", "DELETE"):
            response = await runtime.http.request(
                method, url, params=_query(args), headers=headers, timeout=30.0
            )
        else:
            response = await runtime.http.request(
                method, url, json=args, headers=headers, timeout=30.0
            )
    except httpx.HTTPError as exc:
        raise ToolFailure(f"{method} {url} failed: {exc}") from exc
    if response.status_code >= 400:
        raise ToolFailure(
            f"{method} {url} answered HTTP {response.status_code}: {response.text[:500]}"
        )
    return (response.text, None)

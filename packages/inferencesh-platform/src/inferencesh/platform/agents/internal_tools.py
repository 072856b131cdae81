"""The built-in tools: ``plan_*``, ``memory_*``, ``finish`` and ``skill_get``.

They work on chat-scoped state kept in ``chat.agent_data`` (plan steps, memory) and on the chat's
skills. Each handler returns ``(result_text, data)``; raising :class:`ToolFailure` fails the
invocation with that message (the model sees it and can try again).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin

import httpx
import msgspec
from inferencesh.core.chat import ChatData, PlanStep
from inferencesh.core.requests import SkillConfig

from .hub import ChatHub, LiveChat

PLAN_STATUSES = ("pending", "in_progress", "completed", "cancelled")
FINISH_STATUSES = ("succeeded", "failed", "cancelled")


class ToolFailure(Exception):
    """A tool call that cannot be carried out; the message becomes the tool result."""


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_PLAN_STEP = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "Short name of the step"},
        "description": {"type": "string", "description": "What the step does"},
    },
    "required": ["title"],
}

PLAN_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "plan_create": (
        "Create (or replace) the plan for this task as an ordered list of steps.",
        _obj(
            {"steps": {"type": "array", "items": _PLAN_STEP, "description": "The steps"}}, ["steps"]
        ),
    ),
    "plan_update": (
        "Update one plan step: its status (pending, in_progress, completed, cancelled) and notes.",
        _obj(
            {
                "index": {"type": "integer", "description": "Step index, from 0"},
                "status": {"type": "string", "enum": list(PLAN_STATUSES)},
                "notes": {"type": "string", "description": "Notes on the step"},
            },
            ["index"],
        ),
    ),
    "plan_load": ("Read the current plan with each step's status.", _obj({}, [])),
}

MEMORY_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "memory_set": (
        "Remember a value under a key for the rest of this chat.",
        _obj(
            {
                "key": {"type": "string", "description": "Name of the memory"},
                "value": {"type": "string", "description": "Value to remember"},
            },
            ["key", "value"],
        ),
    ),
    "memory_get": (
        "Recall the value stored under a key.",
        _obj({"key": {"type": "string", "description": "Name of the memory"}}, ["key"]),
    ),
    "memory_getall": ("Recall every stored key and value.", _obj({}, [])),
}


def finish_tool(output_schema: Any) -> tuple[str, dict[str, Any]]:
    """The ``finish`` tool; with an output schema its parameters are that schema."""
    if isinstance(output_schema, dict) and output_schema.get("type") == "object":
        return ("Finish the task and return the result in the required shape.", output_schema)
    return (
        "Finish the task: report the status and the final result.",
        _obj(
            {
                "status": {"type": "string", "enum": list(FINISH_STATUSES)},
                "result": {"type": "string", "description": "The final result"},
            },
            ["result"],
        ),
    )


def skill_tool(skills: list[SkillConfig]) -> tuple[str, dict[str, Any]]:
    """The ``skill_get`` tool, listing the skills it can load."""
    listing = "\n".join(f"- {s.name}: {s.description or ''}".rstrip() for s in skills)
    return (
        "Load the full content of a skill (reusable instructions). Available skills:\n" + listing,
        _obj(
            {
                "skill": {"type": "string", "enum": [s.name for s in skills]},
                "path": {"type": "string", "description": "A file inside the skill (optional)"},
            },
            ["skill"],
        ),
    )


Handler = Callable[["InternalContext", dict[str, Any]], Awaitable[tuple[str, Any]]]


class InternalContext:
    """What an internal tool may touch: its chat and the hub that stores it."""

    def __init__(self, hub: ChatHub, live: LiveChat, http: httpx.AsyncClient) -> None:
        self.hub = hub
        self.live = live
        self.http = http

    @property
    def data(self) -> ChatData:
        """The chat's agent state (read it; change a copy and :meth:`save` that)."""
        return self.live.chat.agent_data

    def save(self, **changes: Any) -> None:
        """Save the agent state with ``changes`` (``plan_steps=...``, ``memory=...``)."""
        self.hub.update_chat(self.live, agent_data=msgspec.structs.replace(self.data, **changes))


def _str_arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise ToolFailure(f"argument {name!r} must be a non-empty string, got {value!r}")
    return value


async def _plan_create(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    steps = args.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ToolFailure("argument 'steps' must be a non-empty list of {title, description}")
    plan = []
    for index, step in enumerate(steps):
        if isinstance(step, str):
            step = {"title": step}
        if not isinstance(step, dict) or not step.get("title"):
            raise ToolFailure(f"steps[{index}] needs a title")
        plan.append(
            PlanStep(
                index=index,
                title=str(step["title"]),
                description=str(step.get("description") or ""),
                notes="",
                status="pending",
            )
        )
    ctx.save(plan_steps=plan)
    return (f"Plan created with {len(plan)} steps.", plan)


async def _plan_update(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    plan = list(ctx.data.plan_steps or [])
    index = args.get("index")
    if not isinstance(index, int) or not 0 <= index < len(plan):
        raise ToolFailure(f"no plan step {index!r}; the plan has {len(plan)} steps (from 0)")
    status = args.get("status")
    if status is not None and status not in PLAN_STATUSES:
        raise ToolFailure(f"status must be one of {', '.join(PLAN_STATUSES)}, got {status!r}")
    step = plan[index]
    if status is not None:
        step = msgspec.structs.replace(step, status=status)
    if args.get("notes") is not None:
        step = msgspec.structs.replace(step, notes=str(args["notes"]))
    plan[index] = step
    ctx.save(plan_steps=plan)
    return (f"Step {index} is {step.status}.", step)


async def _plan_load(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    plan = ctx.data.plan_steps or []
    return (json.dumps(msgspec.to_builtins(plan)) if plan else "No plan yet.", plan)


async def _memory_set(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    key = _str_arg(args, "key")
    ctx.save(memory={**(ctx.data.memory or {}), key: args.get("value")})
    return (f"Stored {key}.", {key: args.get("value")})


async def _memory_get(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    key = _str_arg(args, "key")
    memory = ctx.data.memory or {}
    if key not in memory:
        raise ToolFailure(f"nothing stored under {key!r}; stored keys: {sorted(memory) or 'none'}")
    value = memory[key]
    return (value if isinstance(value, str) else json.dumps(value), value)


async def _memory_getall(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    memory = ctx.data.memory or {}
    return (json.dumps(memory), memory)


async def _finish(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    config = ctx.live.chat._config
    schema = config.output_schema if config is not None else None
    if isinstance(schema, dict) and schema.get("type") == "object":
        missing = [k for k in schema.get("required") or [] if k not in args]
        if missing:
            raise ToolFailure(f"finish is missing required fields: {', '.join(missing)}")
        output: Any = args
        status = "succeeded"
    else:
        status = str(args.get("status") or "succeeded")
        if status not in FINISH_STATUSES:
            raise ToolFailure(f"status must be one of {', '.join(FINISH_STATUSES)}, got {status!r}")
        output = args.get("result")
    ctx.hub.update_chat(ctx.live, output=output, _finished=status)
    text = output if isinstance(output, str) else json.dumps(output)
    return (text, {"status": status, "result": output})


async def _skill_get(ctx: InternalContext, args: dict[str, Any]) -> tuple[str, Any]:
    name = _str_arg(args, "skill")
    config = ctx.live.chat._config
    skills = {s.name: s for s in (config.skills if config is not None else None) or ()}
    skill = skills.get(name)
    if skill is None:
        raise ToolFailure(f"no skill {name!r}; available: {', '.join(map(str, skills)) or 'none'}")
    path = args.get("path")
    if skill.content is not None and not path:
        return (skill.content, None)
    url = skill.url
    if not url:
        raise ToolFailure(f"skill {name!r} has inline content only; it has no file {path!r}")
    target = urljoin(str(url), str(path)) if path else str(url)
    return (await fetch_skill(ctx.hub, ctx.live, ctx.http, name, target), None)


async def fetch_skill(
    hub: ChatHub, live: LiveChat, http: httpx.AsyncClient, name: str, url: str
) -> str:
    """A skill file's text, fetched once per chat (kept in its ``_skill_cache``)."""
    cache = dict(live.chat._skill_cache or {})
    if url not in cache:
        try:
            response = await http.get(url, timeout=30.0, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ToolFailure(f"could not fetch skill {name!r} from {url}: {exc}") from exc
        if response.status_code >= 400:
            raise ToolFailure(
                f"could not fetch skill {name!r} from {url}: HTTP {response.status_code}"
            )
        cache[url] = response.text
        hub.update_chat(live, _skill_cache=cache)
    return cache[url]


# GET /agents/internal-tools: the groups an agent's internal_tools switches turn on or off.
CATALOGUE: list[dict[str, Any]] = [
    {
        "id": "plan",
        "name": "Planning",
        "description": "Make a plan of steps and track each step's status in the chat.",
        "tools": list(PLAN_TOOLS),
        "scope": "all",
    },
    {
        "id": "memory",
        "name": "Memory",
        "description": "Remember values by key for the rest of the chat.",
        "tools": list(MEMORY_TOOLS),
        "scope": "all",
    },
    {
        "id": "finish",
        "name": "Finish",
        "description": "End the task with a status and a result (the chat's output).",
        "tools": ["finish"],
        "scope": "sub_agent",
    },
    {
        "id": "skills",
        "name": "Skills",
        "description": "Load the agent's on-demand skills by name.",
        "tools": ["skill_get"],
        "scope": "all",
    },
]


HANDLERS: dict[str, Handler] = {
    "plan_create": _plan_create,
    "plan_update": _plan_update,
    "plan_load": _plan_load,
    "memory_set": _memory_set,
    "memory_get": _memory_get,
    "memory_getall": _memory_getall,
    "finish": _finish,
    "skill_get": _skill_get,
}

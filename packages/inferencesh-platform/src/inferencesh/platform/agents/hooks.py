"""Lifecycle hooks in the local agent loop (``LifecycleHookConfig``, platform-protocol §5.6).

An agent's ``hooks`` fire at the events the loop passes through: ``agent.start`` (a run's first
model call), ``agent.turn_start`` (before each model call), ``agent.tool_call`` (before each
tool call), ``agent.tool_result`` (after it), ``agent.turn_complete`` (after a model call's
tools ran), ``agent.complete`` (the run ended well), ``agent.error`` (it failed) and
``agent.idle`` (the chat is idle again). ``agent.pre_compact``/``post_compact`` never fire:
the local loop does not compact context.

Each hook gets a ``LifecycleHookPayload`` (``event, timestamp, agent_id, chat_id, run_id,
turn_count, data``). A ``webhook`` hook is POSTed it as JSON (signed like webhook tools, with
``X-Hook-Secret`` and ``X-Webhook-Signature: sha256=...``, when the hook names a ``secret`` or
``INFERENCESH_HOOK_SECRET`` is set); a ``task`` hook sends it as the message of a chat with the
agent it names, whose reply is read as JSON. The answer is a ``LifecycleHookResponse``; an
empty one allows.

At the gating events (``agent.tool_call``, ``agent.turn_start``) the first answer that is not
``allow`` decides: ``deny`` refuses the tool call (the model reads the hook's reason; the
invocation ends ``cancelled``) or the model call (the run fails), ``stop`` ends the run
(``cancelled``), ``suspend`` parks the tool call awaiting approval. A gating hook that fails
or times out (``timeout``, default 30 s) denies, with that reason. ``async`` hooks run in the
background and never gate. An answer's ``inject`` (``ContextInjection``) and ``system`` join
the system prompt of the next model call(s). ``builtin`` hooks (the cloud's ``belt:*``) and
``gate`` hooks away from a tool call have no local meaning: they are skipped and logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
from inferencesh.core.requests import AGENT_REF_PATTERN
from inferencesh.platform.ids import now_iso

from .internal_tools import ToolFailure

if TYPE_CHECKING:
    from .hub import InvocationRecord, LiveChat
    from .loop import AgentRuntime

__all__ = [
    "EVENTS",
    "GATING_EVENTS",
    "Hook",
    "HookRunner",
    "HookStop",
    "Outcome",
    "check_hooks",
    "injected_context",
]

_log = logging.getLogger("inferencesh.platform.agents.hooks")

EVENTS = (
    "agent.start",
    "agent.turn_start",
    "agent.tool_call",
    "agent.tool_result",
    "agent.turn_complete",
    "agent.error",
    "agent.complete",
    "agent.idle",
    "agent.pre_compact",
    "agent.post_compact",
)
GATING_EVENTS = frozenset({"agent.tool_call", "agent.turn_start"})
_TYPES = ("webhook", "task", "gate", "builtin")
_DECISIONS = ("allow", "deny", "stop", "suspend")
DEFAULT_TIMEOUT = 30
_MAX_TIMEOUT = 3600
_MAX_ANSWER = 1024 * 1024
_REF = re.compile(AGENT_REF_PATTERN)


class Hook(msgspec.Struct, kw_only=True, frozen=True):
    """One ``LifecycleHookConfig`` as the loop runs it."""

    event: str
    type: str
    handler: str = ""
    run_async: bool = msgspec.field(default=False, name="async")
    timeout: int | None = None
    default_resolution: str | None = None
    secret: str | None = None

    def label(self) -> str:
        """How messages name the hook."""
        return f"{self.type} hook {self.handler!r} on {self.event}"


def check_hooks(raw: list[dict[str, Any]], where: str) -> list[Hook]:
    """The hooks of an agent config, checked; ``ValueError`` says which one is wrong and why."""
    hooks: list[Hook] = []
    for index, item in enumerate(raw):
        at = f"{where}.hooks[{index}]"
        try:
            hook = msgspec.convert(item, Hook)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{at}: {exc}") from None
        if hook.event not in EVENTS:
            raise ValueError(f"{at}.event {hook.event!r} is not one of {', '.join(EVENTS)}")
        if hook.type not in _TYPES:
            raise ValueError(f"{at}.type {hook.type!r} is not one of {', '.join(_TYPES)}")
        if hook.type == "webhook" and not hook.handler.startswith(("http://", "https://")):
            raise ValueError(
                f"{at}.handler must be the webhook's http(s) URL, got {hook.handler!r}"
            )
        if hook.type == "task" and not _REF.match(hook.handler):
            raise ValueError(
                f"{at}.handler must name an agent ('namespace/name[@version]'), "
                f"got {hook.handler!r}"
            )
        if hook.timeout is not None and not 1 <= hook.timeout <= _MAX_TIMEOUT:
            raise ValueError(
                f"{at}.timeout must be 1 to {_MAX_TIMEOUT} seconds, got {hook.timeout}"
            )
        hooks.append(hook)
    return hooks


@dataclass
class Outcome:
    """What the hooks of one event decided (``allow`` unless one said otherwise)."""

    decision: str = "allow"
    reason: str = ""
    by: str = ""
    override: Any = None


class HookStop(Exception):
    """A hook ended the run: ``outcome`` is how the run ends (``cancelled`` or ``failed``)."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class _HookFailed(Exception):
    """A hook could not be asked or answered nonsense; the message says which and why."""


def _answer_of(text: str, hook: Hook) -> dict[str, Any]:
    text = text.strip()
    if not text:
        return {}
    try:
        answer = json.loads(text)
    except ValueError:
        raise _HookFailed(f"{hook.label()} answered no JSON: {text[:200]!r}") from None
    if answer is None:
        return {}
    if not isinstance(answer, dict):
        raise _HookFailed(f"{hook.label()} answered {answer!r:.200}, not a JSON object")
    decision = answer.get("decision")
    if decision not in (None, "", *_DECISIONS):
        raise _HookFailed(
            f"{hook.label()} answered the unknown decision {decision!r} "
            f"(one of {', '.join(_DECISIONS)})"
        )
    return answer


def _add_injection(runtime: AgentRuntime, live: LiveChat, answer: dict[str, Any]) -> None:
    """Keep an answer's ``inject`` / ``system`` for the next model call(s)."""
    found: list[dict[str, Any]] = []
    inject = answer.get("inject")
    if isinstance(inject, dict):
        parts = [str(inject.get("content") or "")]
        items = inject.get("items")
        if isinstance(items, list):
            parts += [f"- {item}" for item in items]
        ttl = inject.get("ttl_turns")
        found.append(
            {
                "content": "\n".join(p for p in parts if p),
                "ttl": ttl if isinstance(ttl, int) and ttl > 0 else 1,
                "key": inject.get("dedup_key") or None,
            }
        )
    if isinstance(answer.get("system"), str) and answer["system"]:
        found.append({"content": answer["system"], "ttl": 1, "key": None})
    found = [f for f in found if f["content"]]
    if not found:
        return
    kept = list(live.chat._injections or [])
    for item in found:
        if item["key"]:
            kept = [k for k in kept if k.get("key") != item["key"]]
        kept.append(item)
    runtime.hub.update_chat(live, _injections=kept)


def injected_context(runtime: AgentRuntime, live: LiveChat) -> str:
    """The hooks' injected context for the model call being built; each injection counts
    down one of its ``ttl_turns``."""
    kept = live.chat._injections or []
    if not kept:
        return ""
    text = "\n\n".join(str(k["content"]) for k in kept)
    left = [{**k, "ttl": k["ttl"] - 1} for k in kept if k["ttl"] > 1]
    runtime.hub.update_chat(live, _injections=left or None)
    return text


class HookRunner:
    """Fires an agent's hooks for one platform's agent runtime."""

    def __init__(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        self._background: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Cancel background (``async``) hooks still running."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _payload(self, live: LiveChat, event: str, data: Any) -> dict[str, Any]:
        chat = live.chat
        run = chat._run
        return {
            "event": event,
            "timestamp": now_iso(),
            "agent_id": chat.agent_id or "",
            "chat_id": chat.id,
            "run_id": run.id if run is not None else "",
            "turn_count": chat._steps,
            "data": data,
        }

    async def fire(self, live: LiveChat, event: str, data: Any = None) -> Outcome:
        """Run the hooks on ``event``; at a gating event, the first refusal decides."""
        config = live.chat._config
        hooks = (
            [h for h in check_hooks(config.hooks or [], "agent") if h.event == event]
            if (config is not None and config.hooks)
            else []
        )
        gating = event in GATING_EVENTS
        outcome = Outcome()
        for hook in hooks:
            if hook.type == "builtin" or (hook.type == "gate" and event != "agent.tool_call"):
                _log.info("%s skipped: it has no meaning on the local platform", hook.label())
                continue
            if hook.type == "gate":
                # A gate parks the call for a person to decide (approve or reject).
                return Outcome("suspend", f"held by the gate {hook.handler!r}", hook.label())
            payload = self._payload(live, event, data if data is not None else {})
            if hook.run_async:
                task = asyncio.ensure_future(self._background_ask(live, hook, payload))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                continue
            try:
                answer = await self._ask(live, hook, payload)
            except _HookFailed as exc:
                if gating:
                    return Outcome("deny", f"the hook failed (fail closed): {exc}", hook.label())
                _log.warning("%s", exc)
                continue
            _add_injection(self.runtime, live, answer)
            decision = answer.get("decision") or "allow"
            if gating and decision != "allow":
                return Outcome(decision, str(answer.get("reason") or ""), hook.label())
            if decision != "allow":
                _log.info("%s answered %r at a non-gating event: ignored", hook.label(), decision)
            if answer.get("override") is not None:
                outcome.override = answer["override"]
        return outcome

    async def _background_ask(self, live: LiveChat, hook: Hook, payload: dict[str, Any]) -> None:
        try:
            await self._ask(live, hook, payload)
        except _HookFailed as exc:
            _log.warning("async %s", exc)

    async def _ask(self, live: LiveChat, hook: Hook, payload: dict[str, Any]) -> dict[str, Any]:
        limit = hook.timeout or DEFAULT_TIMEOUT
        try:
            if hook.type == "task":
                text = await asyncio.wait_for(self._ask_agent(live, hook, payload), limit)
            else:
                text = await asyncio.wait_for(self._post(hook, payload, limit), limit)
        except asyncio.TimeoutError:
            raise _HookFailed(f"{hook.label()} did not answer within {limit} s") from None
        return _answer_of(text, hook)

    async def _post(self, hook: Hook, payload: dict[str, Any], limit: float) -> str:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        secret_name = hook.secret or (
            "INFERENCESH_HOOK_SECRET" if os.environ.get("INFERENCESH_HOOK_SECRET") else None
        )
        if secret_name:
            secret = os.environ.get(secret_name)
            if secret is None:
                raise _HookFailed(
                    f"{hook.label()} needs the secret {secret_name!r}: set it in the environment "
                    "of the local platform"
                )
            headers["X-Hook-Secret"] = secret
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Webhook-Signature"] = f"sha256={digest}"
        try:
            response = await self.runtime.http.post(
                hook.handler, content=body, headers=headers, timeout=limit
            )
        except httpx.HTTPError as exc:
            raise _HookFailed(f"{hook.label()} could not be reached: {exc!r}") from None
        if response.status_code >= 400:
            raise _HookFailed(
                f"{hook.label()} answered HTTP {response.status_code}: {response.text[:300]}"
            )
        if len(response.content) > _MAX_ANSWER:
            raise _HookFailed(f"{hook.label()} answered more than {_MAX_ANSWER} bytes")
        return response.text

    async def _ask_agent(self, live: LiveChat, hook: Hook, payload: dict[str, Any]) -> str:
        try:
            return await self.runtime.run_hook_agent(live, hook.handler, json.dumps(payload))
        except ToolFailure as exc:
            raise _HookFailed(f"{hook.label()} failed: {exc}") from None

    # -- the loop's gating points -------------------------------------------------------------

    async def gate_turn(self, live: LiveChat) -> None:
        """``agent.turn_start`` (and ``agent.start`` on a run's first model call); raises
        :class:`HookStop` when a hook refuses the model call."""
        if live.chat._steps == 0:
            await self.fire(live, "agent.start", {})
        outcome = await self.fire(live, "agent.turn_start", {})
        if outcome.decision == "allow":
            return
        why = f"{outcome.by} answered {outcome.decision}" + (
            f": {outcome.reason}" if outcome.reason else ""
        )
        if outcome.decision == "deny":
            raise HookStop(f"the model call was denied by {why}", "failed")
        raise HookStop(f"the run was stopped by {why}", "cancelled")

    async def gate_tool_call(
        self, live: LiveChat, invocation: InvocationRecord, args: dict[str, Any]
    ) -> dict[str, Any] | None:
        """``agent.tool_call`` for a pending call: the arguments to run it with, or ``None``
        when a hook refused it (the invocation is then cancelled with the reason, or parked
        awaiting approval on ``suspend``); raises :class:`HookStop` on ``stop``."""
        hub = self.runtime.hub
        name = invocation.function.name
        outcome = await self.fire(live, "agent.tool_call", {"tool": name, "arguments": args})
        decision = outcome.decision
        reason = f": {outcome.reason}" if outcome.reason else ""
        if decision == "allow":
            return outcome.override if isinstance(outcome.override, dict) else args
        if decision == "suspend":
            hub.update_invocation(live, invocation, status="awaiting_approval")
            self.runtime.refresh_chat_status(live)
            return args
        result = f"Denied by the lifecycle hook ({outcome.by}){reason}"
        if decision == "stop":
            result = f"Stopped by the lifecycle hook ({outcome.by}){reason}"
        hub.update_invocation(live, invocation, status="cancelled", result=result)
        if decision == "stop":
            raise HookStop(f"the run was stopped at tool {name!r}: {result}", "cancelled")
        return None

    async def tool_done(self, live: LiveChat, invocation: InvocationRecord) -> None:
        """``agent.tool_result`` once a call ended."""
        data = {
            "tool": invocation.function.name,
            "status": invocation.status,
            "result": invocation.result or "",
        }
        await self.fire(live, "agent.tool_result", data)

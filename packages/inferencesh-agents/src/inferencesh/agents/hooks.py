"""Lifecycle hooks: code of yours the platform calls at points of an agent's run.

A hook is a ``LifecycleHookConfig`` in the agent config's ``hooks`` list: the ``event`` it
fires on (:class:`HookEvent`), how it is handled (:class:`HookHandlerType`: a ``webhook`` URL,
a ``task`` run by an agent, or a platform ``builtin``), whether it runs in the background
(``async``) and how long it may take (``timeout``, seconds). ``lifecycle_hook(event)`` builds
one; ``learning_hooks(...)`` builds the platform's learning pair.

The handler receives a :class:`LifecycleHookPayload` and may answer a
:class:`LifecycleHookResponse`: a :class:`HookDecision` (``allow``, ``deny``, ``stop``,
``suspend``) with a ``reason``, and a :class:`ContextInjection` for the next model call.

Example:
    >>> from inferencesh import HookEvent, lifecycle_hook
    >>> hook = lifecycle_hook(HookEvent.TOOL_CALL).webhook("https://hooks.example.com/gate")
    >>> hook.timeout(5).build()
    {'event': 'agent.tool_call', 'type': 'webhook', 'handler': 'https://hooks.example.com/gate', 'timeout': 5}
"""

from __future__ import annotations

import enum
import re
from typing import Any, TypedDict

from inferencesh.agents.params import ToolDefinitionError
from inferencesh.core.requests import AGENT_REF_PATTERN

__all__ = [
    "BuiltinHook",
    "ContextInjection",
    "ErrorEventData",
    "HookDecision",
    "HookEvent",
    "HookHandlerType",
    "InterruptResolution",
    "LifecycleHookBuilder",
    "LifecycleHookConfig",
    "LifecycleHookPayload",
    "LifecycleHookResponse",
    "ToolCallEventData",
    "ToolResultEventData",
    "learning_hooks",
    "lifecycle_hook",
]

_REF = re.compile(AGENT_REF_PATTERN)


class _StrEnum(str, enum.Enum):
    """A string enum whose members print and format as their values on every Python."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(str.__str__(self), spec)


class HookEvent(_StrEnum):
    """Where in an agent's run a hook fires."""

    AGENT_START = "agent.start"
    TURN_START = "agent.turn_start"
    TOOL_CALL = "agent.tool_call"
    TOOL_RESULT = "agent.tool_result"
    TURN_COMPLETE = "agent.turn_complete"
    AGENT_ERROR = "agent.error"
    AGENT_COMPLETE = "agent.complete"
    AGENT_IDLE = "agent.idle"
    PRE_COMPACT = "agent.pre_compact"
    POST_COMPACT = "agent.post_compact"


class HookHandlerType(_StrEnum):
    """What handles a hook: a webhook URL, a task (an agent), a gate, or a platform builtin."""

    HOOK_HANDLER_WEBHOOK = "webhook"
    HOOK_HANDLER_TASK = "task"
    HOOK_HANDLER_GATE = "gate"
    HOOK_HANDLER_BUILTIN = "builtin"


class HookDecision(_StrEnum):
    """A gating hook's answer: go on, refuse this step, end the run, or wait for a person."""

    ALLOW = "allow"
    DENY = "deny"
    STOP = "stop"
    SUSPEND = "suspend"


class InterruptResolution(_StrEnum):
    """How a parked gate resolves when nobody answers in time."""

    ALLOW = "allow"
    DENY = "deny"


class BuiltinHook(_StrEnum):
    """The platform's own hook handlers."""

    BELT_SUGGEST = "belt:suggest"
    BELT_EXTRACT = "belt:extract"


# ``async`` is a Python keyword, so this TypedDict is spelled in the functional form.
LifecycleHookConfig = TypedDict(
    "LifecycleHookConfig",
    {
        "event": HookEvent,
        "type": HookHandlerType,
        "handler": str,
        "async": bool,
        "timeout": int,
        "default_resolution": InterruptResolution,
    },
    total=False,
)
LifecycleHookConfig.__doc__ = (
    """One hook of an agent config (what ``lifecycle_hook(...).build()`` returns)."""
)


class LifecycleHookPayload(TypedDict, total=False):
    """What a hook handler receives: the event, where it happened, and the event's data."""

    event: HookEvent
    timestamp: str
    agent_id: str
    chat_id: str
    run_id: str
    turn_count: int
    data: Any


class ContextInjection(TypedDict, total=False):
    """Context a hook adds to the next model call(s): ``content`` (and ``items``, one line
    each) as ``role`` (default ``system``), for ``ttl_turns`` model calls (default 1); a later
    injection with the same ``dedup_key`` replaces it."""

    content: str
    role: str
    ttl_turns: int
    dedup_key: str
    items: list[str]


class LifecycleHookResponse(TypedDict, total=False):
    """A hook handler's answer (an empty reply means ``allow``)."""

    inject: ContextInjection | None
    decision: HookDecision
    reason: str
    override: Any
    system: str


class ToolCallEventData(TypedDict, total=False):
    """``data`` of an ``agent.tool_call`` payload: the tool about to run and its arguments."""

    tool: str
    arguments: dict[str, Any]


class ToolResultEventData(TypedDict, total=False):
    """``data`` of an ``agent.tool_result`` payload: the tool, how it ended and its result."""

    tool: str
    status: str
    result: str


class ErrorEventData(TypedDict, total=False):
    """``data`` of an ``agent.error`` payload."""

    error: str


class LifecycleHookBuilder:
    """Builds one ``LifecycleHookConfig``: pick the handler, then ``.build()``.

    Example:
        >>> from inferencesh import lifecycle_hook
        >>> lifecycle_hook("agent.turn_start").task("local/reviewer").async_().build()
        {'event': 'agent.turn_start', 'type': 'task', 'handler': 'local/reviewer', 'async': True}
    """

    def __init__(self, event: HookEvent | str) -> None:
        try:
            self._event = HookEvent(event)
        except ValueError:
            known = ", ".join(e.value for e in HookEvent)
            raise ToolDefinitionError(
                f"lifecycle_hook: unknown event {event!r}; use one of {known}"
            ) from None
        self._type: HookHandlerType | None = None
        self._handler = ""
        self._async: bool | None = None  # sent once set, True or False (as 0.36 does)
        self._timeout: int | None = None
        self._secret: str | None = None

    def webhook(self, url: str) -> LifecycleHookBuilder:
        """POST the payload to ``url``; its JSON reply is the hook's answer."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}).webhook(): the URL must start with "
                f"http:// or https://, got {url!r}"
            )
        return self._set(HookHandlerType.HOOK_HANDLER_WEBHOOK, url)

    def task(self, agent_ref: str) -> LifecycleHookBuilder:
        """Send the payload to the agent ``agent_ref``; its reply is the hook's answer."""
        if not isinstance(agent_ref, str) or not _REF.match(agent_ref):
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}).task(): expected an agent reference "
                f"'namespace/name[@version]', got {agent_ref!r}"
            )
        return self._set(HookHandlerType.HOOK_HANDLER_TASK, agent_ref)

    def builtin(self, name: BuiltinHook | str) -> LifecycleHookBuilder:
        """Use one of the platform's own handlers (:class:`BuiltinHook`)."""
        if not isinstance(name, str) or not name:
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}).builtin() takes a builtin's name, "
                f"got {name!r}"
            )
        return self._set(HookHandlerType.HOOK_HANDLER_BUILTIN, name)

    def _set(self, kind: HookHandlerType, handler: str) -> LifecycleHookBuilder:
        self._type = kind
        self._handler = str(handler)
        return self

    def async_(self, enabled: bool = True) -> LifecycleHookBuilder:
        """Run in the background: the run does not wait, and the answer never gates it."""
        self._async = bool(enabled)
        return self

    def timeout(self, seconds: int) -> LifecycleHookBuilder:
        """How long the handler may take (whole seconds, at least 1); a gating hook that
        takes longer denies."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}).timeout() takes whole seconds >= 1, "
                f"got {seconds!r}"
            )
        self._timeout = seconds
        return self

    def secret(self, key: str) -> LifecycleHookBuilder:
        """Sign each webhook call with the secret named ``key`` (as webhook tools are signed)."""
        if not isinstance(key, str) or not key:
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}).secret() takes a secret's key name"
            )
        self._secret = key
        return self

    def build(self) -> LifecycleHookConfig:
        """The hook's config, for the agent config's ``hooks`` list."""
        if self._type is None:
            raise ToolDefinitionError(
                f"lifecycle_hook({self._event.value!r}) has no handler: call .webhook(url), "
                ".task(agent_ref) or .builtin(name) before .build()"
            )
        config: dict[str, Any] = {
            "event": self._event.value,
            "type": self._type.value,
            "handler": self._handler,
        }
        if self._async is not None:
            config["async"] = self._async
        if self._timeout is not None:
            config["timeout"] = self._timeout
        if self._secret is not None:
            config["secret"] = self._secret
        return config  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"lifecycle_hook({self._event.value!r})"


def lifecycle_hook(event: HookEvent | str) -> LifecycleHookBuilder:
    """Start a hook on ``event`` (a :class:`HookEvent` or its value, such as
    ``"agent.tool_call"``); see :class:`LifecycleHookBuilder`."""
    return LifecycleHookBuilder(event)


def learning_hooks(suggest: bool = False, learn: bool = False) -> list[LifecycleHookConfig]:
    """The platform's learning hooks: ``suggest`` offers suggestions at each turn start,
    ``learn`` extracts learnings when the run completes and before context is compacted.

    They are builtins of the cloud platform; the local platform accepts and skips them.

    Example:
        >>> from inferencesh import learning_hooks
        >>> [hook["handler"] for hook in learning_hooks(suggest=True, learn=True)]
        ['belt:suggest', 'belt:extract', 'belt:extract']
    """
    hooks: list[LifecycleHookConfig] = []
    if suggest:
        hooks.append(lifecycle_hook(HookEvent.TURN_START).builtin(BuiltinHook.BELT_SUGGEST).build())
    if learn:
        for event in (HookEvent.AGENT_COMPLETE, HookEvent.PRE_COMPACT):
            hooks.append(lifecycle_hook(event).builtin(BuiltinHook.BELT_EXTRACT).build())
    return hooks

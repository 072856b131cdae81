"""The agent loop: one user message in, model calls and tool calls until the reply is done.

A turn (platform-protocol §5.3): store the user message and a ``pending`` assistant message, set
the chat ``busy``; build the core LLM app's input (system prompt with preloaded skills, earlier
messages with their tool calls and results, attachments, tools in function form, model
settings); run the core app as a task on this platform and stream its growing reply into the
assistant message; run every tool call of the reply in parallel (by type, see :mod:`.tool_calls`);
feed the results back as a new model call; stop when the model calls no tool or calls
``finish``, or when the step limit is reached. The loop's state is the stored records, so a turn
waiting on a person resumes after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import os
from collections.abc import AsyncIterator, Coroutine, Iterable
from pathlib import Path
from typing import Any

import httpx
import msgspec
from inferencesh.core.chat import (
    AgentRun,
    ChatMessage,
    ChatMessageContent,
    ToolCall,
    ToolCallFunction,
    ToolInvocation,
)
from inferencesh.core.requests import (
    AgentConfig,
    AgentMessageInput,
    AgentRunRequest,
    FileRef,
    convert_request,
)
from inferencesh.core.requests import (
    RequestError as BodyError,
)
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.ids import new_id

from . import wire
from .hooks import HookRunner, HookStop, check_hooks, injected_context
from .hub import (
    ACTIVE_CHAT_STATUSES,
    DROPPED,
    STREAM_QUEUE_LIMIT,
    TERMINAL_INVOCATION,
    ChatHub,
    InvocationRecord,
    LiveChat,
    MessageRecord,
)
from .internal_tools import ToolFailure, fetch_skill
from .mcp import MCPRegistry, with_mcp_schemas
from .model_deltas import ModelDeltas
from .records import LoopConfig
from .store import ChatStore
from .task_runner import TaskError, TaskRunner
from .templates import TemplateError, TemplateRegistry
from .tool_calls import (
    AppSchemaLookup,
    ConfigError,
    ToolSpec,
    collect_tools,
    execute,
    parse_arguments,
    with_app_schemas,
)

_log = logging.getLogger("inferencesh.platform.agents")

DEFAULT_MAX_STEPS = 20
"""Model calls per user message before the turn fails (``INFERENCESH_AGENT_MAX_STEPS``)."""
DEFAULT_MAX_STREAMS = 32
"""Chat streams open at once on one chat (``INFERENCESH_MAX_CHAT_STREAMS``); more get a 429."""

_SETTINGS_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "reasoning_effort",
    "reasoning_max_tokens",
)
_RESTARTED = "interrupted: the local platform restarted during this turn"
Json = dict[str, Any]


class RequestError(PlatformError):
    """A bad request to the agent routes; the platform's error handler answers it."""


def _hash(value: Any) -> str:
    plain = msgspec.to_builtins(value)
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _bad_body(exc: BodyError, root: str = "") -> RequestError:
    return RequestError(
        400, "invalid_request", f"{exc.location(root) or root or 'the body'} {exc.reason}"
    )


def normalize_config(raw: Any, where: str = "agent_config") -> LoopConfig:
    """An agent config (a request's ``agent_config`` or a template file) as the loop runs it.

    The config is decoded into the shared ``AgentConfig`` (its rules: tool names and types,
    refs, unique names ...); then the local platform's own rules: the LLM app is named by
    ``core_app.ref``, lifecycle hooks are well formed (see :mod:`.hooks`), skills give content
    or url.
    Model settings given at the top level (``temperature``, ...) become ``model_settings``.
    """
    if not isinstance(raw, dict):
        raise RequestError(400, "invalid_request", f"{where} must be an object")
    settings = {k: raw[k] for k in _SETTINGS_KEYS if k in raw}
    try:
        agent = convert_request(raw, AgentConfig)
        extra = convert_request(
            {k: raw[k] for k in ("model_settings", "permissions", "max_steps", "_ref") if k in raw},
            LoopConfig,
        )
    except BodyError as exc:
        raise _bad_body(exc, where) from None
    if settings:
        extra.model_settings = {**(extra.model_settings or {}), **settings}
    config = LoopConfig(
        **{n: getattr(agent, n) for n in AgentConfig.__struct_fields__ if n != "permissions"},
        model_settings=extra.model_settings,
        permissions=extra.permissions or agent.permissions,
        max_steps=extra.max_steps,
        _ref=extra._ref,
    )
    if config.core_app is None or not config.core_app.ref:
        raise RequestError(
            400,
            "invalid_request",
            f"{where}.core_app.ref must name the LLM app (e.g. local/scripted-model)",
        )
    try:
        check_hooks(config.hooks or [], where)
    except ValueError as exc:
        raise RequestError(400, "invalid_request", str(exc)) from None
    for index, skill in enumerate(config.skills or ()):
        if skill.content is None and not skill.url:
            # A skill_id alone names a skill in the cloud's store, which is not here.
            raise RequestError(
                400,
                "invalid_request",
                f"{where}.skills[{index}] ({skill.name}) needs content or url",
            )
    return config


def _check_context(config: LoopConfig, context: dict[str, str]) -> None:
    """The agent's required ``context`` fields (``ContextField``) must be given with the chat."""
    missing = [
        str(f.get("name"))
        for f in config.context or ()
        if f.get("required") and context.get(str(f.get("name"))) in (None, "")
    ]
    if missing:
        raise RequestError(
            400,
            "invalid_request",
            f"context is missing required field(s) {', '.join(missing)} of this agent",
        )


def _attachment_items(user_input: AgentMessageInput) -> list[ChatMessageContent]:
    """Message content items for the files sent with a user message, in every accepted form."""
    items: list[ChatMessageContent] = []

    def add(uri: str, content_type: str | None = None, filename: str | None = None) -> None:
        kind = content_type or ""
        if kind in ("", "application/octet-stream"):
            # Raw bytes upload as octet-stream; the name still tells an image from a document.
            guess = uri[5:].split(";", 1)[0] if uri.startswith("data:") else None
            kind = guess or mimetypes.guess_type(filename or uri.split("?", 1)[0])[0] or kind
        if kind.startswith("image/"):
            items.append(ChatMessageContent(type="image", image=uri))
        else:
            items.append(ChatMessageContent(type="file", file=uri))

    for ref in user_input.attachments or ():
        if isinstance(ref, FileRef):
            add(ref.uri, ref.content_type, ref.filename)
        else:
            add(ref)
    for uri in user_input.images or ():
        items.append(ChatMessageContent(type="image", image=uri))
    if user_input.image:
        items.append(ChatMessageContent(type="image", image=user_input.image))
    for uri in user_input.files or ():
        items.append(ChatMessageContent(type="file", file=uri))
    return items


def _message_text(message: MessageRecord, kind: str = "text") -> str:
    return "".join(c.text or "" for c in message.content if c.type == kind)


def _message_tool_calls(message: MessageRecord) -> list[ToolCall]:
    for item in message.content:
        if item.type == "tool" and item.tool_calls:
            return list(item.tool_calls)
    return []


class AgentRuntime:
    """Chats, turns and tool waits of one platform server."""

    def __init__(
        self,
        *,
        db_path: Path,
        base_url: str,
        api_key: str,
        agents_dirs: list[Path],
        max_steps: int | None = None,
        app_schema: AppSchemaLookup | None = None,
        mcp_servers: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Where app tools declared without params get the app's input schema (contract C5).
        self.app_schema = app_schema
        self.api_key = api_key
        self.db_path = db_path
        self.templates = TemplateRegistry(agents_dirs)
        self.mcp = MCPRegistry(mcp_servers, agents_dirs)
        self.hooks = HookRunner(self)
        env_steps = os.environ.get("INFERENCESH_AGENT_MAX_STEPS")
        self.max_steps = max_steps or (int(env_steps) if env_steps else DEFAULT_MAX_STEPS)
        env_streams = os.environ.get("INFERENCESH_MAX_CHAT_STREAMS")
        self.max_streams = int(env_streams) if env_streams else DEFAULT_MAX_STREAMS
        self._store: ChatStore | None = None
        self._hub: ChatHub | None = None
        self._runner: TaskRunner | None = None
        self._http: httpx.AsyncClient | None = None
        self._turns: dict[str, asyncio.Task[None]] = {}
        self._signals: dict[str, asyncio.Event] = {}

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def hub(self) -> ChatHub:
        if self._hub is None:
            raise RuntimeError("the agent runtime is not started")
        return self._hub

    @property
    def runner(self) -> TaskRunner:
        if self._runner is None:
            raise RuntimeError("the agent runtime is not started")
        return self._runner

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the agent runtime is not started")
        return self._http

    async def startup(self) -> None:
        """Open the store and pick up chats a previous server left mid-turn."""
        self._store = ChatStore(self.db_path)
        buffer = os.environ.get("INFERENCESH_CHAT_STREAM_BUFFER")
        self._hub = ChatHub(self._store, queue_limit=int(buffer) if buffer else STREAM_QUEUE_LIMIT)
        self._runner = TaskRunner(self.base_url, self.api_key)
        self._http = httpx.AsyncClient()
        for chat_id in self._store.chats_with_status("busy"):
            live = self.hub.get(chat_id)
            if live is not None:
                self._settle(live, "failed", _RESTARTED)
        for chat_id in self._store.chats_with_status("awaiting_input"):
            live = self.hub.get(chat_id)
            if live is not None:
                self._spawn_turn(live)

    async def shutdown(self) -> None:
        """Stop running turns without touching their records (a restart resumes or fails them)."""
        if self._runner is not None:
            self._runner.closing = True
        tasks = list(self._turns.values())
        self._turns.clear()
        await self.hooks.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.aclose()
        if self._runner is not None:
            await self._runner.close()
        if self._store is not None:
            self._store.close()

    # -- entry points used by the routes ------------------------------------------------

    def chat(self, chat_id: str) -> LiveChat:
        live = self.hub.get(chat_id)
        if live is None:
            raise RequestError(404, "not_found", f"chat {chat_id!r} not found")
        return live

    async def run(self, body: Any) -> tuple[LiveChat, MessageRecord, MessageRecord]:
        """``POST /agents/run``: start a turn; returns the chat and the two new messages.

        ``body`` (the request's JSON) is decoded into the shared ``AgentRunRequest``."""
        try:
            request = convert_request(body, AgentRunRequest)
        except BodyError as exc:
            raise _bad_body(exc) from None
        attachments = _attachment_items(request.input)
        config = self._config_from(request, body)
        if request.chat_id:
            live = self.chat(request.chat_id)
            if config is None:
                config = live.chat._config
            status = live.chat.status
            if status == "busy":
                raise RequestError(
                    409,
                    "conflict",
                    f"chat {request.chat_id} is busy with a turn; wait or stop it first",
                )
            if status == "awaiting_input":
                # A new message supersedes the tool calls still waiting.
                await self.stop(live.chat.id, reason="superseded by a new user message")
            self.hub.update_chat(live, _config=config)
        else:
            if config is None:
                raise RequestError(
                    400, "invalid_request", "give `agent` (a template ref) or `agent_config`"
                )
            _check_context(config, request.context or {})
            live = self._new_chat(config, context=request.context)
        user, assistant = self._start_turn(live, request.input.text or "", attachments)
        return live, user, assistant

    def _config_from(self, request: AgentRunRequest, body: dict[str, Any]) -> LoopConfig | None:
        if request.agent:
            try:
                raw = self.templates.resolve(request.agent)
            except TemplateError as exc:
                raise RequestError(404, "not_found", str(exc)) from exc
            config = normalize_config(raw, f"agent {request.agent}")
        elif request.agent_config is not None:
            # From the body itself: the loop also reads keys AgentConfig does not have.
            config = normalize_config(body["agent_config"])
            if request.agent_name and not config.name:
                config.name = request.agent_name
        else:
            return None
        try:
            collect_tools(config, is_child=False)
        except ConfigError as exc:
            raise RequestError(400, "invalid_request", str(exc)) from exc
        return config

    def _new_chat(
        self,
        config: LoopConfig,
        *,
        context: dict[str, str] | None = None,
        parent_id: str | None = None,
    ) -> LiveChat:
        identity = config._ref or config.name or _hash(config)
        return self.hub.create_chat(
            name=config.name or "",
            description=config.description or "",
            agent_id=f"agent_{_hash(identity)}",
            agent_version_id=f"agentver_{_hash(config)}",
            _config=config,
            context=context or None,
            parent_id=parent_id or None,
        )

    def _start_turn(
        self, live: LiveChat, text: str, attachments: list[ChatMessageContent]
    ) -> tuple[MessageRecord, MessageRecord]:
        content = [ChatMessageContent(type="text", text=text)] if text else []
        run_id = new_id("run_")
        user = self.hub.add_message(
            live, role="user", status="ready", content=content + attachments, agent_run_id=run_id
        )
        assistant = self.hub.add_message(
            live, role="assistant", status="pending", agent_run_id=run_id
        )
        run = AgentRun(id=run_id, user_message_id=user.id, state="working")
        self.hub.update_chat(live, status="busy", output=None, _steps=0, _finished=None, _run=run)
        self._spawn_turn(live)
        return user, assistant

    def _spawn_turn(self, live: LiveChat) -> None:
        chat_id = live.chat.id
        task = asyncio.get_running_loop().create_task(
            self._turn(live), name=f"agent-turn-{chat_id}"
        )
        self._turns[chat_id] = task

    async def stop(self, chat_id: str, *, reason: str = "stopped by the user") -> None:
        """``POST /chats/{id}/stop``: cancel the running turn; its message ends ``cancelled``."""
        live = self.chat(chat_id)
        task = self._turns.get(chat_id)
        if task is not None and not task.done():
            live.chat._stop_reason = reason
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif live.chat.status in ACTIVE_CHAT_STATUSES:
            self._settle(live, "cancelled", reason)

    # -- tool results and approvals ---------------------------------------------------------

    def _invocation(self, invocation_id: str) -> tuple[LiveChat, InvocationRecord]:
        found = self.hub.find_invocation(invocation_id)
        if found is None:
            raise RequestError(404, "not_found", f"tool invocation {invocation_id!r} not found")
        return found

    def _signal(self, invocation_id: str) -> None:
        event = self._signals.get(invocation_id)
        if event is not None:
            event.set()

    def submit_result(self, invocation_id: str, result: Any) -> ChatMessage:
        """``POST /tools/{id}``: a client tool's result, a webhook callback, or the outcome of a
        call awaiting approval (the caller decided and ran it, or refused it)."""
        live, invocation = self._invocation(invocation_id)
        if not isinstance(result, str):
            result = json.dumps(result)
        status = invocation.status
        if status == "awaiting_approval":
            self.hub.update_invocation(live, invocation, status="in_progress", _started=True)
        elif status == "in_progress" and invocation.type not in ("hook", "client"):
            raise RequestError(
                409, "conflict", f"tool invocation {invocation_id} is running on the platform"
            )
        elif status not in ("awaiting_input", "in_progress"):
            raise RequestError(
                409,
                "conflict",
                f"tool invocation {invocation_id} is {status}, not waiting for a result",
            )
        self.hub.update_invocation(live, invocation, status="completed", result=result)
        self._signal(invocation_id)
        self.refresh_chat_status(live)
        return self.hub.message_dto(live, live.message(invocation.chat_message_id))

    def approve(self, invocation_id: str) -> ToolInvocation:
        """``POST /tools/{id}/invoke``: run a call that waited for approval."""
        live, invocation = self._awaiting_approval(invocation_id)
        self.hub.update_invocation(live, invocation, status="in_progress")
        self._signal(invocation_id)
        self.refresh_chat_status(live)
        return self.hub.invocation_dto(invocation)

    def reject(self, invocation_id: str, reason: str | None) -> ToolInvocation:
        """``POST /tools/{id}/reject``: the call does not run; the model reads why."""
        live, invocation = self._awaiting_approval(invocation_id)
        why = f"Rejected by the user: {reason}" if reason else "Rejected by the user."
        self.hub.update_invocation(live, invocation, status="cancelled", result=why)
        self._signal(invocation_id)
        self.refresh_chat_status(live)
        return self.hub.invocation_dto(invocation)

    def always_allow(
        self, chat_id: str, invocation_id: str, tool_name: str | None
    ) -> ToolInvocation:
        """``POST /chats/{chat}/tools/{id}/always-allow``: approve, and skip approval for this
        tool for the rest of the chat."""
        live = self.chat(chat_id)
        found_live, invocation = self._invocation(invocation_id)
        if found_live is not live:
            raise RequestError(
                404, "not_found", f"tool invocation {invocation_id} is not in chat {chat_id}"
            )
        name = tool_name or invocation.function.name
        data = live.chat.agent_data
        allowed = list(data.always_allowed_tools or [])
        if name not in allowed:
            allowed.append(name)
        self.hub.update_chat(
            live, agent_data=msgspec.structs.replace(data, always_allowed_tools=allowed)
        )
        for other in list(live.invocations.values()):
            same = other is invocation or other.function.name == name
            if other.status == "awaiting_approval" and same:
                self.hub.update_invocation(live, other, status="in_progress")
                self._signal(other.id)
        self.refresh_chat_status(live)
        return self.hub.invocation_dto(invocation)

    def _awaiting_approval(self, invocation_id: str) -> tuple[LiveChat, InvocationRecord]:
        live, invocation = self._invocation(invocation_id)
        if invocation.status != "awaiting_approval":
            raise RequestError(
                409,
                "conflict",
                f"tool invocation {invocation_id} is {invocation.status}, not awaiting approval",
            )
        return live, invocation

    async def wait_resolved(self, invocation: InvocationRecord, statuses: tuple[str, ...]) -> None:
        """Wait until ``invocation`` leaves ``statuses`` (a route changes it and signals)."""
        event = self._signals.setdefault(invocation.id, asyncio.Event())
        try:
            while invocation.status in statuses:
                await event.wait()
                event.clear()
        finally:
            self._signals.pop(invocation.id, None)

    def refresh_chat_status(self, live: LiveChat) -> None:
        """``awaiting_input`` while any call waits on a person, ``busy`` otherwise (mid-turn)."""
        if live.chat.status not in ACTIVE_CHAT_STATUSES:
            return
        # Only a person can unblock these; a webhook waiting for its callback keeps the chat busy.
        waiting = [inv for inv in live.invocations.values() if _waits_on_client(inv)]
        target = "awaiting_input" if waiting else "busy"
        run = _run_state(live, "input_required" if waiting else "working")
        if waiting:
            # AgentRunDTO names what the run waits on (the first call still open).
            first = waiting[0]
            reason = "tool_approval" if first.status == "awaiting_approval" else "client_tool"
            run = msgspec.structs.replace(
                run,
                interrupt_reason=reason,
                interrupt_tool_id=first.id,
                tool_invocation_id=first.id,
            )
        if live.chat.status != target or live.chat._run != run:
            self.hub.update_chat(live, status=target, _run=run)

    # -- streaming ------------------------------------------------------------------------

    def open_stream(self, live: LiveChat) -> AsyncIterator[dict[str, Any]]:
        """``GET /chats/{id}/stream``: :meth:`events` that stay open between turns, or a 429
        when :attr:`max_streams` streams are open on the chat already."""
        if live.streams >= self.max_streams:
            raise RequestError(
                429,
                "too_many_streams",
                f"chat {live.chat.id} has {live.streams} streams open (at most "
                f"{self.max_streams}); close one first",
            )
        return self.events(live, follow=True)

    async def events(
        self, live: LiveChat, *, follow: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """The chat stream: every message, then the chat, then changes as they happen (token
        ``delta`` events included).

        With ``follow`` it stays open, idle or not, until the client leaves (heartbeats fill
        the silences) and carries every later turn; without, it ends once the chat is neither
        busy nor awaiting input. A reader that falls :data:`STREAM_QUEUE_LIMIT` events behind
        has its stream ended: it reconnects and reads a fresh snapshot.
        """
        queue = self.hub.subscribe(live)
        try:
            # One consistent picture, taken at once: the turn moves on while these are sent,
            # and its changes queue up behind them.
            snapshot = [
                wire.event("chat_messages", self.hub.message_dto(live, message))
                for message in live.messages
            ]
            snapshot.append(wire.event("chats", self.hub.chat_dto(live, with_messages=False)))
            snapshot += self.hub.catch_up(live)
            active = live.chat.status in ACTIVE_CHAT_STATUSES
            for event in snapshot:
                yield event
            if not active and not follow:
                return
            while True:
                event = await queue.get()
                if event is DROPPED:
                    return
                yield event
                if (
                    not follow
                    and event["event"] == "chats"
                    and event["data"]["status"] not in ACTIVE_CHAT_STATUSES
                ):
                    return
        finally:
            self.hub.unsubscribe(live, queue)

    # -- the turn -------------------------------------------------------------------------

    async def _turn(self, live: LiveChat) -> None:
        chat_id = live.chat.id
        try:
            await self._loop(live)
        except HookStop as exc:
            self._settle(live, exc.outcome, str(exc))
        except asyncio.CancelledError:
            if self._turns.get(chat_id) is not None:  # a stop, not a server shutdown
                reason = live.chat._stop_reason or "stopped by the user"
                live.chat._stop_reason = None
                self._settle(live, "cancelled", reason)
            raise
        except (TaskError, ToolFailure, ConfigError, RequestError) as exc:
            self._settle(live, "failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - the turn must end visibly, never hang busy
            _log.exception("agent turn of chat %s failed", chat_id)
            self._settle(live, "failed", f"internal error in the agent loop: {exc!r}")
        finally:
            if self._turns.get(chat_id) is asyncio.current_task():
                del self._turns[chat_id]
        await self._run_ended(live)

    async def _run_ended(self, live: LiveChat) -> None:
        """The hooks of a run's end: ``agent.complete`` or ``agent.error``, then ``agent.idle``."""
        run = live.chat._run
        if run is None or live.chat.status in ACTIVE_CHAT_STATUSES:
            return
        if run.state == "completed":
            await self.hooks.fire(live, "agent.complete", {"output": live.chat.output})
        elif run.state == "failed":
            await self.hooks.fire(live, "agent.error", {"error": run.error or ""})
        await self.hooks.fire(live, "agent.idle", {})

    def _head(self, live: LiveChat) -> MessageRecord:
        for message in reversed(live.messages):
            if message.role == "assistant":
                return message
        raise RuntimeError(f"chat {live.chat.id} has no assistant message")

    async def _loop(self, live: LiveChat) -> None:
        config = live.chat._config
        if config is None:
            raise ToolFailure(f"chat {live.chat.id} has no agent to run")
        specs = collect_tools(config, is_child=bool(live.chat.parent_id))
        if self.app_schema is not None:
            specs = await with_app_schemas(specs, self.app_schema)
        specs = await with_mcp_schemas(specs, self.mcp)
        while True:
            head = self._head(live)
            if not live.message_invocations(head.id):
                steps = live.chat._steps
                limit = config.max_steps or self.max_steps
                if steps >= limit:
                    raise ToolFailure(
                        f"turn limit reached: {limit} model calls without a final reply"
                    )
                await self.hooks.gate_turn(live)
                self.hub.update_chat(live, _steps=steps + 1)
                calls = await self._call_model(live, head, config, specs)
                if not calls:
                    await self.hooks.fire(live, "agent.turn_complete", {})
                    self._finish_turn(live, head)
                    return
                for call in calls:
                    function = call.get("function") or {}
                    name = str(function.get("name") or "")
                    spec = specs.get(name)
                    self.hub.add_invocation(
                        live,
                        head,
                        tool_invocation_id=str(call.get("id") or ""),
                        type=spec.type if spec else "internal",
                        display_name=spec.display_name if spec else name,
                        function=ToolCallFunction(name=name, arguments=_wire_arguments(function)),
                    )
            invocations = live.message_invocations(head.id)
            await _all_or_none(self._run_invocation(live, inv, specs) for inv in invocations)
            await self.hooks.fire(live, "agent.turn_complete", {})
            self.hub.update_message(live, head, status="ready")
            if live.chat._finished:
                self._finish_turn(live, None)
                return
            self.hub.add_message(live, role="assistant", status="pending")
            self.refresh_chat_status(live)

    def _finish_turn(self, live: LiveChat, head: MessageRecord | None) -> None:
        if head is not None:
            self.hub.update_message(live, head, status="ready")
        child = bool(live.chat.parent_id)
        run = _run_state(live, "completed")
        if live.chat.output is not None:
            # AgentRunDTO.output: the finish tool's result
            run = msgspec.structs.replace(run, output=live.chat.output)
        self.hub.update_chat(live, status="completed" if child else "idle", _run=run)

    def _settle(self, live: LiveChat, outcome: str, reason: str) -> None:
        """End a turn early: open calls and the pending message become ``outcome``."""
        for invocation in list(live.invocations.values()):
            if invocation.status not in TERMINAL_INVOCATION:
                self.hub.update_invocation(
                    live, invocation, status=outcome, result=f"Error: {reason}"
                )
                self._signal(invocation.id)
        for message in live.messages:
            if message.role == "assistant" and message.status == "pending":
                content = [
                    *message.content,
                    ChatMessageContent(type="text", text="", error=reason),
                ]
                self.hub.update_message(live, message, status=outcome, content=content)
        if live.chat.status in ACTIVE_CHAT_STATUSES:
            state = "canceled" if outcome == "cancelled" else "failed"
            run = msgspec.structs.replace(_run_state(live, state), error=reason)
            self.hub.update_chat(live, status="idle", _run=run)

    async def _run_invocation(
        self, live: LiveChat, invocation: InvocationRecord, specs: dict[str, ToolSpec]
    ) -> None:
        hub = self.hub
        if invocation.status in TERMINAL_INVOCATION:
            return
        name = invocation.function.name
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            hub.update_invocation(
                live,
                invocation,
                status="failed",
                result=f"Error: unknown tool {name!r}; tools: {known}",
            )
            return
        try:
            args = parse_arguments(invocation.function.arguments)
        except ToolFailure as exc:
            hub.update_invocation(live, invocation, status="failed", result=f"Error: {exc}")
            return
        if invocation.status == "pending":
            gated = await self.hooks.gate_tool_call(live, invocation, args)
            if gated is None:
                self.refresh_chat_status(live)
                return
            args = gated
        if invocation.status == "pending":
            allowed = live.chat.agent_data.always_allowed_tools or []
            config = live.chat._config
            permissions = (config.permissions if config is not None else None) or {}
            trusted = permissions.get("allow_all_tools") is True
            if spec.require_approval and name not in allowed and not trusted:
                hub.update_invocation(live, invocation, status="awaiting_approval")
                self.refresh_chat_status(live)
            else:
                hub.update_invocation(live, invocation, status="in_progress")
        if invocation.status == "awaiting_approval":
            await self.wait_resolved(invocation, ("awaiting_approval",))
            self.refresh_chat_status(live)
        if invocation.status == "awaiting_input":
            await self.wait_resolved(invocation, ("awaiting_input",))
        elif invocation.status == "in_progress" and not invocation._started:
            hub.update_invocation(live, invocation, _started=True)
            await execute(self, live, invocation, spec, args)
            await self.hooks.tool_done(live, invocation)
        elif invocation.status == "in_progress":
            hub.update_invocation(live, invocation, status="failed", result=f"Error: {_RESTARTED}")
        self.refresh_chat_status(live)

    # -- the model call -------------------------------------------------------------------

    async def _call_model(
        self, live: LiveChat, head: MessageRecord, config: LoopConfig, specs: dict[str, ToolSpec]
    ) -> list[Json]:
        core = config.core_app
        if core is None or not core.ref:
            raise ToolFailure("the agent names no LLM app (core_app.ref)")
        llm_input = await self._build_input(live, head, config, specs)
        body: dict[str, Any] = {"app": core.ref, "input": llm_input}
        if core.setup:
            body["setup"] = core.setup
        shown: dict[str, Any] = {}

        async def created(task_id: str) -> None:
            self.hub.update_message(live, head, task_id=task_id)

        # Token deltas go out before each snapshot of the message they grow.
        deltas = ModelDeltas(lambda delta: self.hub.publish_delta(live, head, delta))

        async def update(task: dict[str, Any]) -> None:
            output = task.get("output")
            if isinstance(output, dict):
                deltas.from_output(output)
                self._show_output(live, head, output, shown, persist=False)

        task = await self.runner.run(
            body, on_created=created, on_update=update, on_delta=deltas.from_event
        )
        raw = task.get("output")
        output: dict[str, Any] = raw if isinstance(raw, dict) else {}
        calls = output.get("tool_calls") or []
        if not isinstance(calls, list):
            raise ToolFailure(
                f"the core app returned tool_calls that are not a list: {calls!r:.200}"
            )
        # Every call needs its own id: results are matched to calls by it.
        seen: set[str] = set()
        unique: list[Json] = []
        for index, call in enumerate(c for c in calls if isinstance(c, dict)):
            call_id = str(call.get("id") or "")
            if not call_id or call_id in seen:
                call_id = f"call_{head.order}_{index}"
            seen.add(call_id)
            unique.append({**call, "id": call_id})
        if unique:
            output = {**output, "tool_calls": unique}
        deltas.finish(output)
        self._show_output(live, head, output, shown)
        return unique

    def _show_output(
        self,
        live: LiveChat,
        head: MessageRecord,
        output: dict[str, Any],
        shown: dict[str, Any],
        *,
        persist: bool = True,
    ) -> None:
        """Put the model's (cumulative) output into the assistant message if it changed.

        Streamed pieces (``persist=False``) are only published: rewriting the whole message to
        SQLite for each would cost bytes quadratic in the reply. The final call saves it.
        """
        content: list[ChatMessageContent] = []
        reasoning = output.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            content.append(ChatMessageContent(type="reasoning", text=reasoning))
        response = output.get("response")
        if isinstance(response, str) and response:
            content.append(ChatMessageContent(type="text", text=response))
        calls = output.get("tool_calls")
        if isinstance(calls, list) and calls:
            # Streamed calls may still be partial (no id, no name yet): shown in the wire shape.
            shaped = [_shown_call(c) for c in calls if isinstance(c, dict)]
            content.append(ChatMessageContent(type="tool", tool_calls=shaped))
        if content != shown.get("content"):
            shown["content"] = content
            shown["unsaved"] = not persist
            self.hub.update_message(live, head, content=content, persist=persist)
        elif persist and shown.pop("unsaved", False):
            self.hub.store.save_message(head)

    async def _system_prompt(self, live: LiveChat, config: LoopConfig) -> str:
        parts = [config.system_prompt or ""]
        for skill in config.skills or ():
            if not skill.preload:
                continue
            content = skill.content
            if content is None:
                content = await fetch_skill(self.hub, live, self.http, skill.name, str(skill.url))
            parts.append(f"# Skill: {skill.name}\n\n{content}")
        parts.append(injected_context(self, live))
        return "\n\n".join(p for p in parts if p)

    async def _build_input(
        self, live: LiveChat, head: MessageRecord, config: LoopConfig, specs: dict[str, ToolSpec]
    ) -> dict[str, Any]:
        entries: list[Json] = []
        for message in live.messages:
            if message is head:
                break
            if message.role == "user":
                entry: Json = {"role": "user", "text": _message_text(message)}
                images = [c.image for c in message.content if c.type == "image"]
                files = [c.file for c in message.content if c.type == "file"]
                if images:
                    entry["images"] = images
                if files:
                    entry["files"] = files
                entries.append(entry)
            elif message.role == "assistant":
                entries.extend(self._assistant_entries(live, message))
        if not entries:
            raise ToolFailure("nothing to send to the model: the chat has no user message")
        current = entries.pop()
        core_input = dict((config.core_app.input if config.core_app else None) or {})
        settings = {
            **(core_input.pop("model_settings", None) or {}),
            **(config.model_settings or {}),
        }
        llm: dict[str, Any] = {
            **core_input,
            "system_prompt": await self._system_prompt(live, config),
            "context": entries,
            **current,
        }
        if settings:
            llm["model_settings"] = settings
        if specs:
            llm["tools"] = [spec.function() for spec in specs.values()]
        return llm

    def _assistant_entries(self, live: LiveChat, message: MessageRecord) -> list[Json]:
        text = _message_text(message)
        calls = _message_tool_calls(message)
        if not text and not calls:
            return []
        entry: Json = {"role": "assistant", "text": text}
        reasoning = _message_text(message, "reasoning")
        if reasoning:
            entry["reasoning"] = reasoning
        results: list[Json] = []
        if calls:
            by_call = {inv.tool_invocation_id: inv for inv in live.message_invocations(message.id)}
            entry["tool_calls"] = [_wire_call(call) for call in calls]
            for call in calls:
                inv = by_call.get(call.id)
                result = inv.result if inv else None
                if result is None:
                    result = (
                        f"Error: the tool call ended {inv.status if inv else 'without a result'}"
                    )
                results.append({"role": "tool", "tool_call_id": call.id, "text": result})
        return [entry, *results]

    # -- sub-agents -----------------------------------------------------------------------

    async def run_hook_agent(self, live: LiveChat, ref: str, text: str) -> str:
        """A ``task`` lifecycle hook: a chat with the agent ``ref`` (its own hooks off) is sent
        ``text``; its reply's text is returned (``ToolFailure`` when the agent fails)."""
        try:
            config = normalize_config(self.templates.resolve(ref), f"agent {ref}")
        except (TemplateError, RequestError) as exc:
            raise ToolFailure(str(exc)) from exc
        config.hooks = None
        chat = self._new_chat(config, parent_id=live.chat.id, context=live.chat.context)
        self._start_turn(chat, text, [])
        try:
            await asyncio.shield(self._turns[chat.chat.id])
        except asyncio.CancelledError:
            await self.stop(chat.chat.id, reason="the hook's run was stopped")
            raise
        head = self._head(chat)
        if head.status != "ready":
            errors = [c.error for c in head.content if c.error]
            raise ToolFailure(f"hook agent {ref} {head.status}: {'; '.join(errors) or 'no reply'}")
        output = chat.chat.output
        if output is not None:
            return output if isinstance(output, str) else json.dumps(output)
        return _message_text(head)

    async def run_sub_agent(
        self, live: LiveChat, invocation: InvocationRecord, spec: ToolSpec, args: dict[str, Any]
    ) -> tuple[str, Any]:
        """An agent tool call: a child chat with the sub-agent; its result is the tool result."""
        ref = str(spec.config["ref"])
        try:
            config = normalize_config(self.templates.resolve(ref), f"agent {ref}")
        except (TemplateError, RequestError) as exc:
            raise ToolFailure(str(exc)) from exc
        if len(args) == 1 and isinstance(next(iter(args.values())), str):
            text = str(next(iter(args.values())))
        else:
            text = json.dumps(args)
        child = self._new_chat(config, parent_id=live.chat.id, context=live.chat.context)
        children = [*live.chat.children, child.chat.id]
        self.hub.update_chat(live, children=children)
        self.hub.update_invocation(live, invocation, execution_id=child.chat.id)
        self._start_turn(child, text, [])
        task = self._turns[child.chat.id]
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await self.stop(child.chat.id, reason="the parent chat was stopped")
            raise
        head = self._head(child)
        if head.status != "ready":
            errors = [c.error for c in head.content if c.error]
            raise ToolFailure(f"sub-agent {ref} {head.status}: {'; '.join(errors) or 'no reply'}")
        output = child.chat.output
        if output is not None:
            return (output if isinstance(output, str) else json.dumps(output), output)
        return (_message_text(head), None)


async def _all_or_none(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coros`` side by side; if one raises (or this is cancelled), cancel the rest.

    ``asyncio.gather`` would leave the siblings running unobserved (TaskGroup needs 3.11).
    """
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _wire_arguments(function: Json) -> dict[str, Any] | str:
    """Arguments travel as a JSON object (``StringEncodedMap``); a string that is not one is
    kept as it is, and any other value as its JSON text, so the failure it causes can be shown."""
    raw = function.get("arguments")
    try:
        return parse_arguments(raw)
    except ToolFailure:
        return raw if isinstance(raw, str) else json.dumps(raw)


def _waits_on_client(invocation: InvocationRecord) -> bool:
    status = invocation.status
    return status == "awaiting_approval" or (
        status == "awaiting_input" and invocation.type == "client"
    )


def _run_state(live: LiveChat, state: str) -> AgentRun:
    """The chat's run in ``state``; what it waited on is cleared (set again by the caller)."""
    run = live.chat._run or AgentRun(id=new_id("run_"))
    return msgspec.structs.replace(
        run, state=state, interrupt_reason=None, interrupt_tool_id=None, tool_invocation_id=None
    )


def _shown_call(call: Json) -> ToolCall:
    """A model's tool call as message content shows it (``ToolCall``)."""
    function = call.get("function")
    function = function if isinstance(function, dict) else {}
    return ToolCall(
        id=str(call.get("id") or ""),
        type="function",
        function=ToolCallFunction(
            name=str(function.get("name") or ""), arguments=_wire_arguments(function)
        ),
    )


def _wire_call(call: ToolCall) -> Json:
    arguments = call.function.arguments
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments or {})
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.function.name, "arguments": arguments},
    }

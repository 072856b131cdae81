"""``Agent`` and ``AsyncAgent``: chat with a template or ad-hoc agent through the core client.

Both run the same protocol procedures (``_protocol``) with the core client's effect drivers
(``inferencesh.core.protocol``), sync or async.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, TypeVar

from inferencesh.agents import _protocol as p
from inferencesh.agents._config import normalize_agent
from inferencesh.agents.errors import AgentError
from inferencesh.agents.responses import AgentDelta, AgentResponse, MessageUpdate, ToolCallInfo
from inferencesh.core import protocol
from inferencesh.core.chat import AgentConfig, Chat, ChatMessage
from inferencesh.core.protocol import Op, id_path
from inferencesh.core.reconnect import Reconnect, reconnect_options
from inferencesh.core.resources import AgentsAPI, AsyncAgentsAPI

if TYPE_CHECKING:
    from inferencesh.core.client import AsyncInference, Inference

__all__ = ["Agent", "Agents", "AsyncAgent", "AsyncAgents"]

_T = TypeVar("_T")
AgentSource = str | Mapping[str, Any] | AgentConfig
"""A template agent ref (``"ns/name@version"``) or an ad-hoc config (dict or ``AgentConfig``)."""
OnMessage = Callable[[MessageUpdate], Any]
OnToolCall = Callable[[ToolCallInfo], Any]
OnDelta = Callable[[AgentDelta], Any]


_IN_LOOP = (
    "an async callback or tool handler was given to the synchronous Agent inside a running "
    "event loop; use AsyncAgent (async_inference(...).agent(...)) instead"
)


_UNSET: Any = object()
_MAX_ATTACHMENTS = 20


def _either(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    """The argument given as ``name`` or as its 0.36 name ``alias``: exactly one."""
    if alias_value is _UNSET or alias_value is None:
        if value is _UNSET or value is None:
            raise TypeError(f"missing argument `{name}` (or its 0.36 name `{alias}`)")
        return value
    if value is not _UNSET and value is not None:
        raise TypeError(f"got both `{name}` and its 0.36 name `{alias}`; pass one")
    return alias_value


def _tool_attachments(attachments: Any) -> list[dict[str, Any]] | None:
    """0.36's tool-result attachments: FileRef dicts (``uri`` and optional ``id``,
    ``filename``, ``content_type``, ``size``), at most 20."""
    if not attachments:
        return None
    refs = list(attachments)
    if len(refs) > _MAX_ATTACHMENTS:
        raise AgentError(f"a tool result takes at most {_MAX_ATTACHMENTS} attachments")
    for ref in refs:
        if not isinstance(ref, Mapping) or not ref.get("uri"):
            raise AgentError(
                f"a tool result attachment is a FileRef dict with a `uri` (upload the file "
                f"first with agent.upload_file), not {ref!r:.200}"
            )
    return [dict(ref) for ref in refs]


def _no_channel_context(channel_context: Any) -> None:
    if channel_context is not None:
        warnings.warn(
            "send_message(channel_context=...) is ignored (as in the published SDK 0.36)",
            DeprecationWarning,
            stacklevel=3,
        )


def _upload_options(filename: str | None) -> Any:
    if filename is None:
        return None
    from inferencesh.core import UploadFileOptions

    return UploadFileOptions(filename=filename)


def _file_ref(uploaded: Any) -> dict[str, Any]:
    keys = ("id", "uri", "filename", "content_type", "size")
    return {key: getattr(uploaded, key) for key in keys if getattr(uploaded, key, None)}


class _AgentBase:
    """State and argument handling shared by ``Agent`` and ``AsyncAgent``."""

    def __init__(
        self,
        client: Any,
        config: AgentSource | None = None,
        context: Mapping[str, str] | None = None,
        *,
        options: AgentSource | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        config = _either("config", config, "options", options)
        self._client = client
        self._state = p.ChatState(normalize_agent(config, handlers))
        self._context = dict(context) if context else None
        self._reconnect = reconnect_options(max_reconnects=max_reconnects)

    def _watching(
        self, auto_reconnect: bool, max_reconnects: int | None, reconnect_delay_ms: float | None
    ) -> Reconnect:
        """The reconnect options of one ``stream_messages``/``stream_chat`` call."""
        if max_reconnects is None:
            max_reconnects = self._reconnect.max_reconnects
        return reconnect_options(auto_reconnect, max_reconnects, reconnect_delay_ms)

    @property
    def chat_id(self) -> str | None:
        """The current chat's id; ``None`` until the first message. Set it to continue a chat."""
        return self._state.chat_id

    @chat_id.setter
    def chat_id(self, chat_id: str | None) -> None:
        self._state.reset(chat_id)

    def reset(self) -> None:
        """Forget the conversation: the next message starts a new chat."""
        self._state.reset()

    def _send(
        self,
        text: str,
        files: p.Attachments,
        on_message: OnMessage | None,
        on_tool_call: OnToolCall | None,
        timeout: float | None,
        on_delta: OnDelta | None = None,
    ) -> Op[AgentResponse]:
        deadline = p.Deadline(timeout, "the agent's reply")
        context = self._context if self._state.chat_id is None else None
        callbacks = p.Callbacks(on_message, on_tool_call, on_delta)
        return p.send_message(
            self._state, text, files, callbacks, context, self._reconnect, deadline
        )

    def _wait(
        self,
        on_message: OnMessage | None,
        on_tool_call: OnToolCall | None,
        timeout: float | None,
        on_delta: OnDelta | None = None,
    ) -> Op[AgentResponse]:
        deadline = p.Deadline(timeout, "the agent's reply")
        callbacks = p.Callbacks(on_message, on_tool_call, on_delta)
        return p.follow_turn(self._state, callbacks, self._reconnect, deadline)

    def _chat_path(self, chat_id: str | None, suffix: str = "") -> str:
        chat_id = chat_id or self._state.chat_id
        if not chat_id:
            raise AgentError("no chat yet: send a message first")
        return id_path("/chats", chat_id, "chat_id", suffix)

    def __repr__(self) -> str:
        spec = self._state.spec
        what = spec.ref or (spec.config.name if spec.config else None) or "ad-hoc"
        return f"{type(self).__name__}({what!r}, chat_id={self.chat_id!r})"


class Agent(_AgentBase):
    """A conversation with an agent (synchronous). Create it with ``client.agent(...)``.

    ``config`` is a template agent ref (``"my-team/support@latest"``) or an ad-hoc config dict
    with ``core_app``, ``system_prompt``, ``tools``, ``internal_tools``, ``skills`` and model
    settings such as ``temperature`` and ``max_tokens``. ``handlers`` maps client tool names to
    functions run automatically (tools built with ``.handler(fn)`` bring their own).

    Example:
        A template agent keeps the conversation (here ``local/assistant``, an example agent of
        the local platform, whose scripted model answers from a script):

        >>> agent = client.agent("local/assistant")
        >>> print(agent.send_message("Hello!").text)
        Hello! You said: Hello!
        >>> print(agent.send_message("Tell me more").text)  # the same chat
        Earlier in this chat: user: Hello! | assistant: Hello! You said: Hello! | user: Tell me more
        >>> agent.reset()  # the next message starts a new chat
    """

    def __init__(
        self,
        client: Inference,
        config: AgentSource | None = None,
        context: Mapping[str, str] | None = None,
        *,
        options: AgentSource | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client,
            config,
            context,
            options=options,
            handlers=handlers,
            max_reconnects=max_reconnects,
        )

    def _run(self, proc: Op[_T]) -> _T:
        try:
            return protocol.run(self._client, proc)
        except protocol.AsyncCallbackInSyncError:
            raise AgentError(_IN_LOOP) from None

    def send_message(
        self,
        text: str,
        files: p.Attachments = None,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        on_delta: OnDelta | None = None,
        channel_context: Any = None,
        *,
        timeout: float | None = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply.

        The positions are the published SDK 0.36's; ``channel_context`` is ignored (with a
        ``DeprecationWarning``), as there.

        ``files`` are attachments: bytes, paths, data URIs, URLs or open files (uploaded first).
        ``on_message`` receives each assistant message update (``update.content`` is the new
        text); ``on_tool_call`` receives each tool call that waits on you, once. Client tools with
        a handler run automatically. If a call is left unanswered the reply comes back with
        ``status == "awaiting_input"`` and ``pending_tool_calls``; answer them, then ``wait()``.
        ``timeout`` (seconds) bounds the whole wait; past it ``APITimeoutError`` is raised (the
        turn goes on: ``wait()`` picks it up again).

        Example:
            An ad-hoc agent whose client tool runs in this process. The local platform's
            scripted model plays the model's turns (a real model decides for itself):

            >>> from inferencesh import string, tool
            >>> weather = tool("weather").param("city", string()).handler(
            ...     lambda args: f"sunny in {args['city']}").build()
            >>> script = [{"tool_calls": [{"name": "weather", "arguments": {"city": "Paris"}}]},
            ...           {"text": "It is {{tool_results}}."}]
            >>> core_app = {"ref": "local/scripted-model", "input": {"script": script}}
            >>> agent = client.agent({"core_app": core_app, "tools": [weather]})
            >>> response = agent.send_message("Weather in Paris?")
            >>> print(response.status, response.text)
            ready It is sunny in Paris.
        """
        _no_channel_context(channel_context)
        return self._run(self._send(text, files, on_message, on_tool_call, timeout, on_delta))

    def wait(
        self,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Follow the current turn again (after a pause on a tool call) until it finishes.

        An agent given a ``chat_id`` follows that chat's latest turn: its waiting tool calls
        reach ``on_tool_call`` and the handlers as if this agent had sent the message.
        """
        return self._run(self._wait(on_message, on_tool_call, timeout, on_delta))

    def run(self, text: str, **kwargs: Any) -> Any:
        """Send a message, wait for the turn, and return the chat's ``output`` (finish tool).

        Example:
            An agent with the ``finish`` tool hands over a result (the local platform's
            scripted model plays the model's turn):

            >>> from inferencesh import internal_tools
            >>> finish = {"name": "finish", "arguments": {"result": "Qubits, briefly."}}
            >>> script = [{"tool_calls": [finish]}]
            >>> agent = client.agent({
            ...     "core_app": {"ref": "local/scripted-model", "input": {"script": script}},
            ...     "internal_tools": internal_tools().finish().build(),
            ... })
            >>> agent.run("Explain quantum computing")
            'Qubits, briefly.'
        """
        self.send_message(text, **kwargs)
        chat = self.get_chat()
        return chat.output if chat is not None else None

    def submit_tool_result(
        self,
        call_id: str | None = None,
        result: Any = _UNSET,
        attachments: list[Mapping[str, Any]] | None = None,
        *,
        tool_invocation_id: str | None = None,
        result_or_action: Any = _UNSET,
    ) -> None:
        """Answer a client tool call: a string, or anything JSON-serializable (a widget action
        ``{"action": ..., "form_data": ...}`` included). For a call awaiting approval, a result
        ``{"error": ...}`` rejects it and any other result approves it and is sent when due.

        ``attachments`` are FileRef dicts (``{"uri": ...}``, at most 20; upload with
        :meth:`upload_file`) sent with the result; the local platform keeps only the result.
        ``tool_invocation_id`` and ``result_or_action`` are the published SDK 0.36's names.
        """
        call_id = _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        result = _either("result", result, "result_or_action", result_or_action)
        self._state.queue_result(call_id, result, _tool_attachments(attachments))
        self._run(p.flush(self._state))

    def approve_tool(
        self, call_id: str | None = None, *, tool_invocation_id: str | None = None
    ) -> None:
        """Approve a call that waits for a person's decision (``tool_invocation_id`` is the
        published SDK 0.36's name for ``call_id``).

        Example:
            A tool built with ``.require_approval()`` reaches ``on_tool_call`` first (the
            local platform's scripted model plays the model's turns):

            >>> from inferencesh import string, tool
            >>> delete = tool("delete_files").param("pattern", string()).require_approval()
            >>> delete = delete.handler(lambda args: f"deleted {args['pattern']}").build()
            >>> call = {"name": "delete_files", "arguments": {"pattern": "*.tmp"}}
            >>> script = [{"tool_calls": [call]}, {"text": "Done: {{tool_results}}"}]
            >>> core_app = {"ref": "local/scripted-model", "input": {"script": script}}
            >>> agent = client.agent({"core_app": core_app, "tools": [delete]})
            >>> def decide(call):
            ...     print(call.name, call.args, call.requires_approval)
            ...     agent.approve_tool(call.id)  # or agent.reject_tool(call.id, "not today")
            >>> print(agent.send_message("Clean up", on_tool_call=decide).text)
            delete_files {'pattern': '*.tmp'} True
            Done: deleted *.tmp
        """
        self._state.queue_approve(
            _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        )
        self._run(p.flush(self._state))

    def reject_tool(
        self,
        call_id: str | None = None,
        reason: str | None = None,
        *,
        tool_invocation_id: str | None = None,
    ) -> None:
        """Reject a call that waits for a person's decision; the agent is told ``reason``."""
        call_id = _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        self._state.queue_reject(call_id, reason)
        self._run(p.flush(self._state))

    def always_allow(self, call_id: str, tool_name: str | None = None) -> None:
        """Approve this call and every later call of the same tool in this chat."""
        self._state.queue_always_allow(call_id, tool_name)
        self._run(p.flush(self._state))

    def get_chat(self, chat_id: str | None = None) -> Chat | None:
        """The chat with all its messages (``None`` before the first message). After
        :meth:`reset`, the chat that was reset, until the next message starts a new one."""
        chat_id = chat_id or self._state.chat_id or self._state.last_chat_id
        if not chat_id:
            return None
        return p._convert(self._client.http.request("GET", self._chat_path(chat_id)), Chat, "chat")

    def stop_chat(self) -> None:
        """Stop the agent's current turn (no-op without a chat)."""
        if self._state.chat_id:
            self._client.http.request("POST", self._chat_path(None, "/stop"))

    def stream_all(
        self,
        on_chat: Callable[[Chat], Any] | None = None,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Follow the current turn to its end with callbacks (the published SDK 0.36's call):
        :meth:`wait` with ``on_message``, ``on_tool_call`` and ``on_delta``, then ``on_chat``
        with the chat as the turn left it. Returns the reply."""
        response = self.wait(on_message=on_message, on_tool_call=on_tool_call, on_delta=on_delta)
        if on_chat is not None:
            chat = self.get_chat()
            if chat is not None:
                on_chat(chat)
        return response

    def upload_file(self, data: Any, filename: str | None = None) -> dict[str, Any]:
        """Upload a file (bytes, a path, a data URI or a binary file object) for an attachment
        and return its FileRef dict (``id``, ``uri``, ``filename``, ``content_type``, ``size``),
        as the published SDK 0.36 does."""
        return _file_ref(self._client.upload_file(data, _upload_options(filename)))

    def stream_messages(
        self,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follow: bool = False,
    ) -> Iterator[ChatMessage]:
        """The chat's messages, then each update; ends when the chat is idle unless ``follow``.

        A dropped stream is reopened up to ``max_reconnects`` times in a row without news
        (default: the agent's). The 0.36 arguments are accepted too: ``auto_reconnect=False``
        raises on the first drop, ``reconnect_delay_ms`` is the pause before reopening (see
        ``inferencesh.core.reconnect``).
        """
        reconnect = self._watching(auto_reconnect, max_reconnects, reconnect_delay_ms)
        proc = p.watch(self._state.chat_id, "messages", follow, reconnect)
        return protocol.iterate(self._client, proc)

    def stream_chat(
        self,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follow: bool = False,
    ) -> Iterator[Chat]:
        """Chat snapshots (with messages) as they change; ends when idle unless ``follow``.
        Reconnects as ``stream_messages``."""
        reconnect = self._watching(auto_reconnect, max_reconnects, reconnect_delay_ms)
        proc = p.watch(self._state.chat_id, "chat", follow, reconnect)
        return protocol.iterate(self._client, proc)


class _Flush:
    """Awaitable that sends an async agent's queued tool answers.

    The answer is queued at call time, so a plain (non-async) callback that calls
    ``agent.submit_tool_result(...)`` without awaiting still gets it sent by the running turn.
    """

    __slots__ = ("_agent",)

    def __init__(self, agent: AsyncAgent) -> None:
        self._agent = agent

    def __await__(self) -> Generator[Any, None, None]:
        return self._agent._run(p.flush(self._agent._state)).__await__()


class AsyncAgent(_AgentBase):
    """A conversation with an agent (asyncio). Create it with ``async_client.agent(...)``.

    The same surface as :class:`Agent`, with ``await`` and ``async for``; callbacks and tool
    handlers may be plain functions or coroutines.

    Example:
        >>> import asyncio
        >>> from inferencesh import async_inference
        >>> async def main():
        ...     async with async_inference() as client:
        ...         agent = client.agent("local/assistant")
        ...         response = await agent.send_message("Hi")
        ...         print(response.text)
        >>> asyncio.run(main())
        Hello! You said: Hi
    """

    def __init__(
        self,
        client: AsyncInference,
        config: AgentSource | None = None,
        context: Mapping[str, str] | None = None,
        *,
        options: AgentSource | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client,
            config,
            context,
            options=options,
            handlers=handlers,
            max_reconnects=max_reconnects,
        )

    def _run(self, proc: Op[_T]) -> Awaitable[_T]:
        return protocol.arun(self._client, proc)

    async def send_message(
        self,
        text: str,
        files: p.Attachments = None,
        channel_context: Any = None,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        on_delta: OnDelta | None = None,
        *,
        timeout: float | None = None,
        attachments: p.Attachments = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply (see ``Agent.send_message``).

        The positions are the published SDK 0.36's async ones (``channel_context`` third, and
        ignored); ``attachments`` is its name for ``files``.
        """
        _no_channel_context(channel_context)
        if attachments is not None:
            files = _either("files", files, "attachments", attachments)
        return await self._run(self._send(text, files, on_message, on_tool_call, timeout, on_delta))

    async def wait(
        self,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Follow the current turn again (see ``Agent.wait``) until it finishes."""
        return await self._run(self._wait(on_message, on_tool_call, timeout, on_delta))

    async def run(self, text: str, **kwargs: Any) -> Any:
        """Send a message, wait for the turn, and return the chat's ``output`` (finish tool)."""
        await self.send_message(text, **kwargs)
        chat = await self.get_chat()
        return chat.output if chat is not None else None

    def submit_tool_result(
        self,
        call_id: str | None = None,
        result: Any = _UNSET,
        attachments: list[Mapping[str, Any]] | None = None,
        *,
        tool_invocation_id: str | None = None,
        result_or_action: Any = _UNSET,
    ) -> Awaitable[None]:
        """Answer a client tool call (see ``Agent.submit_tool_result``); await the result."""
        call_id = _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        result = _either("result", result, "result_or_action", result_or_action)
        self._state.queue_result(call_id, result, _tool_attachments(attachments))
        return _Flush(self)

    def approve_tool(
        self, call_id: str | None = None, *, tool_invocation_id: str | None = None
    ) -> Awaitable[None]:
        """Approve a call that waits for a person's decision."""
        self._state.queue_approve(
            _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        )
        return _Flush(self)

    def reject_tool(
        self,
        call_id: str | None = None,
        reason: str | None = None,
        *,
        tool_invocation_id: str | None = None,
    ) -> Awaitable[None]:
        """Reject a call that waits for a person's decision; the agent is told ``reason``."""
        call_id = _either("call_id", call_id, "tool_invocation_id", tool_invocation_id)
        self._state.queue_reject(call_id, reason)
        return _Flush(self)

    def always_allow(self, call_id: str, tool_name: str | None = None) -> Awaitable[None]:
        """Approve this call and every later call of the same tool in this chat."""
        self._state.queue_always_allow(call_id, tool_name)
        return _Flush(self)

    async def get_chat(self, chat_id: str | None = None) -> Chat | None:
        """The chat with all its messages (``None`` before the first message). After
        :meth:`reset`, the chat that was reset, until the next message starts a new one."""
        chat_id = chat_id or self._state.chat_id or self._state.last_chat_id
        if not chat_id:
            return None
        data = await self._client.http.request("GET", self._chat_path(chat_id))
        return p._convert(data, Chat, "chat")

    async def stop_chat(self) -> None:
        """Stop the agent's current turn (no-op without a chat)."""
        if self._state.chat_id:
            await self._client.http.request("POST", self._chat_path(None, "/stop"))

    async def stream_all(
        self,
        on_chat: Callable[[Chat], Any] | None = None,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Follow the current turn to its end with callbacks (see ``Agent.stream_all``);
        ``on_chat`` may be a coroutine function."""
        response = await self.wait(
            on_message=on_message, on_tool_call=on_tool_call, on_delta=on_delta
        )
        if on_chat is not None:
            chat = await self.get_chat()
            if chat is not None:
                outcome = on_chat(chat)
                if inspect.isawaitable(outcome):
                    await outcome
        return response

    async def upload_file(self, data: Any, filename: str | None = None) -> dict[str, Any]:
        """Upload a file for an attachment and return its FileRef dict (see
        ``Agent.upload_file``)."""
        return _file_ref(await self._client.upload_file(data, _upload_options(filename)))

    def stream_messages(
        self,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follow: bool = False,
    ) -> AsyncIterator[ChatMessage]:
        """The chat's messages, then each update; ends when the chat is idle unless ``follow``.
        Reconnects as ``Agent.stream_messages``."""
        reconnect = self._watching(auto_reconnect, max_reconnects, reconnect_delay_ms)
        proc = p.watch(self._state.chat_id, "messages", follow, reconnect)
        return protocol.aiterate(self._client, proc)

    def stream_chat(
        self,
        auto_reconnect: bool = True,
        max_reconnects: int | None = None,
        reconnect_delay_ms: float | None = None,
        *,
        follow: bool = False,
    ) -> AsyncIterator[Chat]:
        """Chat snapshots (with messages) as they change; ends when idle unless ``follow``.
        Reconnects as ``Agent.stream_messages``."""
        reconnect = self._watching(auto_reconnect, max_reconnects, reconnect_delay_ms)
        proc = p.watch(self._state.chat_id, "chat", follow, reconnect)
        return protocol.aiterate(self._client, proc)


class Agents(AgentsAPI):
    """``client.agents``: create agents and read chats."""

    def __init__(self, client: Inference) -> None:
        super().__init__(client)

    def create(self, config: AgentSource, **kwargs: Any) -> Agent:
        """A new :class:`Agent` (no request is made until the first message)."""
        return Agent(self._client, config, **kwargs)

    def get_chat(self, chat_id: str) -> Chat:
        """Any chat by id, with its messages."""
        data = self._client.http.request("GET", id_path("/chats", chat_id, "chat_id"))
        return p._convert(data, Chat, "chat")


class AsyncAgents(AsyncAgentsAPI):
    """``async_client.agents``: create agents and read chats."""

    def __init__(self, client: AsyncInference) -> None:
        super().__init__(client)

    def create(self, config: AgentSource, **kwargs: Any) -> AsyncAgent:
        """A new :class:`AsyncAgent` (no request is made until the first message)."""
        return AsyncAgent(self._client, config, **kwargs)

    async def get_chat(self, chat_id: str) -> Chat:
        """Any chat by id, with its messages."""
        data = await self._client.http.request("GET", id_path("/chats", chat_id, "chat_id"))
        return p._convert(data, Chat, "chat")

"""``Agent`` and ``AsyncAgent``: chat with a template or ad-hoc agent through the core client.

Both run the same protocol procedures (``_protocol``) with the core client's effect drivers
(``inferencesh.core.protocol``), sync or async.
"""

from __future__ import annotations

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


class _AgentBase:
    """State and argument handling shared by ``Agent`` and ``AsyncAgent``."""

    def __init__(
        self,
        client: Any,
        config: AgentSource,
        *,
        context: Mapping[str, str] | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
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
        config: AgentSource,
        *,
        context: Mapping[str, str] | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client, config, context=context, handlers=handlers, max_reconnects=max_reconnects
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
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply.

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

    def submit_tool_result(self, call_id: str, result: Any) -> None:
        """Answer a client tool call: a string, or anything JSON-serializable (a widget action
        ``{"action": ..., "form_data": ...}`` included). For a call awaiting approval, a result
        ``{"error": ...}`` rejects it and any other result approves it and is sent when due."""
        self._state.queue_result(call_id, result)
        self._run(p.flush(self._state))

    def approve_tool(self, call_id: str) -> None:
        """Approve a call that waits for a person's decision.

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
        self._state.queue_approve(call_id)
        self._run(p.flush(self._state))

    def reject_tool(self, call_id: str, reason: str | None = None) -> None:
        """Reject a call that waits for a person's decision; the agent is told ``reason``."""
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
        config: AgentSource,
        *,
        context: Mapping[str, str] | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client, config, context=context, handlers=handlers, max_reconnects=max_reconnects
        )

    def _run(self, proc: Op[_T]) -> Awaitable[_T]:
        return protocol.arun(self._client, proc)

    async def send_message(
        self,
        text: str,
        files: p.Attachments = None,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply (see ``Agent.send_message``)."""
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

    def submit_tool_result(self, call_id: str, result: Any) -> Awaitable[None]:
        """Answer a client tool call (see ``Agent.submit_tool_result``); await the result."""
        self._state.queue_result(call_id, result)
        return _Flush(self)

    def approve_tool(self, call_id: str) -> Awaitable[None]:
        """Approve a call that waits for a person's decision."""
        self._state.queue_approve(call_id)
        return _Flush(self)

    def reject_tool(self, call_id: str, reason: str | None = None) -> Awaitable[None]:
        """Reject a call that waits for a person's decision; the agent is told ``reason``."""
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

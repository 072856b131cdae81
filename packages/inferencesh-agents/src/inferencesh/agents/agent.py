"""``Agent`` and ``AsyncAgent``: chat with a template or ad-hoc agent through the core client.

Both run the same protocol procedures (``_protocol``); this module only executes their
operations, with blocking calls or with awaits.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, Protocol, TypeVar

import msgspec
from inferencesh.agents import _protocol as p
from inferencesh.agents._config import normalize_agent
from inferencesh.agents.errors import AgentError
from inferencesh.agents.responses import AgentResponse, MessageUpdate, ToolCallInfo
from inferencesh.core.chat import AgentConfig, Chat, ChatMessage

__all__ = ["Agent", "Agents", "AsyncAgent", "AsyncAgents"]

_T = TypeVar("_T")
AgentSource = str | Mapping[str, Any] | AgentConfig
"""A template agent ref (``"ns/name@version"``) or an ad-hoc config (dict or ``AgentConfig``)."""
OnMessage = Callable[[MessageUpdate], Any]
OnToolCall = Callable[[ToolCallInfo], Any]


class _SyncHTTP(Protocol):
    def request(self, method: str, path: str, *, json: Any = None) -> Any: ...

    def stream(
        self, method: str, path: str, *, read_timeout: float | None = None
    ) -> Iterable[Any]: ...


class _SyncClient(Protocol):
    @property
    def http(self) -> _SyncHTTP: ...

    def upload_file(self, data: Any) -> Any: ...


class _AsyncHTTP(Protocol):
    async def request(self, method: str, path: str, *, json: Any = None) -> Any: ...

    def stream(
        self, method: str, path: str, *, read_timeout: float | None = None
    ) -> AsyncIterator[Any]: ...


class _AsyncClient(Protocol):
    @property
    def http(self) -> _AsyncHTTP: ...

    async def upload_file(self, data: Any) -> Any: ...


def _resolve_sync(value: Any) -> Any:
    """Run an async callback's awaitable from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    close = getattr(value, "close", None)
    if close is not None:
        close()  # never awaited: say so once, here, instead of a RuntimeWarning later
    raise AgentError(
        "an async callback or tool handler was given to the synchronous Agent inside a running "
        "event loop; use AsyncAgent (async_inference(...).agent(...)) instead"
    )


class _SyncRunner:
    """Executes a procedure's operations with blocking calls."""

    def __init__(self, client: _SyncClient) -> None:
        self._client = client
        self._stream: Iterator[Any] | None = None

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    def _step(self, op: p.Op) -> Any:
        # The per-event operations first: they run once or twice for every stream line.
        if isinstance(op, p.NextEvent):
            assert self._stream is not None
            return next(self._stream, p.EOF)
        if isinstance(op, p.Call):
            value = op.fn(op.arg)
            if value is not None and inspect.isawaitable(value):
                return _resolve_sync(value)
            return value
        if isinstance(op, p.Request):
            return self._client.http.request(op.method, op.path, json=op.json)
        if isinstance(op, p.OpenStream):
            self._close()
            kwargs = {} if op.read_timeout is None else {"read_timeout": op.read_timeout}
            self._stream = iter(self._client.http.stream("GET", op.path, **kwargs))
            return None
        if isinstance(op, p.Upload):
            return self._client.upload_file(op.data)
        if isinstance(op, p.Sleep):
            time.sleep(op.seconds)
            return None
        raise AssertionError(f"unexpected operation {op!r}")

    def iterate(self, proc: p.Proc[_T], out: list[_T]) -> Iterator[Any]:
        """Run ``proc``, yielding what it emits; its return value is appended to ``out``."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    op = proc.throw(error) if error is not None else proc.send(value)
                except StopIteration as stop:
                    out.append(stop.value)
                    return
                value, error = None, None
                if isinstance(op, p.Emit):
                    yield op.value
                    continue
                try:
                    value = self._step(op)
                except Exception as exc:  # noqa: BLE001 - handed to the procedure
                    error = exc  # the procedure decides: handle (reconnect, report) or re-raise
        finally:
            self._close()
            proc.close()

    def run(self, proc: p.Proc[_T]) -> _T:
        out: list[_T] = []
        for _ in self.iterate(proc, out):
            pass
        return out[0]


class _AsyncRunner:
    """Executes a procedure's operations with awaits."""

    def __init__(self, client: _AsyncClient) -> None:
        self._client = client
        self._stream: AsyncIterator[Any] | None = None

    async def _close(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()

    async def _step(self, op: p.Op) -> Any:
        # The per-event operations first: they run once or twice for every stream line.
        if isinstance(op, p.NextEvent):
            assert self._stream is not None
            try:
                return await self._stream.__anext__()
            except StopAsyncIteration:
                return p.EOF
        if isinstance(op, p.Call):
            value = op.fn(op.arg)
            if value is not None and inspect.isawaitable(value):
                return await value
            return value
        if isinstance(op, p.Request):
            return await self._client.http.request(op.method, op.path, json=op.json)
        if isinstance(op, p.OpenStream):
            await self._close()
            kwargs = {} if op.read_timeout is None else {"read_timeout": op.read_timeout}
            self._stream = aiter(self._client.http.stream("GET", op.path, **kwargs))
            return None
        if isinstance(op, p.Upload):
            return await self._client.upload_file(op.data)
        if isinstance(op, p.Sleep):
            await asyncio.sleep(op.seconds)
            return None
        raise AssertionError(f"unexpected operation {op!r}")

    async def iterate(self, proc: p.Proc[_T], out: list[_T]) -> AsyncIterator[Any]:
        """Run ``proc``, yielding what it emits; its return value is appended to ``out``."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    op = proc.throw(error) if error is not None else proc.send(value)
                except StopIteration as stop:
                    out.append(stop.value)
                    return
                value, error = None, None
                if isinstance(op, p.Emit):
                    yield op.value
                    continue
                try:
                    value = await self._step(op)
                except Exception as exc:  # noqa: BLE001 - handed to the procedure
                    error = exc  # the procedure decides: handle (reconnect, report) or re-raise
        finally:
            await self._close()
            proc.close()

    async def run(self, proc: p.Proc[_T]) -> _T:
        out: list[_T] = []
        async for _ in self.iterate(proc, out):
            pass
        return out[0]


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
        self._max_reconnects = max_reconnects

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
        files: Iterable[Any] | None,
        on_message: OnMessage | None,
        on_tool_call: OnToolCall | None,
        timeout: float | None,
    ) -> p.Proc[AgentResponse]:
        deadline = p.Deadline(timeout, "the agent's reply")
        context = self._context if self._state.chat_id is None else None
        callbacks = p.Callbacks(on_message, on_tool_call)
        return p.send_message(
            self._state, text, files, callbacks, context, self._max_reconnects, deadline
        )

    def _wait(
        self, on_message: OnMessage | None, on_tool_call: OnToolCall | None, timeout: float | None
    ) -> p.Proc[AgentResponse]:
        deadline = p.Deadline(timeout, "the agent's reply")
        callbacks = p.Callbacks(on_message, on_tool_call)
        return p.follow_turn(self._state, callbacks, self._max_reconnects, deadline)

    def _chat_path(self, chat_id: str | None, suffix: str = "") -> str:
        chat_id = chat_id or self._state.chat_id
        if not chat_id:
            raise AgentError("no chat yet: send a message first")
        return f"/chats/{chat_id}{suffix}"

    @staticmethod
    def _chat(data: Any) -> Chat:
        try:
            return msgspec.convert(data, Chat)
        except msgspec.ValidationError as exc:
            raise AgentError(f"malformed chat from the server: {exc}") from None

    def __repr__(self) -> str:
        spec = self._state.spec
        what = spec.ref or (spec.config or {}).get("name") or "ad-hoc"
        return f"{type(self).__name__}({what!r}, chat_id={self.chat_id!r})"


class Agent(_AgentBase):
    """A conversation with an agent (synchronous). Create it with ``client.agent(...)``.

    ``config`` is a template agent ref (``"my-team/support@latest"``) or an ad-hoc config dict
    with ``core_app``, ``system_prompt``, ``tools``, ``internal_tools``, ``skills`` and model
    settings such as ``temperature`` and ``max_tokens``. ``handlers`` maps client tool names to
    functions run automatically (tools built with ``.handler(fn)`` bring their own).
    """

    def __init__(
        self,
        client: _SyncClient,
        config: AgentSource,
        *,
        context: Mapping[str, str] | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client, config, context=context, handlers=handlers, max_reconnects=max_reconnects
        )

    def _run(self, proc: p.Proc[_T]) -> _T:
        return _SyncRunner(self._client).run(proc)

    def send_message(
        self,
        text: str,
        files: Iterable[Any] | None = None,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply.

        ``files`` are attachments: bytes, paths, data URIs, URLs or open files (uploaded first).
        ``on_message`` receives each assistant message update (``update.content`` is the new
        text); ``on_tool_call`` receives each tool call that waits on you, once. Client tools with
        a handler run automatically. If a call is left unanswered the reply comes back with
        ``status == "awaiting_input"`` and ``pending_tool_calls``; answer them, then ``wait()``.
        ``timeout`` (seconds) bounds the whole wait; past it ``APITimeoutError`` is raised (the
        turn goes on: ``wait()`` picks it up again).
        """
        return self._run(self._send(text, files, on_message, on_tool_call, timeout))

    def wait(
        self,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
    ) -> AgentResponse:
        """Follow the current turn again (after a pause on a tool call) until it finishes."""
        return self._run(self._wait(on_message, on_tool_call, timeout))

    def run(self, text: str, **kwargs: Any) -> Any:
        """Send a message, wait for the turn, and return the chat's ``output`` (finish tool)."""
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
        """Approve a call that waits for a person's decision."""
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
        """The chat with all its messages (``None`` before the first message)."""
        if not (chat_id or self._state.chat_id):
            return None
        return self._chat(self._client.http.request("GET", self._chat_path(chat_id)))

    def stop_chat(self) -> None:
        """Stop the agent's current turn (no-op without a chat)."""
        if self._state.chat_id:
            self._client.http.request("POST", self._chat_path(None, "/stop"))

    def stream_messages(self, *, follow: bool = False) -> Iterator[ChatMessage]:
        """The chat's messages, then each update; ends when the chat is idle unless ``follow``."""
        proc = p.watch(self._state.chat_id, "messages", follow, self._max_reconnects)
        return _SyncRunner(self._client).iterate(proc, [])

    def stream_chat(self, *, follow: bool = False) -> Iterator[Chat]:
        """Chat snapshots (with messages) as they change; ends when idle unless ``follow``."""
        proc = p.watch(self._state.chat_id, "chat", follow, self._max_reconnects)
        return _SyncRunner(self._client).iterate(proc, [])


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
    """

    def __init__(
        self,
        client: _AsyncClient,
        config: AgentSource,
        *,
        context: Mapping[str, str] | None = None,
        handlers: Mapping[str, Callable[..., Any]] | None = None,
        max_reconnects: int = 5,
    ) -> None:
        super().__init__(
            client, config, context=context, handlers=handlers, max_reconnects=max_reconnects
        )

    def _run(self, proc: p.Proc[_T]) -> Awaitable[_T]:
        return _AsyncRunner(self._client).run(proc)

    async def send_message(
        self,
        text: str,
        files: Iterable[Any] | None = None,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
    ) -> AgentResponse:
        """Send a message and return the agent's finished reply (see ``Agent.send_message``)."""
        return await self._run(self._send(text, files, on_message, on_tool_call, timeout))

    async def wait(
        self,
        *,
        on_message: OnMessage | None = None,
        on_tool_call: OnToolCall | None = None,
        timeout: float | None = None,
    ) -> AgentResponse:
        """Follow the current turn again (after a pause on a tool call) until it finishes."""
        return await self._run(self._wait(on_message, on_tool_call, timeout))

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
        """The chat with all its messages (``None`` before the first message)."""
        if not (chat_id or self._state.chat_id):
            return None
        return self._chat(await self._client.http.request("GET", self._chat_path(chat_id)))

    async def stop_chat(self) -> None:
        """Stop the agent's current turn (no-op without a chat)."""
        if self._state.chat_id:
            await self._client.http.request("POST", self._chat_path(None, "/stop"))

    def stream_messages(self, *, follow: bool = False) -> AsyncIterator[ChatMessage]:
        """The chat's messages, then each update; ends when the chat is idle unless ``follow``."""
        proc = p.watch(self._state.chat_id, "messages", follow, self._max_reconnects)
        return _AsyncRunner(self._client).iterate(proc, [])

    def stream_chat(self, *, follow: bool = False) -> AsyncIterator[Chat]:
        """Chat snapshots (with messages) as they change; ends when idle unless ``follow``."""
        proc = p.watch(self._state.chat_id, "chat", follow, self._max_reconnects)
        return _AsyncRunner(self._client).iterate(proc, [])


class Agents:
    """``client.agents``: create agents and read chats."""

    def __init__(self, client: _SyncClient) -> None:
        self._client = client

    def create(self, config: AgentSource, **kwargs: Any) -> Agent:
        """A new :class:`Agent` (no request is made until the first message)."""
        return Agent(self._client, config, **kwargs)

    def get_chat(self, chat_id: str) -> Chat:
        """Any chat by id, with its messages."""
        return _AgentBase._chat(self._client.http.request("GET", f"/chats/{chat_id}"))


class AsyncAgents:
    """``async_client.agents``: create agents and read chats."""

    def __init__(self, client: _AsyncClient) -> None:
        self._client = client

    def create(self, config: AgentSource, **kwargs: Any) -> AsyncAgent:
        """A new :class:`AsyncAgent` (no request is made until the first message)."""
        return AsyncAgent(self._client, config, **kwargs)

    async def get_chat(self, chat_id: str) -> Chat:
        """Any chat by id, with its messages."""
        return _AgentBase._chat(await self._client.http.request("GET", f"/chats/{chat_id}"))

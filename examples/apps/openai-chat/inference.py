"""A chat model app over any OpenAI-compatible ``/chat/completions`` endpoint.

Configuration comes from the environment of the platform (so keys never enter task records):

* ``OPENAI_BASE_URL``: the API root, e.g. ``http://127.0.0.1:11434/v1`` for Ollama
  (default ``https://api.openai.com/v1``).
* ``OPENAI_MODEL``: the model name the server expects (default ``gpt-4o-mini``).
* ``OPENAI_API_KEY``: sent as ``Authorization: Bearer ...`` when set (local servers often need none).

The setup may override ``base_url`` and ``model`` per agent (``core_app.setup``). The reply is
streamed as token deltas (``LLMDelta``: the text and reasoning each chunk adds), then the whole
output with the tool calls. ``OpenAIChatMixin`` adds an ``openai`` function: the app answers
Chat Completions requests too, streaming chunks as deltas.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx
from inferencesh import BaseApp, BaseAppSetup
from inferencesh.models import ChatInput, LLMDelta, LLMOutput, build_messages, build_tools
from inferencesh.models.llm import LLMUsage
from inferencesh.openai import OpenAIChatMixin
from pydantic import Field

_DEFAULT_BASE_URL = "https://api.openai.com/v1"
_DEFAULT_MODEL = "gpt-4o-mini"


class AppSetup(BaseAppSetup):
    base_url: str | None = Field(default=None, description="API root (default: $OPENAI_BASE_URL)")
    model: str | None = Field(default=None, description="Model name (default: $OPENAI_MODEL)")
    timeout: float = Field(default=300.0, gt=0, description="Seconds to wait for the server")


class AppInput(ChatInput):
    pass


def _tool_choice(input_data: AppInput) -> Any:
    choice = input_data.tool_choice
    if choice is None:
        return None
    if choice.mode == "function" and choice.name:
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _response_format(input_data: AppInput) -> Any:
    fmt = input_data.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    schema: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.json_schema or {}}
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


def build_request(input_data: AppInput, model: str) -> dict[str, Any]:
    """The chat completions request body for ``input_data``."""
    body: dict[str, Any] = {
        "model": model,
        "messages": build_messages(input_data),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if input_data.model_settings is not None:
        body.update(input_data.model_settings.as_kwargs())
    tools = build_tools(input_data.tools)
    if tools:
        body["tools"] = tools
    for key, value in (
        ("tool_choice", _tool_choice(input_data)),
        ("response_format", _response_format(input_data)),
    ):
        if value is not None:
            body[key] = value
    return body


class _Accumulator:
    """Builds the cumulative output from streamed chunks."""

    def __init__(self) -> None:
        self.text = ""
        self.reasoning = ""
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, Any] = {}
        self.stop_reason = ""

    def add(self, chunk: dict[str, Any]) -> bool:
        changed = False
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            if delta.get("content"):
                self.text += delta["content"]
                changed = True
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                self.reasoning += thought
                changed = True
            for position, call in enumerate(delta.get("tool_calls") or []):
                index = call.get("index", position)
                slot = self.calls.setdefault(
                    index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                )
                if call.get("id"):
                    slot["id"] = call["id"]
                function = call.get("function") or {}
                if function.get("name"):
                    slot["function"]["name"] += function["name"]
                arguments = function.get("arguments")
                if isinstance(arguments, dict):
                    arguments = json.dumps(arguments)
                if arguments:
                    slot["function"]["arguments"] += arguments
                changed = True
            if choice.get("finish_reason"):
                self.stop_reason = str(choice["finish_reason"])
        return changed

    def output(self, started: float, first: float | None) -> LLMOutput:
        calls = [self.calls[i] for i in sorted(self.calls)]
        for position, call in enumerate(calls):
            call["id"] = call["id"] or f"call_{position}"
        usage = None
        if self.usage or self.stop_reason:
            completion = int(self.usage.get("completion_tokens") or 0)
            elapsed = time.monotonic() - (first or started)
            usage = LLMUsage(
                stop_reason=self.stop_reason,
                time_to_first_token=(first - started) if first else 0.0,
                tokens_per_second=completion / elapsed if completion and elapsed > 0 else 0.0,
                prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
                completion_tokens=completion,
                total_tokens=int(self.usage.get("total_tokens") or 0),
            )
        return LLMOutput(
            response=self.text,
            reasoning=self.reasoning or None,
            tool_calls=calls or None,
            usage=usage,
        )


class App(OpenAIChatMixin, BaseApp):
    async def setup(self, config: AppSetup) -> None:
        self.base_url = (
            config.base_url or os.environ.get("OPENAI_BASE_URL") or _DEFAULT_BASE_URL
        ).rstrip("/")
        self.model = config.model or os.environ.get("OPENAI_MODEL") or _DEFAULT_MODEL
        headers = {"Content-Type": "application/json"}
        key = os.environ.get("OPENAI_API_KEY")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(config.timeout, connect=10.0)
        )

    async def run(
        self, input_data: AppInput, metadata
    ) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
        body = build_request(input_data, self.model)
        url = f"{self.base_url}/chat/completions"
        acc = _Accumulator()
        started = time.monotonic()
        first: float | None = None
        async with self.client.stream("POST", url, json=body) as response:
            if response.status_code >= 400:
                detail = (await response.aread()).decode("utf-8", "replace")[:500]
                raise RuntimeError(f"{url} answered HTTP {response.status_code}: {detail}")
            async for line in response.aiter_lines():
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except json.JSONDecodeError as exc:
                    raise RuntimeError(f"{url} sent a line that is not JSON: {data[:200]}") from exc
                if isinstance(chunk.get("error"), dict):
                    raise RuntimeError(f"{url} reported an error: {chunk['error'].get('message')}")
                text, reasoning = len(acc.text), len(acc.reasoning)
                if acc.add(chunk):
                    first = first or time.monotonic()
                    # Only the text each chunk adds, as a token delta (tool calls come whole
                    # with the output: the published 0.36 client fails on tool-call deltas).
                    piece = LLMDelta(response=acc.text[text:])
                    if len(acc.reasoning) > reasoning:
                        piece.reasoning = acc.reasoning[reasoning:]
                    if piece.response or piece.reasoning:
                        yield piece
        yield acc.output(started, first)

    async def unload(self) -> None:
        await self.client.aclose()

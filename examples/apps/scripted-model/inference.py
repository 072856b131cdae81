"""A scripted chat model: deterministic replies and tool calls for agents without a real LLM.

Like pydantic-ai's FunctionModel/TestModel, it answers from a script instead of a model:

* ``script``: a list of turns. Turn ``n`` answers the model call that has ``n`` assistant
  messages before it in the conversation, so one script describes a whole chat (including the
  calls that follow tool results). Give it in the input (``script``, e.g. through an agent's
  ``core_app.input``), in the setup (``script`` or ``script_file``), or in the environment
  (``SCRIPTED_MODEL_SCRIPT``: JSON text or the path of a JSON/YAML file). The first found wins,
  in that order.
* Past the end of the script (or without one): after tool results it reports them; with
  ``call_tools`` set (``"all"`` or a list of names) it calls those tools once, with arguments
  made from each tool's JSON Schema; otherwise it echoes the message.

A turn: ``{"text": "...", "reasoning": "...", "tool_calls": [{"name": "...", "arguments": {...}}],
"delay": 0.05, "chunks": 4, "error": "..."}``. The reply streams as token deltas
(``LLMDelta``: reasoning, then each piece of text), then the whole ``LLMOutput`` with the
tool calls (not streamed as deltas: the published 0.36 client's task stream fails on those). ``text`` may use placeholders: ``{{input}}`` (the
current message), ``{{history}}`` (every message as ``role: text``), ``{{tool_results}}`` (the
results that answer the last tool calls), ``{{files}}`` (the attached files as ``name:size``),
``{{system_prompt}}``, ``{{tools}}`` (the offered tool names) and ``{{step}}``; so may the
string values of tool call arguments.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, Literal

import yaml
from inferencesh import BaseApp, BaseAppSetup
from inferencesh.models import ChatInput, LLMDelta, LLMOutput
from inferencesh.models.llm import LLMUsage
from pydantic import BaseModel, Field


class ScriptedCall(BaseModel):
    """A tool call the script makes."""

    name: str = Field(description="The tool to call")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments")
    id: str | None = Field(default=None, description="The call id (default: call_<step>_<n>)")


class Turn(BaseModel):
    """One scripted model reply."""

    text: str = Field(default="", description="The reply; may use {{placeholders}}")
    reasoning: str | None = Field(default=None, description="Reasoning shown before the reply")
    tool_calls: list[ScriptedCall] = Field(default_factory=list, description="Tool calls to make")
    delay: float | None = Field(default=None, ge=0, description="Seconds between streamed pieces")
    chunks: int | None = Field(default=None, ge=1, description="Pieces to stream (default: words)")
    error: str | None = Field(default=None, description="Fail the run with this message")


class AppSetup(BaseAppSetup):
    script: list[Turn] | None = Field(default=None, description="The turns to play")
    script_file: str | None = Field(default=None, description="A JSON/YAML file of turns")
    call_tools: Literal["all"] | list[str] | None = Field(
        default=None,
        description="Past the script: call these tools (or all) with schema-made arguments",
    )
    delay: float = Field(default=0.0, ge=0, description="Default seconds between streamed pieces")


class AppInput(ChatInput):
    script: list[Turn] | None = Field(
        default=None, description="Turns for this call (wins over setup)"
    )


def _load_script(source: str) -> list[Turn]:
    """Turns from JSON/YAML text or from the file it names."""
    text = source
    if not source.lstrip().startswith(("[", "{")):
        candidate = Path(source)
        if not candidate.is_file():
            raise FileNotFoundError(f"script file {source} does not exist")
        text = candidate.read_text(encoding="utf-8")
    data = yaml.safe_load(text)  # JSON is YAML too
    if isinstance(data, dict):
        data = data.get("turns") or data.get("script")
    if not isinstance(data, list):
        raise ValueError(f"a script must be a list of turns, got {type(data).__name__}")
    return [Turn.model_validate(item) for item in data]


def sample(schema: dict[str, Any]) -> Any:
    """A valid-looking value for a JSON Schema (TestModel-style argument generation)."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required")
        names = required if isinstance(required, list) else list(props)
        return {name: sample(props.get(name) or {}) for name in names}
    if kind == "array":
        return [sample(schema.get("items") or {})]
    return {"integer": 0, "number": 0.0, "boolean": False, "null": None}.get(str(kind), "a")


def _role(message: Any) -> str:
    role = getattr(message, "role", "")
    return str(getattr(role, "value", role))


def _describe_files(files: list[Any]) -> str:
    parts = []
    for file in files:
        size = file.size
        if size is None and file.exists():
            size = os.path.getsize(file.path)
        parts.append(f"{file.filename or 'file'}:{size}")
    return ", ".join(parts)


class App(BaseApp):
    _env_script: tuple[tuple[int, int], list[Turn]] | None = None

    async def setup(self, config: AppSetup) -> None:
        self.config = config
        self.script: list[Turn] | None = config.script
        if self.script is None and config.script_file:
            self.script = _load_script(config.script_file)

    def _script_from_env(self) -> list[Turn] | None:
        # A path in SCRIPTED_MODEL_SCRIPT is re-read when the file changes, so a running
        # platform can be given a new script without a restart.
        source = os.environ.get("SCRIPTED_MODEL_SCRIPT")
        if not source:
            return None
        path = Path(source)
        if source.lstrip().startswith(("[", "{")):
            return _load_script(source)
        if not path.is_file():
            raise FileNotFoundError(f"SCRIPTED_MODEL_SCRIPT names {source}, which is not a file")
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        if self._env_script is None or self._env_script[0] != key:
            self._env_script = (key, _load_script(source))
        return self._env_script[1]

    async def run(
        self, input_data: AppInput, metadata
    ) -> AsyncGenerator[LLMDelta | LLMOutput, None]:
        config = getattr(self, "config", AppSetup())
        script = input_data.script
        if script is None:
            script = getattr(self, "script", None) or self._script_from_env()
        step = sum(1 for m in input_data.context if _role(m) == "assistant")
        turn = (
            script[step]
            if script and step < len(script)
            else self._default_turn(input_data, config)
        )
        if turn.error:
            raise RuntimeError(turn.error)
        text = self._fill(turn.text, input_data, step)
        delay = turn.delay if turn.delay is not None else config.delay
        calls = [
            {
                "id": call.id or f"call_{step}_{index}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(self._fill_value(call.arguments, input_data, step)),
                },
            }
            for index, call in enumerate(turn.tool_calls)
        ]
        out = LLMOutput(response="", reasoning=turn.reasoning or None)
        if turn.reasoning:
            yield LLMDelta(reasoning=turn.reasoning)
        for piece in _pieces(text, turn.chunks):
            out.response += piece
            yield LLMDelta(response=piece)  # a token delta: the delta channel, not an output
            if delay:
                await asyncio.sleep(delay)
        words = len(text.split())
        out.tool_calls = calls or None
        out.usage = LLMUsage(
            stop_reason="tool_calls" if calls else "stop",
            prompt_tokens=len(input_data.text.split()),
            completion_tokens=words,
            total_tokens=len(input_data.text.split()) + words,
        )
        yield out

    def _default_turn(self, input_data: AppInput, config: AppSetup) -> Turn:
        if _role(input_data) == "tool":
            return Turn(text="Tool results: {{tool_results}}")
        wanted = config.call_tools
        tools = [t.get("function") or t for t in input_data.tools or []]
        if wanted and tools:
            chosen = [t for t in tools if wanted == "all" or t.get("name") in wanted]
            calls = [
                ScriptedCall(name=t["name"], arguments=sample(t.get("parameters") or {}))
                for t in chosen
            ]
            if calls:
                return Turn(tool_calls=calls)
        return Turn(text="You said: {{input}}")

    def _fill_value(self, value: Any, input_data: AppInput, step: int) -> Any:
        """Placeholders filled in every string of a tool call's arguments."""
        if isinstance(value, str):
            return self._fill(value, input_data, step)
        if isinstance(value, dict):
            return {k: self._fill_value(v, input_data, step) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill_value(v, input_data, step) for v in value]
        return value

    def _fill(self, text: str, input_data: AppInput, step: int) -> str:
        if "{{" not in text:
            return text
        messages = [*input_data.context, input_data]
        trailing: list[str] = []
        for message in reversed(messages):
            if _role(message) != "tool":
                break
            trailing.insert(0, message.text or "")
        files = [*(input_data.images or []), *(input_data.files or [])]
        tools = [(t.get("function") or t).get("name", "") for t in input_data.tools or []]
        values = {
            "input": input_data.text,
            "history": " | ".join(f"{_role(m)}: {m.text or ''}" for m in messages),
            "tool_results": "\n".join(trailing),
            "files": _describe_files(files),
            "system_prompt": input_data.system_prompt,
            "tools": ", ".join(tools),
            "step": str(step),
        }
        for name, value in values.items():
            text = text.replace("{{" + name + "}}", value)
        return text


def _pieces(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if chunks:
        size = max(1, -(-len(text) // chunks))
        return [text[i : i + size] for i in range(0, len(text), size)]
    pieces: list[str] = []
    for index, word in enumerate(text.split(" ")):
        pieces.append(word if index == 0 else " " + word)
    return pieces

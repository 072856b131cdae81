"""Differential: Chat Completions requests translated by the OpenAI adapter and rendered by
``build_messages``, in the published 0.36 package and in ours, give the same messages (and the
same sampling settings on the translated input)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from inferencesh.models import build_messages
from inferencesh.openai import ChatCompletionInput, UnsupportedParameterError, to_llm_input
from platform_testkit import run_published

CALL = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
REQUESTS: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "Hi"}]},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use English."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "And now?"},
        ],
        "temperature": 0.2,
        "top_p": 0.5,
        "max_tokens": 10,
        "max_completion_tokens": 20,
        "stop": "END",
        "seed": 3,
    },
    {
        "messages": [
            {"role": "user", "content": "add"},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "c1", "content": "2"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
        ],
        "tool_choice": "auto",
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
            },
            {"role": "user", "content": "three"},
        ],
        "reasoning_effort": "minimal",
    },
    {
        "messages": [
            {"role": "user", "content": "prefill"},
            {"role": "assistant", "content": "", "tool_calls": [CALL]},
        ],
        "tools": [{"type": "function", "function": {"name": "add"}}],
        "tool_choice": "none",
    },
    {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "reasoning": "because"},
            {"role": "user", "content": "q2"},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": {"type": "object"}},
        },
        "reasoning_effort": "xhigh",
    },
    {"messages": [{"role": "user", "content": "x"}], "n": 2},
    {"messages": [{"role": "user", "content": "x"}], "logprobs": True},
    {"messages": [{"role": "system", "content": "only system"}]},
]

SETTINGS = [
    "system_prompt",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "max_tokens",
    "reasoning_effort",
]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import inferencesh
    from inferencesh.models import build_messages
    from inferencesh.openai import ChatCompletionInput, to_llm_input

    settings = SETTINGS_LIST
    out = []
    for body in json.loads(sys.stdin.read()):
        try:
            llm = to_llm_input(ChatCompletionInput.model_validate(body))
        except ValueError as exc:
            out.append({"error": type(exc).__name__})
            continue
        values = {k: getattr(llm, k) for k in settings}
        values["reasoning_effort"] = getattr(values["reasoning_effort"], "value", values["reasoning_effort"])
        fmt = llm.response_format
        out.append({"messages": build_messages(llm), "settings": values,
                    "tools": llm.tools, "tool_choice": llm.tool_choice and llm.tool_choice.model_dump(mode="json"),
                    "response_format": fmt and fmt.model_dump(mode="json", exclude_none=True)})
    print(json.dumps({"version": inferencesh.__version__, "results": out}))
    """
).replace("SETTINGS_LIST", repr(SETTINGS))


def _ours(body: dict[str, Any]) -> dict[str, Any]:
    try:
        llm = to_llm_input(ChatCompletionInput.model_validate(body))
    except ValueError as exc:
        name = type(exc).__name__
        return {
            "error": "UnsupportedParameterError"
            if isinstance(exc, UnsupportedParameterError)
            else name
        }
    values = {k: getattr(llm, k) for k in SETTINGS}
    values["reasoning_effort"] = getattr(
        values["reasoning_effort"], "value", values["reasoning_effort"]
    )
    fmt = llm.response_format
    return json.loads(
        json.dumps(
            {
                "messages": build_messages(llm),
                "settings": values,
                "tools": llm.tools,
                "tool_choice": llm.tool_choice and llm.tool_choice.model_dump(mode="json"),
                "response_format": fmt and fmt.model_dump(mode="json", exclude_none=True),
            }
        )
    )


def test_adapter_message_building_equals_the_published_one(
    published_python: Path, tmp_path: Path
) -> None:
    published = run_published(published_python, SCRIPT, [], tmp_path, stdin=json.dumps(REQUESTS))
    assert published["version"].startswith("0.36")
    for body, theirs in zip(REQUESTS, published["results"], strict=True):
        assert _ours(body) == theirs, body

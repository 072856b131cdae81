"""``build_messages``: OpenAI-format messages that never modify the input."""

from __future__ import annotations

import asyncio
import base64
import copy
from pathlib import Path

import pytest
from inferencesh.models import ChatInput, LLMInput, build_messages
from inferencesh.models.llm import Tool, build_tools

PNG = b"\x89PNG\r\n\x1a\n0000"


def conversation() -> ChatInput:
    return ChatInput.model_validate(
        {
            "system_prompt": "be brief",
            "context": [
                {"role": "user", "text": "a"},
                {"role": "user", "text": "b"},
                {
                    "role": "assistant",
                    "text": "",
                    "reasoning": "think",
                    "tool_calls": [
                        {
                            "id": "1",
                            "type": "function",
                            "function": {"name": "f", "arguments": {"x": 1}},
                        }
                    ],
                },
                {"role": "tool", "text": "r1", "tool_call_id": "1"},
                {"role": "tool", "text": "r2", "tool_call_id": "2"},
            ],
            "text": "hi",
        }
    )


def test_messages_shape() -> None:
    messages = build_messages(conversation())
    assert messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a\n\nb"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
            ],
        },
        {"role": "tool", "content": "r1", "tool_call_id": "1"},
        {"role": "tool", "content": "r2", "tool_call_id": "2"},
        {"role": "user", "content": "hi"},
    ]


def test_input_is_never_modified() -> None:
    value = conversation()
    before = copy.deepcopy(value.model_dump())
    first = build_messages(value, include_reasoning=True)
    second = build_messages(value, include_reasoning=True)
    assert first == second
    assert value.model_dump() == before
    assert len(value.context) == 5
    # Changing the result does not reach back into the input either.
    first[2]["tool_calls"][0]["function"]["name"] = "changed"
    assert value.context[2].tool_calls is not None
    assert value.context[2].tool_calls[0]["function"]["name"] == "f"
    assert value.context[2].tool_calls[0]["function"]["arguments"] == {"x": 1}


def test_reasoning_is_opt_in() -> None:
    plain = build_messages(conversation())
    assert "reasoning_content" not in plain[2]
    with_reasoning = build_messages(conversation(), include_reasoning=True, reasoning_field="r")
    assert with_reasoning[2]["r"] == "think"


def test_images_and_files_become_parts(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.4")
    value = ChatInput.model_validate(
        {
            "text": "look",
            "images": [str(image), "https://cdn.example/dog.jpg"],
            "files": [str(doc)],
        }
    )
    as_url = build_messages(value, image_mode="url", file_mode="base64")
    parts = as_url[0]["content"]
    assert parts[0] == {"type": "text", "text": "look"}
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://cdn.example/dog.jpg"}}
    assert parts[3] == {
        "type": "file",
        "file": {"filename": "doc.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="},
    }


def test_base64_mode_needs_the_file_downloaded_first() -> None:
    value = ChatInput.model_validate({"text": "x", "images": ["http://127.0.0.1:9/never.png"]})

    async def inside_loop() -> None:
        with pytest.raises(RuntimeError, match="aresolve"):
            build_messages(value)

    asyncio.run(inside_loop())


def test_data_uri_images_pass_through() -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    value = ChatInput.model_validate({"text": "x", "images": [uri]})
    assert build_messages(value)[0]["content"][1]["image_url"]["url"] == uri


def test_legacy_input_and_transform() -> None:
    value = LLMInput(text="hello", system_prompt="")
    assert build_messages(value, transform_user_message=str.upper) == [
        {"role": "user", "content": "HELLO"}
    ]
    assert value.text == "hello"


def test_empty_current_turn_is_left_out() -> None:
    value = ChatInput.model_validate({"context": [{"role": "user", "text": "only"}]})
    assert build_messages(value) == [{"role": "user", "content": "only"}]


def test_build_tools() -> None:
    tools = build_tools(
        [
            {
                "type": "function",
                "function": {"name": "a", "parameters": {"properties": {"x": None}}},
            },
            {"name": "b", "description": "bare"},
            Tool.model_validate({"function": {"name": "c"}}),
        ]
    )
    assert tools == [
        {
            "type": "function",
            "function": {"name": "a", "parameters": {"properties": {}, "type": "object"}},
        },
        {
            "type": "function",
            "function": {
                "name": "b",
                "description": "bare",
                "parameters": {"type": "object", "properties": {}},
            },
        },
        {
            "type": "function",
            "function": {"name": "c", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    assert build_tools([]) is None

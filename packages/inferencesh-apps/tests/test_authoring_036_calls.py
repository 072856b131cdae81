"""App code written for the published SDK 0.36 runs on ours with the same meaning: ``BaseApp``
keywords, ``run(app_input=...)``, ``File(initializer=...)``, ``has_content``, the full
``build_messages`` and ``stream_generate`` parameter lists, and the stream classes
(``StreamResponse``, ``ResponseState``) and parse hooks of ``ResponseTransformer``."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh import BaseApp, File
from inferencesh.models import (
    ChatInput,
    DecisionInput,
    DecisionVisionInput,
    LLMOutput,
    build_messages,
)
from inferencesh.models.llm import (
    ResponseState,
    ResponseTransformer,
    StreamResponse,
    stream_generate,
    timing_context,
)


def text(piece: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"delta": {"content": piece}, "finish_reason": finish}]}


class ChunkModel:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks

    def create_chat_completion(self, **params: Any) -> Iterator[dict[str, Any]]:
        return iter(self.chunks)


# -- BaseApp and File -----------------------------------------------------------------------


def test_base_app_keywords_become_attributes() -> None:
    class App(BaseApp):
        async def run(self, input_data: Any) -> Any:
            return self.model(input_data)

    app = App(model=str.upper, device="cpu")
    assert app.device == "cpu"
    assert asyncio.run(app.run("hi")) == "HI"
    assert not hasattr(App(), "model")  # the runtime's App() sets nothing


def test_base_run_takes_the_036_keyword() -> None:
    with pytest.raises(NotImplementedError, match=r"App\.run is not implemented"):
        asyncio.run(type("App", (BaseApp,), {})().run(app_input={"x": 1}))


def test_file_initializer_is_the_source(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("abc")
    made = File(initializer=str(target))
    assert (made.path, made.filename) == (File(str(target)).path, "a.txt")
    assert File(initializer={"uri": "https://example.invalid/x.png"}).uri == (
        "https://example.invalid/x.png"
    )
    with pytest.raises(TypeError, match="both `source` and `initializer`"):
        File(str(target), initializer=str(target))


# -- decision inputs ------------------------------------------------------------------------


def test_has_content_sees_state_and_media(tmp_path: Path) -> None:
    question = {"id": "q", "instructions": "ok?"}
    assert DecisionInput(state="the text", nouls=[question]).has_content()
    assert not DecisionInput.model_construct(state="", nouls=[]).has_content()
    image = tmp_path / "i.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    vision = DecisionVisionInput(images=[File(path=str(image))], nouls=[question])
    assert vision.state == "" and vision.has_content()
    with pytest.raises(ValueError, match="nothing to evaluate"):
        DecisionVisionInput(nouls=[question])


# -- build_messages -------------------------------------------------------------------------


def test_build_messages_binds_036_positions() -> None:
    chat = ChatInput.model_validate(
        {"context": [{"role": "assistant", "text": "a", "reasoning": "why"}], "text": "q"}
    )
    # input_data, transform_user_message, include_reasoning, file_mode, image_mode,
    # image_limits, tool_media_as_user_message, reasoning_state_key, reasoning_field
    messages = build_messages(chat, str.upper, True, "base64", "url", None, False, None, "rc")
    assert messages[-2] == {"role": "assistant", "content": "a", "rc": "why"}
    assert messages[-1]["content"] == "Q"


def test_reasoning_state_key_replays_the_provider_state() -> None:
    details = [{"type": "reasoning.encrypted", "data": "xyz", "index": 0}]
    chat = ChatInput.model_validate(
        {
            "context": [
                {"role": "user", "text": "hi"},
                {
                    "role": "assistant",
                    "text": "hello",
                    "reasoning": "plain text",
                    "reasoning_state": {"openrouter": details, "other": [1]},
                },
            ],
            "text": "more",
        }
    )
    assistant = build_messages(chat, reasoning_state_key="openrouter", include_reasoning=True)[1]
    assert assistant["reasoning_details"] == details
    assert "reasoning" not in assistant
    assistant["reasoning_details"][0]["data"] = "changed"
    assert details[0]["data"] == "xyz"  # a copy: the input is never modified
    # Without the key (or with one the state lacks), the text goes as before.
    for key in (None, "missing"):
        plain = build_messages(chat, reasoning_state_key=key, include_reasoning=True)[1]
        assert plain.get("reasoning") == "plain text" and "reasoning_details" not in plain


def test_tool_media_moves_to_a_user_message(tmp_path: Path) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n0000")
    chat = ChatInput.model_validate(
        {
            "context": [
                {"role": "assistant", "text": "", "tool_calls": [_call("1")]},
                {"role": "tool", "text": "done", "tool_call_id": "1", "images": [str(image)]},
            ],
        }
    )
    kept = build_messages(chat)
    assert isinstance(kept[-1]["content"], list) and kept[-1]["role"] == "tool"
    moved = build_messages(chat, tool_media_as_user_message=True)
    assert moved[-2] == {"role": "tool", "content": "done", "tool_call_id": "1"}
    assert moved[-1]["role"] == "user"
    [part] = moved[-1]["content"]
    assert part["type"] == "image_url"
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    assert len(chat.context[1].images or []) == 1  # the input keeps its image


def test_image_limits_fit_inline_images(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    from inferencesh.images import ImageLimits

    path = tmp_path / "wide.png"
    pil.new("RGB", (800, 200), "white").save(path)
    chat = ChatInput.model_validate({"text": "look", "images": [str(path)]})
    limits = ImageLimits(max_long_edge=400)
    [message] = build_messages(chat, None, False, "base64", "base64", limits)
    url = message["content"][1]["image_url"]["url"]
    data = base64.b64decode(url.split(",", 1)[1])
    assert pil.open(io.BytesIO(data)).size == (400, 100)
    [unfitted] = build_messages(chat)
    data = base64.b64decode(unfitted["content"][1]["image_url"]["url"].split(",", 1)[1])
    assert pil.open(io.BytesIO(data)).size == (800, 200)


def _call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


# -- stream_generate and the stream classes -------------------------------------------------


def test_with_deltas_pairs_each_output_with_its_increment() -> None:
    model = ChunkModel([text("<think>hm</think>"), text("Hel"), text("lo", finish="stop")])
    pairs = list(stream_generate(model, [], with_deltas=True))
    outputs = [output for output, _ in pairs]
    assert outputs[-1].response == "Hello" and outputs[-1].reasoning == "hm"
    deltas = [delta for _, delta in pairs if delta is not None]
    assert "".join(d.response for d in deltas) == "Hello"
    assert "".join(d.reasoning or "" for d in deltas) == "hm"
    assert pairs[-1][1] is None  # the usage-only last output grew nothing


def test_stream_response_drives_a_036_style_loop() -> None:
    chunks = [
        text("<think>plan"),
        text("</think>Hi<|im_end|>"),
        # OpenAI sends the id once; later fragments carry only the index.
        {"choices": [{"delta": {"tool_calls": [_fragment(0, "c1", "look", '{"q"')]}}]},
        {"choices": [{"delta": {"tool_calls": [_fragment(0, None, None, ': "x"}')]}}]},
        {"choices": [{"delta": {}}]},
        {
            "choices": [{"delta": {}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        },
    ]
    stream, transformer, buffer = StreamResponse(), ResponseTransformer(), ""
    outputs = []
    with timing_context() as timing:
        for chunk in chunks:
            stream.update_from_chunk(chunk, timing)
            if stream.has_updates():
                output, buffer = stream.to_output(buffer, transformer)
                outputs.append(output)
    assert len(outputs) == 5  # the empty chunk changed nothing
    assert buffer == "<think>plan</think>Hi<|im_end|>"
    final = outputs[-1]
    assert (final.response, final.reasoning) == ("Hi", "plan")
    assert final.tool_calls == [
        {"id": "c1", "type": "function", "function": {"name": "look", "arguments": '{"q": "x"}'}}
    ]
    assert final.usage is not None and final.usage.stop_reason == "tool_calls"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (3, 5)
    assert all(o.usage is None for o in outputs[:-1])
    assert stream.usage_stats["total_tokens"] == 8
    assert transformer.state.state_changes["reasoning_ended"]


def _fragment(index: int, call_id: str | None, name: str | None, args: str) -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id:
        fragment["id"] = call_id
    if name:
        fragment["function"]["name"] = name
    return fragment


def test_calling_the_transformer_accumulates_like_036() -> None:
    transformer = ResponseTransformer()
    buffer = ""
    changes: dict[str, bool] = {}
    for piece in ("<think>a", "b</think>", "answer"):
        buffer, output, changes = transformer(piece, buffer)
    assert buffer == "<think>ab</think>answer"
    assert (output.response, output.reasoning) == ("answer", "ab")
    assert changes["reasoning_started"] and changes["reasoning_ended"]
    # A buffer that is not the one it returned starts over from it.
    buffer, output, _ = transformer("!", "fresh")
    assert (buffer, output.response, output.reasoning) == ("fresh!", "fresh!", None)
    assert isinstance(transformer.state, ResponseState)


class TaggedToolCalls(ResponseTransformer):
    """A model that writes its calls as ``<tool_call>{json}</tool_call>`` in the text."""

    PATTERN = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)

    def handle_tool_calls(self, text: str) -> None:
        calls = []
        for index, found in enumerate(self.PATTERN.finditer(text)):
            body = json.loads(found.group(1))
            arguments = json.dumps(body["arguments"])
            function = {"name": body["name"], "arguments": arguments}
            calls.append({"id": f"call_{index}", "type": "function", "function": function})
        if calls:
            self.state.tool_calls = calls
            self.state.response = self.PATTERN.sub("", text).strip()


class Shouting(ResponseTransformer):
    def transform_chunk(self, chunk: str) -> None:
        self.state.buffer = self.state.response = chunk.upper()


def test_parse_hooks_shape_stream_generate_output() -> None:
    call = '<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>'
    model = ChunkModel([text("Sure. "), text(call[:20]), text(call[20:], finish="stop")])
    final = list(stream_generate(model, [], transformer=TaggedToolCalls()))[-1]
    assert final.response == "Sure."
    assert final.tool_calls == [
        {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    ]
    shouted = list(stream_generate(ChunkModel([text("<think>x</think>hi")]), [], Shouting()))
    # The upper-cased <THINK> is no tag: all of it is response.
    assert (shouted[-1].response, shouted[-1].reasoning) == ("<THINK>X</THINK>HI", None)


def test_stream_generate_binds_036_positions() -> None:
    model = ChunkModel([text("a", finish="stop")])
    pairs = list(
        stream_generate(
            model, [], None, None, None, 0.5, 0.9, None, False, LLMOutput, None, None, True
        )
    )
    assert pairs[-1][0].response == "a"

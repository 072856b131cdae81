"""Small translations from the LLM input types to what model providers take: tool choice and
response format in OpenAI's and llama.cpp's shapes, streamed reasoning details folded together,
and local files as base64 data URIs. All pure; importable from :mod:`inferencesh.models.llm`
too, where apps written for the published SDK 0.36 import them.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from typing import Any

__all__ = [
    "file_to_base64_data_uri",
    "image_to_base64_data_uri",
    "llamacpp_response_format",
    "merge_reasoning_details",
    "openai_response_format",
    "openai_tool_choice",
]

_CONCATENATED = ("text", "summary", "data")


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def openai_tool_choice(choice: Any) -> Any:
    """OpenAI's ``tool_choice`` for a :class:`~inferencesh.models.llm.ToolChoice` (``None``:
    ``"auto"``): ``"auto"``, ``"none"``, ``"required"``, or ``{"type": "function", "function":
    {"name": ...}}`` for mode ``function``.

    Example:
        >>> from inferencesh.models.llm import ToolChoice, openai_tool_choice
        >>> openai_tool_choice(ToolChoice(mode="function", name="lookup"))
        {'type': 'function', 'function': {'name': 'lookup'}}
        >>> openai_tool_choice(None)
        'auto'
    """
    if choice is None:
        return "auto"
    mode = str(_value(choice.mode))
    if mode == "function":
        return {"type": "function", "function": {"name": choice.name}}
    return mode


def openai_response_format(fmt: Any) -> dict[str, Any] | None:
    """OpenAI's ``response_format`` for a :class:`~inferencesh.models.llm.ResponseFormat`:
    ``None`` for plain text, ``{"type": "json_object"}``, or ``{"type": "json_schema",
    "json_schema": {"name", "schema", "strict"?}}`` (name ``"response"`` when unset).

    Example:
        >>> from inferencesh.models.llm import ResponseFormat, openai_response_format
        >>> openai_response_format(ResponseFormat(type="json_schema", json_schema={"type": "object"}))
        {'type': 'json_schema', 'json_schema': {'name': 'response', 'schema': {'type': 'object'}}}
    """
    kind = None if fmt is None else str(_value(fmt.type))
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    spec: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.json_schema}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def llamacpp_response_format(fmt: Any) -> dict[str, Any] | None:
    """llama-cpp-python's ``response_format``: ``None`` for plain text, ``{"type":
    "json_object"}``, or ``{"type": "json_object", "schema": ...}`` for a JSON schema."""
    kind = None if fmt is None else str(_value(fmt.type))
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    return {"type": "json_object", "schema": fmt.json_schema}


def merge_reasoning_details(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold streamed reasoning-detail fragments: consecutive fragments with the same ``type``
    and ``index`` become one, their ``text``, ``summary`` and ``data`` joined, other keys taken
    from the latest fragment (``None`` values are skipped). The input is not modified.

    Example:
        >>> from inferencesh.models.llm import merge_reasoning_details
        >>> merge_reasoning_details([
        ...     {"type": "reasoning.text", "index": 0, "text": "Let me "},
        ...     {"type": "reasoning.text", "index": 0, "text": "think.", "signature": "s"},
        ... ])
        [{'type': 'reasoning.text', 'index': 0, 'text': 'Let me think.', 'signature': 's'}]
    """
    merged: list[dict[str, Any]] = []
    for fragment in details:
        last = merged[-1] if merged else None
        same = last is not None and (last.get("type"), last.get("index")) == (
            fragment.get("type"),
            fragment.get("index"),
        )
        if last is None or not same:
            merged.append({k: v for k, v in fragment.items() if v is not None})
            continue
        for key, value in fragment.items():
            if value is None:
                continue
            if key in _CONCATENATED and isinstance(value, str) and isinstance(last.get(key), str):
                last[key] += value
            else:
                last[key] = value
    return merged


def _data_uri(path: str | os.PathLike[str], content_type: str) -> str:
    with open(path, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    return f"data:{content_type};base64,{encoded}"


def image_to_base64_data_uri(file_path: str | os.PathLike[str]) -> str:
    """The image at ``file_path`` as a ``data:`` URI; the type from the extension (PNG when
    the extension names no image type)."""
    guessed = mimetypes.guess_type(os.fspath(file_path))[0]
    content_type = guessed if guessed and guessed.startswith("image/") else "image/png"
    return _data_uri(file_path, content_type)


def file_to_base64_data_uri(file_path: str | os.PathLike[str]) -> str:
    """The file at ``file_path`` as a ``data:`` URI; the type from the extension
    (``application/octet-stream`` when unknown)."""
    guessed = mimetypes.guess_type(os.fspath(file_path))[0]
    return _data_uri(file_path, guessed or "application/octet-stream")

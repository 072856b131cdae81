"""The apps' string enums read the same on every Python: ``str()`` and f-strings give the wire
value (3.10 formatted a ``(str, Enum)`` as its value, 3.11+ as ``Class.NAME``)."""

from __future__ import annotations

import enum
import json

import pytest
from inferencesh.apps.output_meta import MetaItemType, VideoMeta, VideoResolution
from inferencesh.models.llm import ContextMessage, ContextMessageRole, ReasoningEffortEnum

MEMBERS = [
    ContextMessageRole.ASSISTANT,
    ReasoningEffortEnum.HIGH,
    MetaItemType.VIDEO,
    VideoResolution.RES_1080P,
]


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: type(m).__name__)
def test_str_and_format_give_the_value(member: enum.Enum) -> None:
    value = member.value
    assert str(member) == f"{member}" == format(member) == value
    assert f"{member:>12}" == value.rjust(12)
    assert member == value and type(str(member)) is str
    assert repr(member) == f"<{type(member).__name__}.{member.name}: {value!r}>"


def test_models_still_carry_and_serialize_the_members() -> None:
    message = ContextMessage.model_validate({"role": "assistant", "text": "hi"})
    assert message.role is ContextMessageRole.ASSISTANT
    assert f"{message.role}: {message.text}" == "assistant: hi"
    meta = VideoMeta(resolution=VideoResolution.RES_4K)
    assert json.loads(meta.model_dump_json())["resolution"] == "4k"
    assert meta.model_dump(mode="json")["type"] == "video"

"""App model classes written the way apps for the published inferencesh 0.36 write them.

Run as a script by an interpreter with either package installed (ours, or the published 0.36 in
``.venvs/published``), it prints one JSON object: for every class of ``CORPUS``, its JSON schema in
validation and serialization mode, or the error that schema generation raised. The differential
test (``test_schema_parity_036.py``) runs it under both and compares the two.

It imports only names both packages export from the same modules, so the same source defines
the same classes under both. Descriptions written here start with "Corpus:"; the comparison keeps
them and leaves out the descriptions of the packages' own fields (see the test).
"""

from __future__ import annotations

import enum
import json
import sys
from typing import Any, Dict, List, Literal, Optional, Union

from inferencesh import BaseAppInput, BaseAppOutput, BaseAppSetup, File
from inferencesh.models.base import (
    OptionalAudioFieldMixin,
    OptionalFileFieldMixin,
    OptionalImageFieldMixin,
    OptionalTextFieldMixin,
    OptionalVideoFieldMixin,
    OrderedSchemaModel,
    RequiredAudioFieldMixin,
    RequiredFileFieldMixin,
    RequiredImageFieldMixin,
    RequiredTextFieldMixin,
    RequiredVideoFieldMixin,
)
from inferencesh.models.llm import ContextMessage, LLMInput, LLMOutput, Message
from inferencesh.models.output_meta import (
    AudioMeta,
    ImageMeta,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
)
from pydantic import BaseModel, Field

# ruff: noqa: UP006, UP007, UP035, UP045 - typing spelled as apps for 0.36 spell it


class Style(str, enum.Enum):
    VIVID = "vivid"
    NATURAL = "natural"


class Quality(enum.Enum):
    LOW = 1
    HIGH = 2


class Box(BaseModel):
    width: int = Field(default=512, ge=64, le=2048, description="Corpus: box width")
    height: int = 512


class Region(BaseAppInput):
    label: str
    box: Box = Field(default_factory=Box)


class ScalarInput(BaseAppInput):
    prompt: str = Field(description="Corpus: the prompt", examples=["a cat"])
    negative: str = ""
    steps: int = Field(default=20, ge=1, le=100)
    guidance: float = Field(default=7.5, gt=0)
    seed: Optional[int] = None
    enabled: bool = True
    ratio: Literal["1:1", "16:9", "9:16"] = "1:1"
    style: Style = Style.VIVID
    quality: Quality = Quality.HIGH
    tags: List[str] = Field(default_factory=list)
    weights: Dict[str, float] = Field(default_factory=dict)
    either: Union[int, str] = 0
    secret: str = Field(default="", json_schema_extra={"x-secret": True})


class FileInput(BaseAppInput):
    image: File = Field(description="Corpus: the image")
    mask: Optional[File] = None
    references: List[File] = Field(default_factory=list)
    maybe_many: Optional[List[File]] = None
    video: File = Field(
        default=None,
        description="Corpus: a video",
        json_schema_extra={"contentMediaType": "video/*"},
    )


class NestedInput(BaseAppInput):
    regions: List[Region] = Field(default_factory=list)
    main: Region
    optional_box: Optional[Box] = None


class BaseForm(BaseAppInput):
    alpha: str = "a"
    beta: int = 1
    gamma: float = 0.5


class ChildForm(BaseForm):
    delta: bool = False
    beta: int = Field(default=2, description="Corpus: redeclared")


class GrandchildForm(ChildForm):
    epsilon: str = "e"
    alpha: str = "z"


class AppSetup(BaseAppSetup):
    model_id: str = "default"
    precision: Literal["fp16", "fp32"] = "fp16"


class PlainOutput(BaseAppOutput):
    text: str
    image: File
    extra_files: List[File] = Field(default_factory=list)
    preview: Optional[File] = None
    box: Optional[Box] = None


class DerivedOutput(PlainOutput):
    score: float = 0.0
    text: str = "redeclared"


class MetaOnlyOutput(BaseAppOutput):
    pass


class AppInput(LLMInput):
    model: str = Field(default="m", description="Corpus: the model")
    context_size: int = 8192


class AppOutput(LLMOutput):
    citations: List[str] = Field(default_factory=list)


class ChatLikeInput(LLMInput):
    pass


class ChatLikeOutput(LLMOutput):
    pass


class MixinFirstInput(RequiredImageFieldMixin, OptionalTextFieldMixin, BaseAppInput):
    prompt: str = Field(description="Corpus: the prompt")
    steps: int = 20


class MixinLastInput(BaseAppInput, OptionalVideoFieldMixin, RequiredAudioFieldMixin):
    seed: Optional[int] = None


class EveryOptionalMixin(
    OptionalImageFieldMixin,
    OptionalVideoFieldMixin,
    OptionalAudioFieldMixin,
    OptionalFileFieldMixin,
    OptionalTextFieldMixin,
    BaseAppInput,
):
    pass


class EveryRequiredMixin(
    RequiredImageFieldMixin,
    RequiredVideoFieldMixin,
    RequiredAudioFieldMixin,
    RequiredTextFieldMixin,
    BaseAppInput,
):
    label: str = "x"


class MixinOnlyModel(OptionalImageFieldMixin, RequiredTextFieldMixin):
    weight: float = 1.0


class RequiredFileInput(RequiredFileFieldMixin, BaseAppInput):
    note: str = ""


class OrderedModel(OrderedSchemaModel):
    zulu: int
    alpha: str = "a"
    mid: Optional[Box] = None


class OrderedChild(OrderedModel):
    beta: bool = False
    zulu: int = 3


CORPUS: Dict[str, Any] = {
    "ScalarInput": ScalarInput,
    "FileInput": FileInput,
    "NestedInput": NestedInput,
    "Region": Region,
    "BaseForm": BaseForm,
    "ChildForm": ChildForm,
    "GrandchildForm": GrandchildForm,
    "AppSetup": AppSetup,
    "PlainOutput": PlainOutput,
    "DerivedOutput": DerivedOutput,
    "MetaOnlyOutput": MetaOnlyOutput,
    "OutputMeta": OutputMeta,
    "TextMeta": TextMeta,
    "ImageMeta": ImageMeta,
    "VideoMeta": VideoMeta,
    "AudioMeta": AudioMeta,
    "RawMeta": RawMeta,
    "Message": Message,
    "ContextMessage": ContextMessage,
    "LLMInput": LLMInput,
    "LLMOutput": LLMOutput,
    "AppInput": AppInput,
    "AppOutput": AppOutput,
    "ChatLikeInput": ChatLikeInput,
    "ChatLikeOutput": ChatLikeOutput,
    "MixinFirstInput": MixinFirstInput,
    "MixinLastInput": MixinLastInput,
    "EveryOptionalMixin": EveryOptionalMixin,
    "EveryRequiredMixin": EveryRequiredMixin,
    "MixinOnlyModel": MixinOnlyModel,
    "RequiredFileInput": RequiredFileInput,
    "OrderedModel": OrderedModel,
    "OrderedChild": OrderedChild,
    "OptionalImageFieldMixin": OptionalImageFieldMixin,
    "RequiredImageFieldMixin": RequiredImageFieldMixin,
    "OptionalVideoFieldMixin": OptionalVideoFieldMixin,
    "RequiredVideoFieldMixin": RequiredVideoFieldMixin,
    "OptionalAudioFieldMixin": OptionalAudioFieldMixin,
    "RequiredAudioFieldMixin": RequiredAudioFieldMixin,
    "OptionalFileFieldMixin": OptionalFileFieldMixin,
    "RequiredFileFieldMixin": RequiredFileFieldMixin,
    "OptionalTextFieldMixin": OptionalTextFieldMixin,
    "RequiredTextFieldMixin": RequiredTextFieldMixin,
}


def _decision_classes() -> Dict[str, Any]:
    from inferencesh.models import decision

    class VisionApp(decision.DecisionVisionInput):
        detail: Literal["low", "high"] = "low"

    class DecisionAppOutput(decision.DecisionOutput):
        latency_ms: float = 0.0

    return {
        "DecisionInput": decision.DecisionInput,
        "DecisionVisionInput": decision.DecisionVisionInput,
        "DecisionVideoInput": decision.DecisionVideoInput,
        "DecisionOutput": decision.DecisionOutput,
        "VisionApp": VisionApp,
        "DecisionAppOutput": DecisionAppOutput,
    }


def schemas() -> Dict[str, Any]:
    """Every corpus class's schema in both modes, or the error it raised."""
    classes = dict(CORPUS)
    try:
        classes.update(_decision_classes())
    except ImportError as exc:  # a package without the decision module
        classes["decision"] = exc
    result: Dict[str, Any] = {}
    for name, cls in classes.items():
        if isinstance(cls, Exception):
            result[name] = {"error": f"{type(cls).__name__}: {cls}"}
            continue
        entry: Dict[str, Any] = {}
        for mode in ("validation", "serialization"):
            try:
                entry[mode] = cls.model_json_schema(mode=mode)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                entry[mode] = {"error": f"{type(exc).__name__}: {exc}"}
        result[name] = entry
    return result


if __name__ == "__main__":
    json.dump(schemas(), sys.stdout, indent=1, default=str)

"""Usage metadata an app reports for billing: ``OutputMeta`` and its item types.

Each item carries a literal ``type`` that acts as the discriminator, so a list of items read back
from JSON decodes every entry into its own class (``{"type": "video"}`` gives a ``VideoMeta``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from inferencesh.core.types import WireEnum
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AudioMeta",
    "ImageMeta",
    "MetaItem",
    "MetaItemType",
    "MetaItemUnion",
    "OutputMeta",
    "RawMeta",
    "TextMeta",
    "VideoMeta",
    "VideoResolution",
]


class MetaItemType(WireEnum):
    """The kinds of usage items the platform prices."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    RAW = "raw"


class VideoResolution(WireEnum):
    """Named video resolutions the platform's pricing understands."""

    RES_480P = "480p"
    RES_720P = "720p"
    RES_1080P = "1080p"
    RES_1440P = "1440p"
    RES_4K = "4k"


class MetaItem(BaseModel):
    """Common base of the usage items: a ``type`` tag plus free-form ``extra`` pricing factors."""

    model_config = ConfigDict(extra="ignore")

    type: str
    extra: dict[str, Any] | None = Field(
        default=None, description="Custom pricing factors for this item"
    )


class TextMeta(MetaItem):
    """Text usage in tokens; ``cached_tokens`` and ``cache_write_tokens`` are part of ``tokens``."""

    type: Literal["text"] = "text"
    tokens: int = Field(default=0, ge=0, description="Tokens, cached ones included")
    cached_tokens: int = Field(default=0, ge=0, description="Tokens read from a prompt cache")
    cache_write_tokens: int = Field(default=0, ge=0, description="Tokens written to a prompt cache")


class ImageMeta(MetaItem):
    """Images consumed or produced."""

    type: Literal["image"] = "image"
    width: int = Field(default=0, ge=0)
    height: int = Field(default=0, ge=0)
    resolution_mp: float = Field(default=0.0, ge=0, description="Resolution in megapixels")
    steps: int = Field(default=0, ge=0, description="Diffusion steps, where relevant")
    count: int = Field(default=1, ge=0, description="Number of images")


class VideoMeta(MetaItem):
    """Video consumed or produced."""

    type: Literal["video"] = "video"
    width: int = Field(default=0, ge=0)
    height: int = Field(default=0, ge=0)
    resolution_mp: float = Field(default=0.0, ge=0, description="Resolution in megapixels")
    resolution: VideoResolution | None = Field(default=None, description="Named resolution")
    seconds: float = Field(default=0.0, ge=0, description="Duration in seconds")
    fps: int = Field(default=0, ge=0, description="Frames per second")


class AudioMeta(MetaItem):
    """Audio consumed or produced."""

    type: Literal["audio"] = "audio"
    seconds: float = Field(default=0.0, ge=0, description="Duration in seconds")
    sample_rate: int = Field(default=0, ge=0, description="Samples per second")


class RawMeta(MetaItem):
    """A cost the app computed itself, in dollar cents."""

    type: Literal["raw"] = "raw"
    cost: float = Field(default=0.0, ge=0, description="Cost in dollar cents")


MetaItemUnion = Annotated[
    Union[TextMeta, ImageMeta, VideoMeta, AudioMeta, RawMeta],  # noqa: UP007 - a runtime union
    Field(discriminator="type"),
]
"""Any usage item, told apart by its ``type``."""


class OutputMeta(BaseModel):
    """Usage of one task: what went in and what came out, as typed items.

    Put it on an output that extends ``BaseAppOutput`` (field ``output_meta``)::

        AppOutput(text=..., output_meta=OutputMeta(outputs=[TextMeta(tokens=42)]))
    """

    inputs: list[MetaItemUnion] = Field(default_factory=list, description="Usage of the inputs")
    outputs: list[MetaItemUnion] = Field(default_factory=list, description="Usage of the outputs")

    @classmethod
    def from_llm_usage(cls, usage: Any) -> OutputMeta:
        """Build text usage from an LLM usage object or dict.

        Reads ``prompt_tokens`` (cached included), ``cached_tokens``, ``cache_write_tokens`` and
        ``completion_tokens``; a zero count produces no item.
        """

        def get(name: str) -> int:
            value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
            return int(value or 0)

        inputs: list[MetaItemUnion] = []
        outputs: list[MetaItemUnion] = []
        if get("prompt_tokens"):
            inputs.append(
                TextMeta(
                    tokens=get("prompt_tokens"),
                    cached_tokens=get("cached_tokens"),
                    cache_write_tokens=get("cache_write_tokens"),
                )
            )
        if get("completion_tokens"):
            outputs.append(TextMeta(tokens=get("completion_tokens")))
        return cls(inputs=inputs, outputs=outputs)

"""``inferencesh.models.output_meta``: the usage item types, at the path apps import them from."""

from inferencesh.apps.output_meta import (
    AudioMeta,
    ImageMeta,
    MetaItem,
    MetaItemType,
    MetaItemUnion,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
    VideoResolution,
)

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

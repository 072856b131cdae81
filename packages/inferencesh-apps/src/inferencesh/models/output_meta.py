"""``inferencesh.models.output_meta``: the usage item types, at the path apps import them from."""

from inferencesh.apps.output_meta import (
    AudioMeta,
    FFprobeNotFoundError,
    ImageMeta,
    MetaItem,
    MetaItemType,
    MetaItemUnion,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
    VideoResolution,
    probe_video,
)

__all__ = [
    "AudioMeta",
    "FFprobeNotFoundError",
    "ImageMeta",
    "MetaItem",
    "MetaItemType",
    "MetaItemUnion",
    "OutputMeta",
    "RawMeta",
    "TextMeta",
    "VideoMeta",
    "VideoResolution",
    "probe_video",
]

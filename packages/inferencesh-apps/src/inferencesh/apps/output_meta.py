"""Usage metadata an app reports for billing: ``OutputMeta`` and its item types.

A list of items read back from JSON decodes every entry of a known ``type`` into its own class
(``{"type": "video"}`` gives a ``VideoMeta``); an item of another ``type`` is kept too. The JSON
schemas are those of the published SDK 0.36 (a plain ``anyOf`` of the item types).
:func:`probe_video` measures a video file with ``ffprobe``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Annotated, Any, Union

from inferencesh.core.types import WireEnum
from pydantic import BaseModel, BeforeValidator, Field

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


class MetaItemType(WireEnum):
    """The kinds of usage items the platform prices."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    RAW = "raw"


class VideoResolution(WireEnum):
    """Named video resolutions the platform's pricing understands.

    Members are named as in the published SDK 0.36 (``VIDEO_RES480_P``, ...); the shorter
    ``RES_480P`` spellings are aliases of the same members.

    Example:
        >>> from inferencesh import VideoMeta, VideoResolution
        >>> VideoResolution.VIDEO_RES1080_P.value, VideoResolution("4k").name
        ('1080p', 'VIDEO_RES4_K')
        >>> VideoResolution.RES_720P is VideoResolution.VIDEO_RES720_P
        True
        >>> VideoMeta(resolution="540p").resolution  # any preset string is kept, as in 0.36
        '540p'
    """

    VIDEO_RES480_P = "480p"
    VIDEO_RES720_P = "720p"
    VIDEO_RES1080_P = "1080p"
    VIDEO_RES1440_P = "1440p"
    VIDEO_RES4_K = "4k"
    RES_480P = "480p"
    RES_720P = "720p"
    RES_1080P = "1080p"
    RES_1440P = "1440p"
    RES_4K = "4k"


class MetaItem(BaseModel):
    """Common base of the usage items: a ``type`` tag plus free-form ``extra`` pricing factors."""

    type: str
    extra: dict[str, Any] | None = Field(
        default=None, description="Custom pricing factors of this item, by name"
    )


class TextMeta(MetaItem):
    """Text usage in tokens; ``cached_tokens`` and ``cache_write_tokens`` are part of ``tokens``."""

    type: str = "text"
    tokens: int = Field(default=0, description="Tokens, cached ones included")
    cached_tokens: int = Field(default=0, description="Tokens read from a prompt cache")
    cache_write_tokens: int = Field(default=0, description="Tokens written to a prompt cache")


class ImageMeta(MetaItem):
    """Images consumed or produced."""

    type: str = "image"
    width: int = Field(default=0, description="Width in pixels")
    height: int = Field(default=0, description="Height in pixels")
    resolution_mp: float = Field(default=0, description="Resolution in megapixels")
    steps: int = Field(default=0, description="Diffusion steps, where relevant")
    count: int = Field(default=1, description="Number of images")


class VideoMeta(MetaItem):
    """Video consumed or produced. ``resolution`` is a preset name such as ``"720p"`` (see
    :class:`VideoResolution`); any string is kept."""

    type: str = "video"
    width: int = Field(default=0, description="Width in pixels")
    height: int = Field(default=0, description="Height in pixels")
    resolution_mp: float = Field(default=0, description="Resolution of one frame in megapixels")
    resolution: str | None = Field(
        default=None, description="Resolution preset: 480p, 720p, 1080p, 1440p or 4k"
    )
    seconds: float = Field(default=0, description="Duration in seconds")
    fps: int = Field(default=0, description="Frames per second")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> VideoMeta:
        """Usage of the video at ``path``, measured by ``ffprobe`` (see :func:`probe_video`).

        Keyword arguments set or override fields (``resolution="720p"``). Raises
        :class:`FFprobeNotFoundError` when ``ffprobe`` is not installed.
        """
        probed = probe_video(path)
        width, height = int(probed.get("width") or 0), int(probed.get("height") or 0)
        fields: dict[str, Any] = {
            "width": width,
            "height": height,
            "resolution_mp": width * height / 1_000_000,
            "seconds": float(probed.get("seconds") or 0),
            "fps": round(float(probed.get("fps") or 0)),
        }
        return cls(**(fields | overrides))


class AudioMeta(MetaItem):
    """Audio consumed or produced."""

    type: str = "audio"
    seconds: float = Field(default=0, description="Duration in seconds")
    sample_rate: int = Field(default=0, description="Samples per second")


class RawMeta(MetaItem):
    """A cost the app computed itself, in dollar cents."""

    type: str = "raw"
    cost: float = Field(default=0, description="Cost in dollar cents")


_ITEM_CLASSES: dict[str, type[MetaItem]] = {
    "text": TextMeta,
    "image": ImageMeta,
    "video": VideoMeta,
    "audio": AudioMeta,
    "raw": RawMeta,
}


def _known_kind(value: Any) -> Any:
    # A dict whose `type` names a kind decodes into that kind's class (a bare {"type": "video"}
    # is a VideoMeta); anything else is left to the union, which takes any `type` string.
    if isinstance(value, dict):
        item_class = _ITEM_CLASSES.get(value.get("type"))  # type: ignore[arg-type]
        if item_class is not None:
            return item_class.model_validate(value)
    return value


MetaItemUnion = Annotated[
    Union[TextMeta, ImageMeta, VideoMeta, AudioMeta, RawMeta],  # noqa: UP007 - a runtime union
    BeforeValidator(_known_kind),
]
"""Any usage item: a known ``type`` picks its class; other ``type`` strings are kept."""


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


class FFprobeNotFoundError(RuntimeError):
    """``ffprobe`` is not installed: :func:`probe_video` needs FFmpeg's ``ffprobe`` on ``PATH``."""


_PROBE_TIMEOUT = 10.0


def probe_video(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{width, height, fps, nb_frames, seconds}`` of the first video stream of ``path``, read
    with ``ffprobe`` (blocking, at most 10 s; in async code call it through
    ``asyncio.to_thread``).

    As in the published SDK 0.36 a file ``ffprobe`` cannot read (or one without a video stream)
    gives ``{}``; but a missing ``ffprobe`` raises :class:`FFprobeNotFoundError` saying what to
    install, instead of passing for an unreadable file.

    Example:
        >>> from inferencesh import probe_video
        >>> try:
        ...     probe_video("not-a-video.txt")
        ... except RuntimeError as exc:  # no ffprobe on this machine
        ...     print("ffmpeg" in str(exc))
        ... else:
        ...     print(True)
        True
    """
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise FFprobeNotFoundError(
            "probe_video needs `ffprobe`, which is not on PATH: install FFmpeg "
            "(apt-get install ffmpeg, brew install ffmpeg, or https://ffmpeg.org/download.html)"
        )
    command = [ffprobe, "-v", "error", "-print_format", "json", "-show_streams", os.fspath(path)]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=_PROBE_TIMEOUT, check=False, text=True
        )
        streams = json.loads(done.stdout or "{}").get("streams") or []
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return {}
    video = next(
        (s for s in streams if isinstance(s, dict) and s.get("codec_type") == "video"), None
    )
    if video is None:
        return {}
    return _video_facts(video)


def _rate(text: Any) -> float:
    try:
        top, _, bottom = str(text).partition("/")
        return float(top) / float(bottom or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _video_facts(stream: dict[str, Any]) -> dict[str, Any]:
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    try:
        frames = int(stream.get("nb_frames") or 0)
    except ValueError:
        frames = 0
    try:
        duration = float(stream.get("duration") or 0)
    except ValueError:
        duration = 0.0
    if not frames and duration and fps:
        frames = round(duration * fps)
    seconds = frames / fps if frames and fps else duration
    return {
        "width": int(stream.get("width") or 0),
        "height": int(stream.get("height") or 0),
        "fps": fps,
        "nb_frames": frames,
        "seconds": seconds,
    }

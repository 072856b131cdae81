"""Input mixins that add one media or text field to an app input (0.36's
``inferencesh.models.base`` names).

Each adds a single field, optional (default ``None``) or required, and files carry a
``contentMediaType`` hint so the platform's form offers the right picker::

    class AppInput(RequiredImageFieldMixin, BaseAppInput):
        prompt: str

gives ``prompt`` and a required ``image: File``. The mixins are plain pydantic models (not app
bases), so a class built only from them keeps pydantic's field order, and a blank file sent for
an optional one (``""`` or ``{}``) reads as ``None``, as in 0.36.

Unlike 0.36, ``RequiredFileFieldMixin.file`` is required (0.36 made it optional, its bug 9).
"""

from __future__ import annotations

from inferencesh.apps.app import BlankFilesAsNone
from inferencesh.apps.file import File
from pydantic import Field
from pydantic.config import JsonDict

__all__ = [
    "OptionalAudioFieldMixin",
    "OptionalFileFieldMixin",
    "OptionalImageFieldMixin",
    "OptionalTextFieldMixin",
    "OptionalVideoFieldMixin",
    "RequiredAudioFieldMixin",
    "RequiredFileFieldMixin",
    "RequiredImageFieldMixin",
    "RequiredTextFieldMixin",
    "RequiredVideoFieldMixin",
]

_IMAGE: JsonDict = {"contentMediaType": "image/*"}
_VIDEO: JsonDict = {"contentMediaType": "video/*"}
_AUDIO: JsonDict = {"contentMediaType": "audio/*"}


class OptionalImageFieldMixin(BlankFilesAsNone):
    """Adds an optional ``image`` file."""

    image: File | None = Field(
        default=None, description="Input image (optional).", json_schema_extra=_IMAGE
    )


class RequiredImageFieldMixin(BlankFilesAsNone):
    """Adds a required ``image`` file."""

    image: File = Field(description="Input image.", json_schema_extra=_IMAGE)


class OptionalVideoFieldMixin(BlankFilesAsNone):
    """Adds an optional ``video`` file."""

    video: File | None = Field(
        default=None, description="Input video (optional).", json_schema_extra=_VIDEO
    )


class RequiredVideoFieldMixin(BlankFilesAsNone):
    """Adds a required ``video`` file."""

    video: File = Field(description="Input video.", json_schema_extra=_VIDEO)


class OptionalAudioFieldMixin(BlankFilesAsNone):
    """Adds an optional ``audio`` file."""

    audio: File | None = Field(
        default=None, description="Input audio (optional).", json_schema_extra=_AUDIO
    )


class RequiredAudioFieldMixin(BlankFilesAsNone):
    """Adds a required ``audio`` file."""

    audio: File = Field(description="Input audio.", json_schema_extra=_AUDIO)


class OptionalFileFieldMixin(BlankFilesAsNone):
    """Adds an optional ``file`` of any type."""

    file: File | None = Field(default=None, description="Input file (optional).")


class RequiredFileFieldMixin(BlankFilesAsNone):
    """Adds a required ``file`` of any type (required here; 0.36 left it optional)."""

    file: File = Field(description="Input file.")


class OptionalTextFieldMixin(BlankFilesAsNone):
    """Adds an optional ``text`` string."""

    text: str | None = Field(default=None, description="Input text (optional).")


class RequiredTextFieldMixin(BlankFilesAsNone):
    """Adds a required ``text`` string."""

    text: str = Field(description="Input text.")

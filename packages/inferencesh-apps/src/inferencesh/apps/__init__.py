"""inferencesh-apps: the authoring API, runtime, worker, local platform and CLI for apps.

App authors import from here (or from the top-level ``inferencesh``)::

    from inferencesh.apps import BaseApp, BaseAppInput, BaseAppOutput, File, Metadata
"""

from inferencesh.apps._version import __version__
from inferencesh.apps.app import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup
from inferencesh.apps.file import File, FileDownloadError, resolve_files
from inferencesh.apps.metadata import Metadata
from inferencesh.apps.output_meta import (
    AudioMeta,
    ImageMeta,
    MetaItem,
    MetaItemType,
    OutputMeta,
    RawMeta,
    TextMeta,
    VideoMeta,
    VideoResolution,
)

__all__ = [
    "AudioMeta",
    "BaseApp",
    "BaseAppInput",
    "BaseAppOutput",
    "BaseAppSetup",
    "File",
    "FileDownloadError",
    "ImageMeta",
    "MetaItem",
    "MetaItemType",
    "Metadata",
    "OutputMeta",
    "RawMeta",
    "TextMeta",
    "VideoMeta",
    "VideoResolution",
    "__version__",
    "resolve_files",
]

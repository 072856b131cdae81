"""The 0.36 path ``inferencesh.live``; live sessions live in ``inferencesh.core.live``."""

from inferencesh.core.live import MAX_REDIALS as MAX_REDIALS
from inferencesh.core.live import REDIAL_CODES as REDIAL_CODES
from inferencesh.core.live import AsyncLiveSession as AsyncLiveSession
from inferencesh.core.live import LiveEnd as LiveEnd
from inferencesh.core.live import LiveState as LiveState
from inferencesh.core.live import LiveUpdate as LiveUpdate
from inferencesh.core.live import access_url as access_url
from inferencesh.core.live_schema import STREAM_FORMAT as STREAM_FORMAT
from inferencesh.core.live_schema import JsonSchema as JsonSchema
from inferencesh.core.live_schema import LiveField as LiveField
from inferencesh.core.live_schema import MediaType as MediaType
from inferencesh.core.live_schema import PCMFormat as PCMFormat
from inferencesh.core.live_schema import SplitLiveSchema as SplitLiveSchema
from inferencesh.core.live_schema import alternative_label as alternative_label
from inferencesh.core.live_schema import alternative_tag as alternative_tag
from inferencesh.core.live_schema import binary_live_field as binary_live_field
from inferencesh.core.live_schema import is_live_field as is_live_field
from inferencesh.core.live_schema import parse_media_type as parse_media_type
from inferencesh.core.live_schema import pcm_format as pcm_format
from inferencesh.core.live_schema import split_live_schema as split_live_schema

__all__ = [
    "MAX_REDIALS",
    "REDIAL_CODES",
    "STREAM_FORMAT",
    "AsyncLiveSession",
    "JsonSchema",
    "LiveEnd",
    "LiveField",
    "LiveState",
    "LiveUpdate",
    "MediaType",
    "PCMFormat",
    "SplitLiveSchema",
    "access_url",
    "alternative_label",
    "alternative_tag",
    "binary_live_field",
    "is_live_field",
    "parse_media_type",
    "pcm_format",
    "split_live_schema",
]

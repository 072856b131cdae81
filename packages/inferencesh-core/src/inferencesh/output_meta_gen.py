"""The 0.36 path ``inferencesh.output_meta_gen``; output meta lives in
``inferencesh.models.output_meta`` (apps)."""

from inferencesh.models.output_meta import MetaItem as MetaItem
from inferencesh.models.output_meta import MetaItemType as MetaItemType
from inferencesh.models.output_meta import OutputMeta as OutputMeta
from inferencesh.models.output_meta import VideoResolution as VideoResolution

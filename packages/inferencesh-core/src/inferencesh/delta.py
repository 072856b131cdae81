"""The 0.36 path ``inferencesh.delta``; deltas live in ``inferencesh.models.deltas`` (apps) and
``inferencesh.core.deltas``."""

from inferencesh.core.deltas import merge_delta as merge_delta
from inferencesh.models.deltas import DeltaAccumulator as DeltaAccumulator
from inferencesh.models.deltas import OutputDiffer as OutputDiffer
from inferencesh.models.deltas import apply_delta_event as apply_delta_event
from inferencesh.models.deltas import is_delta_event as is_delta_event

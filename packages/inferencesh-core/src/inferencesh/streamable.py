"""The 0.36 path ``inferencesh.streamable``; the NDJSON helpers live in ``inferencesh.core.ndjson``."""

from inferencesh.core.ndjson import StreamableMessage as StreamableMessage
from inferencesh.core.ndjson import iter_ndjson as iter_ndjson
from inferencesh.core.ndjson import stream_get as stream_get
from inferencesh.core.ndjson import stream_post as stream_post
from inferencesh.core.ndjson import streamable as streamable
from inferencesh.core.ndjson import streamable_raw as streamable_raw

"""The ``inferencesh`` logger and the ``INFERENCE_LOG`` switch.

The library logs through the standard :mod:`logging` module under the ``inferencesh`` logger
and never configures logging on its own, except when the environment variable
``INFERENCE_LOG`` is ``debug`` or ``info``: then a stderr handler is attached to that logger
(once). Log records carry the method, path, status and timing of requests, never headers,
bodies or the API key.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("inferencesh")

_configured = False


def configure_from_env() -> None:
    """Attach a stderr handler when ``INFERENCE_LOG`` asks for one (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    level = os.environ.get("INFERENCE_LOG", "").strip().lower()
    if level not in ("debug", "info"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)

"""The platform's HTTP protocol for uvicorn: the one the worker serves with too (a plain reply
in one write; see :mod:`inferencesh.apps.http_protocol`)."""

from __future__ import annotations

from inferencesh.apps.http_protocol import protocol

__all__ = ["protocol"]

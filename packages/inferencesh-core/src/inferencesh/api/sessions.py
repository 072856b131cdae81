"""The 0.36 path ``inferencesh.api.sessions``; sessions live in ``inferencesh.core``."""

from inferencesh.core import AsyncSessionHandle as AsyncSessionHandle
from inferencesh.core import AsyncSessionsAPI as AsyncSessionsAPI
from inferencesh.core import SessionHandle as SessionHandle
from inferencesh.core import SessionsAPI as SessionsAPI

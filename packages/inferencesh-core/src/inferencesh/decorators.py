"""The 0.36 path ``inferencesh.decorators``; ``@function`` lives in ``inferencesh.apps``."""

from inferencesh.apps.function_meta import FUNCTION_ATTRIBUTE as FUNCTION_META_ATTR
from inferencesh.apps.function_meta import function as function
from inferencesh.apps.function_meta import normalize_credentials as normalize_credentials

__all__ = ["FUNCTION_META_ATTR", "function", "normalize_credentials"]

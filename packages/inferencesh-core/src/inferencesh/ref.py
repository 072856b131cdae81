"""The 0.36 path ``inferencesh.ref``; ``Ref`` lives in ``inferencesh.core.ref``."""

from inferencesh.core.ref import Ref as Ref

"""The local platform: the inference.sh task, file and session API over local app directories.

Start it with ``inferencesh dev [APP_DIR ...]``, or build the ASGI app with :func:`create_app`.
"""

from inferencesh.platform._version import __version__
from inferencesh.platform.config import AppEntry, PlatformConfig, discover_apps, load_app
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.refs import Aliases, AppRef, AppResolver, parse_ref
from inferencesh.platform.server import PlatformContext, create_app

__all__ = [
    "Aliases",
    "AppEntry",
    "AppRef",
    "AppResolver",
    "LocalPlatform",
    "PlatformConfig",
    "PlatformContext",
    "create_app",
    "discover_apps",
    "load_app",
    "parse_ref",
    "__version__",
]

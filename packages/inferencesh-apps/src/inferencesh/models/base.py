"""The 0.36 path ``inferencesh.models.base``; ``BaseApp`` and friends live in ``inferencesh.apps``."""

from inferencesh.apps import BaseApp as BaseApp
from inferencesh.apps import BaseAppInput as BaseAppInput
from inferencesh.apps import BaseAppOutput as BaseAppOutput
from inferencesh.apps import BaseAppSetup as BaseAppSetup
from inferencesh.apps import Metadata as Metadata

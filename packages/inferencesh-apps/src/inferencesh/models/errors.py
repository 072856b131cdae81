"""The 0.36 path ``inferencesh.models.errors``; the errors live in ``inferencesh.core``."""

from inferencesh.core import APIError as APIError
from inferencesh.core import RequirementError as RequirementError
from inferencesh.core import RequirementsNotMetError as RequirementsNotMetError
from inferencesh.core import SessionEndedError as SessionEndedError
from inferencesh.core import SessionError as SessionError
from inferencesh.core import SessionExpiredError as SessionExpiredError
from inferencesh.core import SessionNotFoundError as SessionNotFoundError
from inferencesh.core import SetupAction as SetupAction
from inferencesh.core import WorkerLostError as WorkerLostError

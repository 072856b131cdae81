"""The 0.36 path ``inferencesh.api.agents``; ``client.agents`` lives in ``inferencesh.core``."""

from inferencesh.core import AgentsAPI as AgentsAPI
from inferencesh.core import AsyncAgentsAPI as AsyncAgentsAPI

"""The 0.36 path ``inferencesh.agent``; the agent chat client lives in ``inferencesh.agents``."""

from inferencesh.agents import Agent as Agent
from inferencesh.agents import AgentDelta as AgentDelta
from inferencesh.agents import AsyncAgent as AsyncAgent
from inferencesh.agents import PendingApproval as PendingApproval
from inferencesh.agents import ToolCallInfo as ToolCallInfo
from inferencesh.agents import pending_approvals as pending_approvals

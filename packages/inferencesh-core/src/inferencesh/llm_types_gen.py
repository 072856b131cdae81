"""The 0.36 path ``inferencesh.llm_types_gen``; the LLM and decision models live in
``inferencesh.models`` (apps), the wire types they share in ``inferencesh.core``."""

from inferencesh.core.agent_requests import FileRef as FileRef
from inferencesh.core.chat import LLMContextMessage as LLMContextMessage
from inferencesh.core.chat import ToolCallType as ToolCallType
from inferencesh.core.chat import ToolParameterProperty as ToolParameterProperty
from inferencesh.core.chat import ToolParameters as ToolParameters
from inferencesh.core.chat import ToolParamType as ToolParamType
from inferencesh.core.deltas import DeltaEvent as DeltaEvent
from inferencesh.core.deltas import MergeStrategy as MergeStrategy
from inferencesh.models.decision import DecisionChoiceAnswer as DecisionChoiceAnswer
from inferencesh.models.decision import DecisionChoiceOption as DecisionChoiceOption
from inferencesh.models.decision import DecisionChoiceQuestion as DecisionChoiceQuestion
from inferencesh.models.decision import DecisionInput as DecisionInput
from inferencesh.models.decision import DecisionNoulAnswer as DecisionNoulAnswer
from inferencesh.models.decision import DecisionNoulCriteria as DecisionNoulCriteria
from inferencesh.models.decision import DecisionNoulQuestion as DecisionNoulQuestion
from inferencesh.models.decision import DecisionScoreAnswer as DecisionScoreAnswer
from inferencesh.models.decision import DecisionScoreQuestion as DecisionScoreQuestion
from inferencesh.models.decision import DecisionVideoInput as DecisionVideoInput
from inferencesh.models.decision import DecisionVisionInput as DecisionVisionInput
from inferencesh.models.decision import WireDecisionOutput as DecisionOutput  # noqa: F401
from inferencesh.models.deltas import LLMDelta as LLMDelta
from inferencesh.models.deltas import StreamDelta as StreamDelta
from inferencesh.models.deltas import ToolCallDelta as ToolCallDelta
from inferencesh.models.deltas import ToolCallFunctionDelta as ToolCallFunctionDelta
from inferencesh.models.llm import ChatMessageRole as ChatMessageRole
from inferencesh.models.llm import LLMInput as LLMInput
from inferencesh.models.llm import LLMOutput as LLMOutput
from inferencesh.models.llm import LLMUsage as LLMUsage
from inferencesh.models.llm import ResponseFormat as ResponseFormat
from inferencesh.models.llm import ResponseFormatType as ResponseFormatType
from inferencesh.models.llm import Tool as Tool
from inferencesh.models.llm import ToolCall as ToolCall
from inferencesh.models.llm import ToolCallFunction as ToolCallFunction
from inferencesh.models.llm import ToolChoice as ToolChoice
from inferencesh.models.llm import ToolChoiceMode as ToolChoiceMode
from inferencesh.models.llm import ToolFunction as ToolFunction
from inferencesh.models.llm_settings import LLMSettings as LLMSettings

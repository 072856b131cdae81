"""The 0.36 path ``inferencesh.types``: its wire types, by their 0.36 names, re-exported lazily
from where ours live (``inferencesh.core``, ``inferencesh.agents``, ``inferencesh.models``).

0.36 generated this module as TypedDicts; ours are the msgspec structs (and, for app-facing
models, the pydantic models) with the same fields. A name whose distribution is not installed
raises an ``ImportError`` that says what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferencesh import _reexport

_CORE = "inferencesh-core"
_AGENTS = "inferencesh-agents"
_APPS = "inferencesh-apps"

# 0.36 name -> (module that defines ours, our name, distribution that ships the module)
_EXPORTS: dict[str, tuple[str, str, str]] = {
    "AgentConfigInput": ("inferencesh.core.agent_requests", "AgentConfig", _CORE),
    "AgentRunDTO": ("inferencesh.core.chat", "AgentRun", _CORE),
    "AgentRunState": ("inferencesh.core.chat", "AgentRunState", _CORE),
    "AgentTool": ("inferencesh.core.agent_requests", "AgentTool", _CORE),
    "AgentToolConfig": ("inferencesh.core.agent_requests", "AgentToolConfig", _CORE),
    "AgentToolConfigDTO": ("inferencesh.core.agent_requests", "AgentToolConfig", _CORE),
    "AgentToolDTO": ("inferencesh.core.chat", "AgentToolDTO", _CORE),
    "AlwaysAllowRequest": ("inferencesh.core.agent_requests", "AlwaysAllowRequest", _CORE),
    "ApiAgentRunRequest": ("inferencesh.core.agent_requests", "AgentRunRequest", _CORE),
    "ApiAppRunRequest": ("inferencesh.core.requests", "RunRequest", _CORE),
    "AppSessionDTO": ("inferencesh.core.types", "SessionInfo", _CORE),
    "AppToolConfig": ("inferencesh.core.agent_requests", "AppToolConfig", _CORE),
    "AppToolConfigDTO": ("inferencesh.core.agent_requests", "AppToolConfig", _CORE),
    "BuiltinHook": ("inferencesh.agents.hooks", "BuiltinHook", _AGENTS),
    "CancelTaskRequest": ("inferencesh.core.requests", "CancelTaskRequest", _CORE),
    "ChatDTO": ("inferencesh.core.chat", "ChatDTO", _CORE),
    "ChatData": ("inferencesh.core.chat", "ChatData", _CORE),
    "ChatMessageContent": ("inferencesh.core.chat", "ChatMessageContent", _CORE),
    "ChatMessageContentType": ("inferencesh.core.chat", "ChatMessageContentType", _CORE),
    "ChatMessageDTO": ("inferencesh.core.chat", "ChatMessageDTO", _CORE),
    "ChatMessageRole": ("inferencesh.core.chat", "ChatMessageRole", _CORE),
    "ChatMessageStatus": ("inferencesh.core.chat", "ChatMessageStatus", _CORE),
    "ChatStatus": ("inferencesh.core.chat", "ChatStatus", _CORE),
    "ClientToolConfig": ("inferencesh.core.agent_requests", "ClientToolConfig", _CORE),
    "ClientToolConfigDTO": ("inferencesh.core.agent_requests", "ClientToolConfig", _CORE),
    "ContextInjection": ("inferencesh.agents.hooks", "ContextInjection", _AGENTS),
    "CoreAppConfigDTO": ("inferencesh.core.agent_requests", "CoreAppConfig", _CORE),
    "CoreAppConfigInput": ("inferencesh.core.agent_requests", "CoreAppConfig", _CORE),
    "CredentialRequirement": ("inferencesh.apps.function_meta", "CredentialRequirement", _APPS),
    "DecisionInput": ("inferencesh.models.decision", "DecisionInput", _APPS),
    "DecisionOutput": ("inferencesh.models.decision", "DecisionOutput", _APPS),
    "DecisionVideoInput": ("inferencesh.models.decision", "DecisionVideoInput", _APPS),
    "DecisionVisionInput": ("inferencesh.models.decision", "DecisionVisionInput", _APPS),
    "DeleteTaskFilesResponse": ("inferencesh.core.types", "DeletedTaskFiles", _CORE),
    "DeltaEvent": ("inferencesh.core.deltas", "DeltaEvent", _CORE),
    "ErrorEventData": ("inferencesh.agents.hooks", "ErrorEventData", _AGENTS),
    "FileCreateRequest": ("inferencesh.core.requests", "FileCreateRequest", _CORE),
    "FileDTO": ("inferencesh.core.types", "UploadedFile", _CORE),
    "FileRef": ("inferencesh.core.agent_requests", "FileRef", _CORE),
    "HTTPToolConfig": ("inferencesh.core.agent_requests", "HTTPToolConfig", _CORE),
    "HTTPToolConfigDTO": ("inferencesh.core.agent_requests", "HTTPToolConfig", _CORE),
    "HookDecision": ("inferencesh.agents.hooks", "HookDecision", _AGENTS),
    "HookEvent": ("inferencesh.agents.hooks", "HookEvent", _AGENTS),
    "HookHandlerType": ("inferencesh.agents.hooks", "HookHandlerType", _AGENTS),
    "HookToolConfig": ("inferencesh.core.agent_requests", "HookToolConfig", _CORE),
    "HookToolConfigDTO": ("inferencesh.core.agent_requests", "HookToolConfig", _CORE),
    "InternalToolsConfig": ("inferencesh.core.agent_requests", "InternalToolsConfig", _CORE),
    "InterruptDTO": ("inferencesh.core.chat", "Interrupt", _CORE),
    "InterruptResolution": ("inferencesh.agents.hooks", "InterruptResolution", _AGENTS),
    "LLMContextMessage": ("inferencesh.core.chat", "LLMContextMessage", _CORE),
    "LLMDelta": ("inferencesh.models.deltas", "LLMDelta", _APPS),
    "LLMInput": ("inferencesh.models.llm", "LLMInput", _APPS),
    "LLMOutput": ("inferencesh.models.llm", "LLMOutput", _APPS),
    "LLMUsage": ("inferencesh.models.llm", "LLMUsage", _APPS),
    "LifecycleHookConfig": ("inferencesh.agents.hooks", "LifecycleHookConfig", _AGENTS),
    "LifecycleHookPayload": ("inferencesh.agents.hooks", "LifecycleHookPayload", _AGENTS),
    "LifecycleHookResponse": ("inferencesh.agents.hooks", "LifecycleHookResponse", _AGENTS),
    "MCPToolConfig": ("inferencesh.core.agent_requests", "MCPToolConfig", _CORE),
    "MCPToolConfigDTO": ("inferencesh.core.agent_requests", "MCPToolConfig", _CORE),
    "MessageInput": ("inferencesh.core.agent_requests", "AgentMessageInput", _CORE),
    "MetaItem": ("inferencesh.models.output_meta", "MetaItem", _APPS),
    "MetaItemType": ("inferencesh.models.output_meta", "MetaItemType", _APPS),
    "OutputMeta": ("inferencesh.models.output_meta", "OutputMeta", _APPS),
    "PartialFile": ("inferencesh.core.requests", "PartialFile", _CORE),
    "PlanStep": ("inferencesh.core.chat", "PlanStep", _CORE),
    "RequirementError": ("inferencesh.core.types", "RequirementError", _CORE),
    "ResourceStatusDTO": ("inferencesh.core.types", "ResourceStatus", _CORE),
    "ResponseFormat": ("inferencesh.models.llm", "ResponseFormat", _APPS),
    "ResponseFormatType": ("inferencesh.models.llm", "ResponseFormatType", _APPS),
    "SetupAction": ("inferencesh.core.types", "SetupAction", _CORE),
    "SkillConfig": ("inferencesh.core.agent_requests", "SkillConfig", _CORE),
    "SocketAccess": ("inferencesh.core.types", "SocketAccess", _CORE),
    "SocketDTO": ("inferencesh.core.types", "SocketInfo", _CORE),
    "StreamDelta": ("inferencesh.models.deltas", "StreamDelta", _APPS),
    "TaskDTO": ("inferencesh.core.types", "Task", _CORE),
    "TaskEvent": ("inferencesh.core.types", "TaskEvent", _CORE),
    "TaskFileDTO": ("inferencesh.core.types", "TaskFile", _CORE),
    "TaskFileRole": ("inferencesh.core.types", "TaskFileRole", _CORE),
    "TaskFileSkipped": ("inferencesh.core.types", "SkippedTaskFile", _CORE),
    "TaskLog": ("inferencesh.core.types", "TaskLog", _CORE),
    "TaskLogType": ("inferencesh.core.types", "TaskLogType", _CORE),
    "TaskStatus": ("inferencesh.core.types", "TaskStatus", _CORE),
    "Tool": ("inferencesh.core.chat", "Tool", _CORE),
    "ToolAnnotations": ("inferencesh.apps.function_meta", "ToolAnnotations", _APPS),
    "ToolAuthConfig": ("inferencesh.core.agent_requests", "ToolAuthConfig", _CORE),
    "ToolCall": ("inferencesh.core.chat", "ToolCall", _CORE),
    "ToolCallDelta": ("inferencesh.models.deltas", "ToolCallDelta", _APPS),
    "ToolCallEventData": ("inferencesh.agents.hooks", "ToolCallEventData", _AGENTS),
    "ToolCallFunction": ("inferencesh.core.chat", "ToolCallFunction", _CORE),
    "ToolCallFunctionDelta": ("inferencesh.models.deltas", "ToolCallFunctionDelta", _APPS),
    "ToolChoice": ("inferencesh.models.llm", "ToolChoice", _APPS),
    "ToolChoiceMode": ("inferencesh.models.llm", "ToolChoiceMode", _APPS),
    "ToolFunction": ("inferencesh.core.chat", "ToolFunction", _CORE),
    "ToolInvocationDTO": ("inferencesh.core.chat", "ToolInvocationDTO", _CORE),
    "ToolInvocationFunction": ("inferencesh.core.chat", "ToolCallFunction", _CORE),
    "ToolInvocationStatus": ("inferencesh.core.chat", "ToolInvocationStatus", _CORE),
    "ToolParameters": ("inferencesh.core.chat", "ToolParameters", _CORE),
    "ToolResultEventData": ("inferencesh.agents.hooks", "ToolResultEventData", _AGENTS),
    "ToolResultRequest": ("inferencesh.core.agent_requests", "ToolResultRequest", _CORE),
    "ToolType": ("inferencesh.core.agent_requests", "ToolType", _CORE),
    "VideoResolution": ("inferencesh.models.output_meta", "VideoResolution", _APPS),
}

__all__ = [
    "AgentConfigInput",
    "AgentRunDTO",
    "AgentRunState",
    "AgentTool",
    "AgentToolConfig",
    "AgentToolConfigDTO",
    "AgentToolDTO",
    "AlwaysAllowRequest",
    "ApiAgentRunRequest",
    "ApiAppRunRequest",
    "AppSessionDTO",
    "AppToolConfig",
    "AppToolConfigDTO",
    "BuiltinHook",
    "CancelTaskRequest",
    "ChatDTO",
    "ChatData",
    "ChatMessageContent",
    "ChatMessageContentType",
    "ChatMessageDTO",
    "ChatMessageRole",
    "ChatMessageStatus",
    "ChatStatus",
    "ClientToolConfig",
    "ClientToolConfigDTO",
    "ContextInjection",
    "CoreAppConfigDTO",
    "CoreAppConfigInput",
    "CredentialRequirement",
    "DecisionInput",
    "DecisionOutput",
    "DecisionVideoInput",
    "DecisionVisionInput",
    "DeleteTaskFilesResponse",
    "DeltaEvent",
    "ErrorEventData",
    "FileCreateRequest",
    "FileDTO",
    "FileRef",
    "HTTPToolConfig",
    "HTTPToolConfigDTO",
    "HookDecision",
    "HookEvent",
    "HookHandlerType",
    "HookToolConfig",
    "HookToolConfigDTO",
    "InternalToolsConfig",
    "InterruptDTO",
    "InterruptResolution",
    "LLMContextMessage",
    "LLMDelta",
    "LLMInput",
    "LLMOutput",
    "LLMUsage",
    "LifecycleHookConfig",
    "LifecycleHookPayload",
    "LifecycleHookResponse",
    "MCPToolConfig",
    "MCPToolConfigDTO",
    "MessageInput",
    "MetaItem",
    "MetaItemType",
    "OutputMeta",
    "PartialFile",
    "PlanStep",
    "RequirementError",
    "ResourceStatusDTO",
    "ResponseFormat",
    "ResponseFormatType",
    "SetupAction",
    "SkillConfig",
    "SocketAccess",
    "SocketDTO",
    "StreamDelta",
    "TaskDTO",
    "TaskEvent",
    "TaskFileDTO",
    "TaskFileRole",
    "TaskFileSkipped",
    "TaskLog",
    "TaskLogType",
    "TaskStatus",
    "Tool",
    "ToolAnnotations",
    "ToolAuthConfig",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEventData",
    "ToolCallFunction",
    "ToolCallFunctionDelta",
    "ToolChoice",
    "ToolChoiceMode",
    "ToolFunction",
    "ToolInvocationDTO",
    "ToolInvocationFunction",
    "ToolInvocationStatus",
    "ToolParameters",
    "ToolResultEventData",
    "ToolResultRequest",
    "ToolType",
    "VideoResolution",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute, distribution = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = _reexport(__name__, name, module_name, attribute, distribution)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - static re-exports for type checkers and IDEs
    from inferencesh.agents.hooks import BuiltinHook as BuiltinHook
    from inferencesh.agents.hooks import ContextInjection as ContextInjection
    from inferencesh.agents.hooks import ErrorEventData as ErrorEventData
    from inferencesh.agents.hooks import HookDecision as HookDecision
    from inferencesh.agents.hooks import HookEvent as HookEvent
    from inferencesh.agents.hooks import HookHandlerType as HookHandlerType
    from inferencesh.agents.hooks import InterruptResolution as InterruptResolution
    from inferencesh.agents.hooks import LifecycleHookConfig as LifecycleHookConfig
    from inferencesh.agents.hooks import LifecycleHookPayload as LifecycleHookPayload
    from inferencesh.agents.hooks import LifecycleHookResponse as LifecycleHookResponse
    from inferencesh.agents.hooks import ToolCallEventData as ToolCallEventData
    from inferencesh.agents.hooks import ToolResultEventData as ToolResultEventData
    from inferencesh.apps.function_meta import CredentialRequirement as CredentialRequirement
    from inferencesh.apps.function_meta import ToolAnnotations as ToolAnnotations
    from inferencesh.core.agent_requests import AgentConfig as AgentConfigInput
    from inferencesh.core.agent_requests import AgentMessageInput as MessageInput
    from inferencesh.core.agent_requests import AgentRunRequest as ApiAgentRunRequest
    from inferencesh.core.agent_requests import AgentTool as AgentTool
    from inferencesh.core.agent_requests import AgentToolConfig as AgentToolConfig
    from inferencesh.core.agent_requests import AgentToolConfig as AgentToolConfigDTO
    from inferencesh.core.agent_requests import AlwaysAllowRequest as AlwaysAllowRequest
    from inferencesh.core.agent_requests import AppToolConfig as AppToolConfig
    from inferencesh.core.agent_requests import AppToolConfig as AppToolConfigDTO
    from inferencesh.core.agent_requests import ClientToolConfig as ClientToolConfig
    from inferencesh.core.agent_requests import ClientToolConfig as ClientToolConfigDTO
    from inferencesh.core.agent_requests import CoreAppConfig as CoreAppConfigDTO
    from inferencesh.core.agent_requests import CoreAppConfig as CoreAppConfigInput
    from inferencesh.core.agent_requests import FileRef as FileRef
    from inferencesh.core.agent_requests import HookToolConfig as HookToolConfig
    from inferencesh.core.agent_requests import HookToolConfig as HookToolConfigDTO
    from inferencesh.core.agent_requests import HTTPToolConfig as HTTPToolConfig
    from inferencesh.core.agent_requests import HTTPToolConfig as HTTPToolConfigDTO
    from inferencesh.core.agent_requests import InternalToolsConfig as InternalToolsConfig
    from inferencesh.core.agent_requests import MCPToolConfig as MCPToolConfig
    from inferencesh.core.agent_requests import MCPToolConfig as MCPToolConfigDTO
    from inferencesh.core.agent_requests import SkillConfig as SkillConfig
    from inferencesh.core.agent_requests import ToolAuthConfig as ToolAuthConfig
    from inferencesh.core.agent_requests import ToolResultRequest as ToolResultRequest
    from inferencesh.core.agent_requests import ToolType as ToolType
    from inferencesh.core.chat import AgentRun as AgentRunDTO
    from inferencesh.core.chat import AgentRunState as AgentRunState
    from inferencesh.core.chat import AgentToolDTO as AgentToolDTO
    from inferencesh.core.chat import ChatData as ChatData
    from inferencesh.core.chat import ChatDTO as ChatDTO
    from inferencesh.core.chat import ChatMessageContent as ChatMessageContent
    from inferencesh.core.chat import ChatMessageContentType as ChatMessageContentType
    from inferencesh.core.chat import ChatMessageDTO as ChatMessageDTO
    from inferencesh.core.chat import ChatMessageRole as ChatMessageRole
    from inferencesh.core.chat import ChatMessageStatus as ChatMessageStatus
    from inferencesh.core.chat import ChatStatus as ChatStatus
    from inferencesh.core.chat import Interrupt as InterruptDTO
    from inferencesh.core.chat import LLMContextMessage as LLMContextMessage
    from inferencesh.core.chat import PlanStep as PlanStep
    from inferencesh.core.chat import Tool as Tool
    from inferencesh.core.chat import ToolCall as ToolCall
    from inferencesh.core.chat import ToolCallFunction as ToolCallFunction
    from inferencesh.core.chat import ToolCallFunction as ToolInvocationFunction
    from inferencesh.core.chat import ToolFunction as ToolFunction
    from inferencesh.core.chat import ToolInvocationDTO as ToolInvocationDTO
    from inferencesh.core.chat import ToolInvocationStatus as ToolInvocationStatus
    from inferencesh.core.chat import ToolParameters as ToolParameters
    from inferencesh.core.deltas import DeltaEvent as DeltaEvent
    from inferencesh.core.requests import CancelTaskRequest as CancelTaskRequest
    from inferencesh.core.requests import FileCreateRequest as FileCreateRequest
    from inferencesh.core.requests import PartialFile as PartialFile
    from inferencesh.core.requests import RunRequest as ApiAppRunRequest
    from inferencesh.core.types import DeletedTaskFiles as DeleteTaskFilesResponse
    from inferencesh.core.types import RequirementError as RequirementError
    from inferencesh.core.types import ResourceStatus as ResourceStatusDTO
    from inferencesh.core.types import SessionInfo as AppSessionDTO
    from inferencesh.core.types import SetupAction as SetupAction
    from inferencesh.core.types import SkippedTaskFile as TaskFileSkipped
    from inferencesh.core.types import SocketAccess as SocketAccess
    from inferencesh.core.types import SocketInfo as SocketDTO
    from inferencesh.core.types import Task as TaskDTO
    from inferencesh.core.types import TaskEvent as TaskEvent
    from inferencesh.core.types import TaskFile as TaskFileDTO
    from inferencesh.core.types import TaskFileRole as TaskFileRole
    from inferencesh.core.types import TaskLog as TaskLog
    from inferencesh.core.types import TaskLogType as TaskLogType
    from inferencesh.core.types import TaskStatus as TaskStatus
    from inferencesh.core.types import UploadedFile as FileDTO
    from inferencesh.models.decision import DecisionInput as DecisionInput
    from inferencesh.models.decision import DecisionOutput as DecisionOutput
    from inferencesh.models.decision import DecisionVideoInput as DecisionVideoInput
    from inferencesh.models.decision import DecisionVisionInput as DecisionVisionInput
    from inferencesh.models.deltas import LLMDelta as LLMDelta
    from inferencesh.models.deltas import StreamDelta as StreamDelta
    from inferencesh.models.deltas import ToolCallDelta as ToolCallDelta
    from inferencesh.models.deltas import ToolCallFunctionDelta as ToolCallFunctionDelta
    from inferencesh.models.llm import LLMInput as LLMInput
    from inferencesh.models.llm import LLMOutput as LLMOutput
    from inferencesh.models.llm import LLMUsage as LLMUsage
    from inferencesh.models.llm import ResponseFormat as ResponseFormat
    from inferencesh.models.llm import ResponseFormatType as ResponseFormatType
    from inferencesh.models.llm import ToolChoice as ToolChoice
    from inferencesh.models.llm import ToolChoiceMode as ToolChoiceMode
    from inferencesh.models.output_meta import MetaItem as MetaItem
    from inferencesh.models.output_meta import MetaItemType as MetaItemType
    from inferencesh.models.output_meta import OutputMeta as OutputMeta
    from inferencesh.models.output_meta import VideoResolution as VideoResolution

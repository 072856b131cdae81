"""HTTP routes of the agent loop (mounted by the local platform behind its API-key auth).

Errors are raised as :class:`~inferencesh.platform.errors.PlatformError` (``RequestError``
is one); the platform's error handler turns them into its envelopes.
"""

from __future__ import annotations

from typing import Any

from inferencesh.core.chat import AgentRunResponse
from inferencesh.core.requests import AlwaysAllowRequest, ToolRejectRequest
from inferencesh.platform.responses import read_json, read_request, stream_response
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .internal_tools import CATALOGUE
from .loop import AgentRuntime, RequestError
from .wire import respond

_MAX_BODY = 8 * 1024 * 1024


def build_routes(runtime: AgentRuntime, max_body: int = _MAX_BODY) -> list[Route]:
    """The agent and chat routes over ``runtime``."""

    async def body(request: Request) -> Any:
        return await read_json(request, max_body)

    async def agents_run(request: Request) -> Response:
        payload = await body(request)
        live, user, assistant = await runtime.run(payload)
        if isinstance(payload, dict) and payload.get("stream"):
            return stream_response(request, runtime.events(live), sse_by_default=True)
        hub = runtime.hub
        return respond(
            request,
            AgentRunResponse(
                user_message=hub.message_dto(live, user),
                assistant_message=hub.message_dto(live, assistant),
            ),
        )

    async def chat_get(request: Request) -> Response:
        live = runtime.chat(request.path_params["chat_id"])
        return respond(request, runtime.hub.chat_dto(live))

    async def chat_status(request: Request) -> Response:
        live = runtime.chat(request.path_params["chat_id"])
        return respond(request, runtime.hub.status_dto(live))

    async def chat_stream(request: Request) -> Response:
        live = runtime.chat(request.path_params["chat_id"])
        return stream_response(request, runtime.open_stream(live))

    async def chat_stop(request: Request) -> Response:
        chat_id = request.path_params["chat_id"]
        await runtime.stop(chat_id)
        return respond(request, runtime.hub.status_dto(runtime.chat(chat_id)))

    async def tool_result(request: Request) -> Response:
        payload = await body(request)
        if not isinstance(payload, dict) or "result" not in payload:
            raise RequestError(400, "invalid_request", 'the body must be {"result": "<text>"}')
        message = runtime.submit_result(request.path_params["invocation_id"], payload["result"])
        return respond(request, message)

    async def tool_approve(request: Request) -> Response:
        return respond(request, runtime.approve(request.path_params["invocation_id"]))

    async def tool_reject(request: Request) -> Response:
        payload = await read_request(
            request, ToolRejectRequest, max_body, empty=ToolRejectRequest()
        )
        return respond(
            request, runtime.reject(request.path_params["invocation_id"], payload.reason)
        )

    async def tool_always_allow(request: Request) -> Response:
        payload = await read_request(
            request, AlwaysAllowRequest, max_body, empty=AlwaysAllowRequest()
        )
        invocation = runtime.always_allow(
            request.path_params["chat_id"], request.path_params["invocation_id"], payload.tool_name
        )
        return respond(request, invocation)

    async def internal_tools(request: Request) -> Response:
        return respond(request, CATALOGUE)

    return [
        Route("/agents/run", agents_run, methods=["POST"]),
        Route("/agents/internal-tools", internal_tools, methods=["GET"]),
        Route("/chats/{chat_id}", chat_get, methods=["GET"]),
        Route("/chats/{chat_id}/status", chat_status, methods=["GET"]),
        Route("/chats/{chat_id}/stream", chat_stream, methods=["GET"]),
        Route("/chats/{chat_id}/stop", chat_stop, methods=["POST"]),
        Route("/tools/{invocation_id}", tool_result, methods=["POST"]),
        Route("/tools/{invocation_id}/invoke", tool_approve, methods=["POST"]),
        Route("/tools/{invocation_id}/reject", tool_reject, methods=["POST"]),
        Route(
            "/chats/{chat_id}/tools/{invocation_id}/always-allow",
            tool_always_allow,
            methods=["POST"],
        ),
    ]

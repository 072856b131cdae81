"""The platform's one ASGI layer in front of its routes.

Every HTTP request passes here once: the ``/v1/`` prefix of the cloud API is taken off, the
API key is checked (:class:`~inferencesh.platform.auth.KeyCheck`), and an error no route handled
is answered (:class:`~inferencesh.platform.guard.ErrorGuard`). The most frequent requests
(``POST /apps/run`` and ``POST /run``) then go straight to their handler: they have no path
parameters to match, and the router, its per-route error wrapper and the exception middleware
would each wrap the same request again. Their errors get the app's own exception handlers,
exactly as through the router. Everything else goes through the router as usual.

One layer instead of seven (three of the platform's, Starlette's two and its router's, and
uvicorn's proxy-header one, which ``inferencesh dev`` leaves out) keeps the per-request cost of
a task near the work the task itself does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from inferencesh.platform.auth import KeyCheck
from inferencesh.platform.guard import ErrorGuard
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Endpoint", "Front", "Handler"]

Endpoint = Callable[[Request], Awaitable[Response]]
"""A route handler: a request in, a response out."""
Handler = Callable[[Request, Exception], Awaitable[Response]]
"""An exception handler, as Starlette's ``exception_handlers`` take them."""


class Front(ErrorGuard):
    """``/v1/`` taken off, the API key required, errors answered, and ``POST`` to the paths of
    ``direct`` served by their handler without the router (``handlers`` answer their errors,
    looked up by the exception's class like Starlette does)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str,
        direct: Mapping[str, Endpoint],
        handlers: Mapping[type[Exception], Handler],
    ) -> None:
        super().__init__(app)
        self._keys = KeyCheck(api_key)
        self._direct = dict(direct)
        self._handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v1/"):  # every route also answers under /v1/, like the cloud API
            path = path[3:]
            scope = {**scope, "path": path, "raw_path": scope.get("raw_path", b"")[3:]}
        refusal = self._keys.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        endpoint = self._direct.get(path) if scope["method"] == "POST" else None
        if endpoint is None:
            await self.guarded(self.app, scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:  # noqa: BLE001 - the guard: every error gets an answer
            handler = self._handler(exc)
            response = self.answer(request, exc) if handler is None else await handler(request, exc)
        # Past this point the reply has started (a plain response sends its head first):
        # an error can only end it, as in the guard.
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        for cls in type(exc).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None

"""Hook calls go straight to their handler, past Starlette's router.

`POST /cds-services/{id}` is nearly all of a CDS service's traffic. Starlette's exception
middleware, router and route matching cost 0.03 ms of a 0.48 ms 50-resource patient-view
(bench/asgi.py, alternating), so this layer, installed inside CORS, the body limit and error
containment, hands those calls to the hook handler itself and turns an HTTPProblem into its
OperationOutcome as the app's exception handler does. Every other request, and a hook path under
an ASGI `root_path`, goes through the router, where the same handler is also registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.outcome import HTTPProblem, problem_response

PREFIX = "/cds-services/"

Endpoint = Callable[[Request], Awaitable[Response]]


def hook_service_id(path: str) -> str | None:
    """The `{id}` of `/cds-services/{id}` (one non-empty segment), else None."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    return rest if rest and "/" not in rest else None


class HookDispatch:
    def __init__(self, app: ASGIApp, endpoint: Endpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            service_id = hook_service_id(scope["path"])
            if service_id is not None:
                scope["path_params"] = {"service_id": service_id}
                try:
                    response = await self.endpoint(Request(scope, receive, send))
                except HTTPProblem as exc:
                    response = problem_response(exc.status, exc.diagnostics, exc.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

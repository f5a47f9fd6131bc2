"""Plain hook calls are answered before the framework's middleware stack.

`POST /cds-services/{id}` from an EHR is nearly all of a CDS service's traffic. The layers around a
handler (Starlette's error middleware, FastAPI's telemetry and body-limit layers, CORS, our body
limit and error containment, each wrapping `send` or `receive`, and the router) are most of what a
FastAPI endpoint costs beyond the server: about twice a bare ASGI function doing the same
(docs/performance.md gives the figures). So `HookApp` takes a hook call straight to its handler when
none of those layers has anything to do:

- no `Origin` header (an EHR's server-side call; a browser's call needs CORS);
- a `Content-Length` within the body limit and no `Transfer-Encoding` (the HTTP parser then
  delivers exactly that many bytes, so there is nothing to count);
- no ASGI `root_path` (a mounted app routes as usual).

Errors are answered as `service.http.errors.Problems` answers them; the body read has the
deadline `service.http.slow_clients.BodyReadDeadline` gives other requests; the answers carry their
own `nosniff` and `no-store` headers (`service.http.errors.private_response`), as no header layer
runs here. Every other request, including a hook call that fails one of the tests above, goes
through the whole stack, where the same handler is registered as a route, so both ways give the
same answer. (Demo mode, which checks the Host header in a layer, sends every call that way.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from service.http.body_limit import content_length_problem
from service.http.errors import answer
from service.http.slow_clients import deadline_receive

PREFIX = "/cds-services/"

Endpoint = Callable[[Request], Awaitable[Response]]


def hook_service_id(path: str) -> str | None:
    """The `{id}` of `/cds-services/{id}` (one non-empty segment), else None."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    return rest if rest and "/" not in rest else None


def plain_hook_call(scope: Scope, max_body_bytes: int) -> str | None:
    """The service id of a hook call that needs none of the middleware layers, else None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    service_id = hook_service_id(scope["path"])
    if service_id is None:
        return None
    length: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is not None:
                return None  # more than one: let the body limit judge
            length = value
        elif name == b"origin" or name == b"transfer-encoding":
            return None
    if length is None or content_length_problem(length, max_body_bytes) is not None:
        return None  # the body limit's layer answers
    return service_id


class HookApp(FastAPI):
    """FastAPI, with plain hook calls (see `plain_hook_call`) sent straight to their handler."""

    _hook_endpoint: Endpoint | None = None
    _hook_max_body_bytes = 0
    _hook_body_read_timeout_s = 0.0

    def answer_hooks_with(
        self, endpoint: Endpoint, max_body_bytes: int, body_read_timeout_s: float
    ) -> None:
        self._hook_endpoint = endpoint
        self._hook_max_body_bytes = max_body_bytes
        self._hook_body_read_timeout_s = body_read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._hook_endpoint
        if endpoint is not None:
            service_id = plain_hook_call(scope, self._hook_max_body_bytes)
            if service_id is not None:
                await self._answer(endpoint, service_id, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _answer(
        self, endpoint: Endpoint, service_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["app"] = self  # as Starlette sets it: handlers reach app.state through it
        scope["path_params"] = {"service_id": service_id}
        receive = deadline_receive(receive, self._hook_body_read_timeout_s)
        try:
            response = await endpoint(Request(scope, receive, send))
        except Exception as exc:
            await answer(exc, scope, receive, send, started=False)
            return
        try:
            await response(scope, receive, send)
        except Exception as exc:  # the connection failed mid-answer: never start a second one
            await answer(exc, scope, receive, send, started=True)

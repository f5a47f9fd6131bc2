"""Error answers: one exception type, `HTTPProblem`, and one way it becomes a response.

Every error that reaches a caller is an HTTPProblem by the time it is answered: handlers and
layers raise one (`BodyTooLarge`, `BodyReadTimeout` and `PrefetchUnavailable` are kinds of it),
the framework's own errors are converted by `as_problem`, and anything else is an unexpected
error, logged by type and frames only and answered 500. The answer is always `HTTPProblem.response`:
the status with a FHIR OperationOutcome naming the problem, private (its text may quote the
request). STU2 names only 200 and 412; CDS Hooks 3.0 asks every non-2xx answer to carry an
OperationOutcome, which costs nothing and tells an integrator exactly what to fix.

Where errors are caught: the app's exception handler (`install_handlers`) for errors raised in a
route, inside CORS so a browser can read them; the `Problems` layer for errors raised in the
layers around the app (body limit, body deadline, demo Host check) and for anything unexpected;
and `answer` on the hook fast path (`service.http.dispatch`), which skips both. All three call
`answer` or `HTTPProblem.response`.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import log_event, where_it_failed

# Every answer: browsers must not guess another content type than the one declared.
NOSNIFF = (b"x-content-type-options", b"nosniff")
# Answers that may hold patient data (cards, and error texts that quote the request): no cache
# along the way, nor the client's, may keep them.
NO_STORE = (b"cache-control", b"no-store")
PRIVATE_HEADERS = (NOSNIFF, NO_STORE)

# FHIR issue-type codes (http://hl7.org/fhir/issue-type) per HTTP status.
_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    404: "not-found",
    405: "not-supported",
    408: "timeout",
    412: "incomplete",
    413: "too-costly",
    421: "security",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class HTTPProblem(Exception):
    """Raised anywhere in a request to answer with `status` and an OperationOutcome."""

    def __init__(self, status: int, diagnostics: str, headers: dict[str, str] | None = None):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.headers = headers

    def response(self) -> Response:
        return private_response(
            orjson.dumps(operation_outcome(self.status, self.diagnostics)),
            self.status,
            "application/fhir+json",
            self.headers,
        )


def operation_outcome(status: int, diagnostics: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": _ISSUE_CODE.get(status, "processing"),
                "diagnostics": diagnostics,
            }
        ],
    }


def private_response(
    body: bytes, status: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """A response that no cache may store and no browser may sniff (see PRIVATE_HEADERS)."""
    response = Response(body, status_code=status, media_type=media_type, headers=headers)
    response.raw_headers.extend(PRIVATE_HEADERS)
    return response


def as_problem(exc: Exception, path: str = "") -> HTTPProblem:
    """The HTTPProblem an exception is answered with; an unexpected one is logged first."""
    if isinstance(exc, HTTPProblem):
        return exc
    if isinstance(exc, StarletteHTTPException):  # the router's 404 and 405
        return HTTPProblem(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)
    if isinstance(exc, RequestValidationError):
        return HTTPProblem(400, "invalid request")
    log_unexpected(exc, path)
    return HTTPProblem(500, "internal error")


def log_unexpected(exc: BaseException, path: str) -> None:
    """An unexpected exception, by type and frames only: its message may hold a token or
    patient data, so it is never printed."""
    log_event(
        "unhandled_error",
        logging.ERROR,
        error=type(exc).__name__,
        at=where_it_failed(exc.__traceback__)[-3:],
        path=path[:200],
    )


async def answer(
    exc: Exception, scope: Scope, receive: Receive, send: Send, *, started: bool
) -> None:
    """Answer an exception as its HTTPProblem, unless a response has begun (then log it)."""
    if started:
        if not isinstance(exc, HTTPProblem):
            log_unexpected(exc, str(scope.get("path", "")))
        return
    await as_problem(exc, str(scope.get("path", ""))).response()(scope, receive, send)


class Problems:
    """The layer that answers what the layers inside it raise; nothing is re-raised, so the
    server never prints an exception's message in a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            await answer(exc, scope, receive, send, started=started)


def install_handlers(app: FastAPI) -> None:
    """Errors raised in a route, answered inside the middleware (CORS adds its headers)."""

    async def handler(request: Request, exc: Exception) -> Response:
        return as_problem(exc, request.url.path).response()

    for kind in (HTTPProblem, StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, handler)

"""Error answers: an HTTP status with a FHIR OperationOutcome naming the problem.

STU2 names only 200 and 412; CDS Hooks 3.0 asks every non-2xx answer to carry an OperationOutcome,
which costs nothing now and tells an integrator exactly what to fix.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

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
    """Raised inside a handler to answer with `status` and an OperationOutcome."""

    def __init__(self, status: int, diagnostics: str, headers: dict[str, str] | None = None):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.headers = headers


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


def problem_response(
    status: int, diagnostics: str, headers: dict[str, str] | None = None
) -> Response:
    """The error answer; private, as its text may quote the request."""
    return private_response(
        orjson.dumps(operation_outcome(status, diagnostics)),
        status,
        "application/fhir+json",
        headers,
    )

"""Error answers: an HTTP status with a FHIR OperationOutcome naming the problem.

STU2 names only 200 and 412; CDS Hooks 3.0 asks every non-2xx answer to carry an OperationOutcome,
which costs nothing now and tells an integrator exactly what to fix.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

# FHIR issue-type codes (http://hl7.org/fhir/issue-type) per HTTP status.
_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    404: "not-found",
    405: "not-supported",
    412: "incomplete",
    413: "too-costly",
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


def problem_response(
    status: int, diagnostics: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(operation_outcome(status, diagnostics)),
        status_code=status,
        media_type="application/fhir+json",
        headers=headers,
    )

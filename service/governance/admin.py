"""The governance report in a browser: `/admin/report` (HTML) and `/admin/report.csv`.

Off unless MSCDS_ADMIN_TOKEN is set. The page is for the CDS governance committee, not for EHRs,
so it has its own credential (`service.auth.shared_secret`: a browser asks for it as the password of
HTTP Basic authentication). It is self-contained (inline CSS, plots as inline SVG, no script),
and its Content-Security-Policy lets the browser load nothing else.
"""

from __future__ import annotations

import asyncio
from datetime import date

from fastapi import FastAPI, Request
from starlette.responses import Response

from service.auth.shared_secret import credential_matches
from service.config import Settings
from service.governance import report, report_html
from service.http.errors import HTTPProblem, private_response

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ms-backpain-cds governance report", charset="UTF-8"'}


def parse_since(value: str | None) -> date | None:
    """The `since` query parameter: empty, or a day as YYYY-MM-DD (else 400)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPProblem(400, "since: not a date (YYYY-MM-DD)") from None


def install(app: FastAPI, settings: Settings) -> None:
    """Add the report's routes when MSCDS_ADMIN_TOKEN is set."""
    if settings.admin_token is None:
        return
    token = settings.admin_token.get_secret_value()
    lock = asyncio.Lock()  # one report at a time: each reads the whole period

    async def build(request: Request) -> report.Report:
        if not credential_matches(request, token):
            raise HTTPProblem(401, "the governance report needs its credential", CHALLENGE)
        since = parse_since(request.query_params.get("since"))
        state = request.app.state
        await state.governance.ledger.flush()  # the calls answered up to now count too
        return await report.build(state.store.engine, since=since)

    @app.get("/admin/report", include_in_schema=False)
    async def report_page(request: Request) -> Response:
        async with lock:
            data = await build(request)
            # matplotlib takes a few hundred milliseconds: not on the event loop
            page = await asyncio.to_thread(report_html.render, data)
        return private_response(
            page.encode(), 200, "text/html; charset=utf-8", {"Content-Security-Policy": CSP}
        )

    @app.get("/admin/report.csv", include_in_schema=False)
    async def report_csv(request: Request) -> Response:
        async with lock:
            data = await build(request)
        return private_response(
            report.to_csv(data).encode(),
            200,
            "text/csv; charset=utf-8",
            {"Content-Disposition": 'attachment; filename="governance-report.csv"'},
        )

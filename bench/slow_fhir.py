"""A local FHIR endpoint that answers after a fixed delay per query: the no-prefetch benchmark.

It serves one synthetic patient through the project's read-only demo FHIR router and waits
`BENCH_FHIR_DELAY_MS` before each answer, like a remote EHR. `/stats` reports how many queries
arrived and over how many distinct client connections, to show the service reuses connections.
Run by `bench/run.py` as ``uvicorn slow_fhir:app --app-dir bench``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.patients import patient_resources
from service.demo.fhir_server import demo_fhir_router

DELAY_S = float(os.environ.get("BENCH_FHIR_DELAY_MS", "50")) / 1000
SIZE = int(os.environ.get("BENCH_FHIR_PATIENT_SIZE", "50"))

queries = 0
connections: set[tuple[str, int]] = set()


class Delay:
    """Count the query and its connection, then wait the fixed delay before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        global queries
        if scope["type"] == "http" and scope["path"].startswith("/fhir/"):
            queries += 1
            if scope.get("client"):
                connections.add(tuple(scope["client"]))
            await asyncio.sleep(DELAY_S)
        await self.app(scope, receive, send)


resources = patient_resources(SIZE)
app = FastAPI()
app.include_router(demo_fhir_router({resources[0]["id"]: resources}), prefix="/fhir")


@app.get("/stats")
async def stats() -> dict[str, int]:
    return {"queries": queries, "connections": len(connections)}


@app.get("/health/ready")
async def ready() -> Response:
    return Response(b'{"status": "ready"}', media_type="application/json")


app.add_middleware(Delay)

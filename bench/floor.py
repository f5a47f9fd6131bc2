"""The floor: the least a FastAPI CDS endpoint can do with the same request.

It reads the body, parses it with orjson (as the service does) and answers one constant card, so
the difference between it and the service is the service's own work. Run by `bench/run.py` as
``uvicorn floor:app --app-dir bench`` with the same uvicorn options as the service.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request, Response

CARD = orjson.dumps(
    {
        "cards": [
            {
                "uuid": "00000000-0000-4000-8000-000000000000",
                "summary": "Back pain in MS: floor card",
                "indicator": "info",
                "source": {"label": "bench floor"},
            }
        ]
    }
)


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    gc.collect()  # the service does the same after start-up
    gc.freeze()
    yield


app = FastAPI(lifespan=_lifespan)


@app.post("/cds-services/{service_id}")
async def call_service(service_id: str, request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict):
        return Response(b'{"error": "not an object"}', status_code=400)
    return Response(CARD, media_type="application/json")


@app.get("/health/ready")
async def ready() -> Response:
    return Response(b'{"status": "ready"}', media_type="application/json")

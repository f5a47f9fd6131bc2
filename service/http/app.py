"""The FastAPI application: discovery, the three hook services, feedback and health.

Handlers are `async def` and read the raw body themselves (the design's measured fast path: a hook
body is decoded by msgspec keeping only what `mappings` reads, see
`service.fhir.decoding.read_body`); only the request envelope is validated, the FHIR data goes to
`mappings` as plain dicts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter

import httpx
import orjson
from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

import mappings
from cards.model import Action, response_body
from service import allocator, collector, metrics, pipeline
from service.auth.verifier import require_client
from service.config import Settings, check_auth, load_settings
from service.discovery import SERVICES, ServiceDefinition, discovery_document
from service.fhir.client import FhirClient
from service.fhir.decoding import parse_body, validate
from service.fhir.prefetch import PrefetchUnavailable
from service.governance import admin
from service.governance.records import Governance
from service.http import middleware, security
from service.http.dispatch import HookApp
from service.http.errors import HTTPProblem, install_handlers, private_response
from service.http.openapi import install_openapi
from service.http.rate_limit import TokenBuckets, retry_after
from service.logs import (
    configure,
    flush_refusals,
    log_event,
    log_refusal,
    pin_library_loggers,
    where_it_failed,
    without_echoes,
)
from service.protocol import MAX_FEEDBACK_ITEMS, FeedbackRequest
from service.store.feedback import FeedbackStore, StoreUnavailable


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _private_json(body: object) -> Response:
    """Cards and feedback receipts: about a patient, so never stored by a cache."""
    return private_response(orjson.dumps(body), 200, "application/json")


def feedback_client(request: Request) -> str:
    """Whom the feedback rate limit counts: the JWT's issuer and subject, else the peer address
    (with MSCDS_AUTH=off; behind a proxy, that is the proxy)."""
    client = getattr(request.state, "client", None)
    if client is not None:
        return f"jwt {client.iss} {client.sub or ''}"
    return f"addr {request.client.host if request.client else ''}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    check_auth(settings)
    # Now, not at start-up: the server's own first lines (in each worker) are JSON lines too.
    configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure(settings.log_level)
        if settings.auth == "off":
            log_event(
                "auth_off",
                logging.WARNING,
                message="MSCDS_AUTH=off: any caller can call the hooks; do not expose this server",
            )
        pin_library_loggers()
        security.warn_at_startup(settings)
        mappings.load_terminology()
        app.state.store = await FeedbackStore.open(
            settings.async_database_url, retention_days=settings.feedback_retention_days
        )
        # Issuance ledger and snoozes (docs/governance.md), in the feedback store's database.
        app.state.governance = await Governance.open(settings, app.state.store, app.state.metrics)
        timeout = httpx.Timeout(settings.fhir_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
            app.state.verifier = security.build_verifier(settings, http)
            app.state.fhir = FhirClient(
                http,
                timeout_s=settings.fhir_timeout_s,
                max_pages=settings.fhir_max_pages,
                max_bytes=settings.fhir_max_response_bytes,
                allowed=security.fhir_server_allowed(settings),
            )
            app.state.ready = True
            # Large blocks freed after a request go back to the system (service/allocator.py).
            fixed_mmap_threshold = allocator.fix_malloc_thresholds()
            collector.settle()  # no collection during a call (service/collector.py)
            log_event(
                "started",
                services=list(SERVICES),
                database=app.state.store.engine.name,
                fixed_mmap_threshold=fixed_mmap_threshold,
            )
            try:
                yield
            finally:
                app.state.ready = False
                flush_refusals()  # what the last second held back, before the process ends
                if app.state.verifier is not None:
                    await app.state.verifier.close()
                await app.state.governance.close()
                await app.state.store.close()

    docs = settings.docs_enabled
    app = HookApp(
        title="ms-backpain-cds",
        version="0.1.0",
        summary="CDS Hooks 2.0 service: back pain in multiple sclerosis",
        lifespan=lifespan,
        # Off in production unless MSCDS_API_DOCS=on: they map the API for anyone, without a token.
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        # Starlette would answer /cds-services/ with a redirect to a URL built from the Host
        # header; the paths that matter are routed with and without the slash instead.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.ready = False
    metrics.install(app, settings)  # app.state.metrics, and /metrics when on
    admin.install(app, settings)  # /admin/report when MSCDS_ADMIN_TOKEN is set
    authenticated = [Depends(require_client)]

    install_handlers(app)

    def service_for(service_id: str) -> ServiceDefinition:
        service = SERVICES.get(service_id)
        if service is None:
            raise HTTPProblem(404, f"no CDS service with id {service_id[:100]!r}")
        return service

    @app.get("/cds-services", dependencies=authenticated)
    @app.get("/cds-services/", dependencies=authenticated, include_in_schema=False)
    async def discovery() -> Response:
        return _json(discovery_document())

    async def call_service(request: Request) -> Response:
        # Reached through HookApp (or a plain Starlette route), so the caller is checked here
        # rather than as a FastAPI dependency: FastAPI's request handling (dependency solving,
        # its telemetry span) is a measurable part of a small hook call (docs/performance.md).
        await require_client(request)
        service_id: str = request.path_params["service_id"]
        started = perf_counter()
        fields: dict[str, object] = {"service": service_id[:100]}
        status = 500
        try:
            service = service_for(service_id)
            body = await request.body()
            actions: list[Action] = []
            cards = await pipeline.answer(
                service, body, request.app.state.fhir, log=fields, actions=actions
            )
            # snoozed cards out; every card to the issuance ledger and the metrics
            cards = request.app.state.governance.screen(service.id, cards, log=fields)
            fields["cards"] = [
                c.source.topic.code if c.source.topic else c.indicator for c in cards
            ]
            status = 200
            if actions:
                fields["systemActions"] = len(actions)
            return _private_json(response_body(cards, actions))
        except HTTPProblem as exc:
            status = exc.status
            fields["problem"] = without_echoes(exc.diagnostics)
            if isinstance(exc, PrefetchUnavailable):
                request.app.state.metrics.prefetch_unavailable(exc.reasons)
            raise
        except Exception as exc:
            fields["error"] = type(exc).__name__
            fields["at"] = where_it_failed(exc.__traceback__)[-3:]
            raise HTTPProblem(500, "internal error while evaluating the hook") from None
        finally:
            fields["status"] = status
            fields["ms"] = round((perf_counter() - started) * 1000, 2)
            request.app.state.metrics.hook_call(
                service_id, status, perf_counter() - started, fields
            )
            # A 412 is the FHIR server failing a call: its reasons are for whoever runs the service.
            level = logging.ERROR if status >= 500 else logging.INFO
            log_event("hook", logging.WARNING if status == 412 else level, **fields)

    app.add_route("/cds-services/{service_id}", call_service, methods=["POST"])
    if not settings.demo:  # demo mode checks the Host header of every call, in a layer
        # Plain hook calls skip the middleware stack and the router, see service/http/dispatch.py.
        app.answer_hooks_with(
            call_service,
            max_body_bytes=settings.max_body_bytes,
            body_read_timeout_s=settings.body_read_timeout_s,
        )
    middleware.install(app, settings)
    # A full batch must always fit in a bucket, however low the rate.
    feedback_limit = (
        TokenBuckets(settings.feedback_rate, max(settings.feedback_rate, MAX_FEEDBACK_ITEMS))
        if settings.feedback_rate
        else None
    )

    @app.post("/cds-services/{service_id}/feedback", dependencies=authenticated)
    async def feedback(service_id: str, request: Request) -> Response:
        service = service_for(service_id)
        body = validate(FeedbackRequest, parse_body(await request.body()))
        if feedback_limit is not None:
            wait = feedback_limit.take(feedback_client(request), len(body.feedback))
            if wait:
                log_refusal("feedback_throttled", logging.WARNING, "rate limit", service=service.id)
                raise HTTPProblem(
                    429,
                    f"more than {settings.feedback_rate} feedback items a minute from this "
                    f"client; retry in {retry_after(wait)} s",
                    {"Retry-After": retry_after(wait)},
                )
        try:
            stored = await request.app.state.store.add(service.id, body.feedback)
        except StoreUnavailable as exc:
            log_event("feedback_store_failed", logging.ERROR, error=str(exc))
            raise HTTPProblem(503, "feedback store unavailable; retry later") from None
        request.app.state.governance.feedback(body.feedback)  # its snoozes start now
        log_event("feedback", service=service.id, items=len(body.feedback), stored=stored)
        return _private_json({"received": len(body.feedback), "stored": stored})

    @app.get("/health")
    async def health() -> Response:
        return _json({"status": "ok"})

    @app.get("/health/ready")
    async def ready(request: Request) -> Response:
        state = request.app.state
        # With auth on, a call needs the replay store (Redis when shared) as much as the
        # feedback store: a worker that cannot ask it would answer every hook with a 503.
        verifier = getattr(state, "verifier", None)
        if (
            state.ready
            and await state.store.ping()
            and (verifier is None or await verifier.replay.ping())
        ):
            return _json({"status": "ready"})
        raise HTTPProblem(
            503,
            "not ready: starting, stopping, or the database or the replay store is unreachable",
        )

    if settings.demo:
        # Read-only sample patients for the Sandbox, which fetches them without a JWT.
        from service.demo.fhir_server import DemoFhirStore, demo_fhir_router

        app.include_router(demo_fhir_router(DemoFhirStore.from_samples()), prefix="/fhir")
    install_openapi(app)
    return app

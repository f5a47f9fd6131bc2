"""Prometheus metrics at `/metrics`: hook calls, cards, snoozes, feedback, FHIR fetches, JWTs.

Every label takes its values from a closed set (known service ids, card kinds, our override
reason codes, outcome and failure categories), never from what a caller sent: a label per token,
patient or URL would leak it and grow without bound. Each app has its own registry, so two apps
in one process (tests) count apart. With several worker processes, set PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode) and `/metrics` sums the workers.

`MSCDS_METRICS` turns the endpoint on or off (unset: on in demo mode and with MSCDS_AUTH=off);
with `MSCDS_METRICS_TOKEN` it asks for that token (Bearer, or as a Basic password).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _exposition
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response

from cards import snooze
from cards.model import Card
from cards.products import OVERRIDE_REASONS
from service.auth.shared_secret import credential_matches
from service.config import Settings
from service.discovery import SERVICES
from service.http.errors import private_response
from service.protocol import FeedbackItem

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# An AuthError's reason (service/auth/verifier.py, service/auth/keys.py) -> its label;
# any other: "other".
JWT_REASONS = (
    ("no bearer token", "no-token"),
    ("token too long", "too-long"),
    ("malformed token", "malformed"),
    ("unknown kid", "unknown-kid"),
    ("key set", "key-set"),
    ("the key ", "key"),
    ("algorithm", "algorithm"),
    ("typ is not", "typ"),
    ("no kid", "no-kid"),
    ("iss ", "issuer"),
    ("NumericDate", "date-claim"),
    ("token expired", "expired"),
    ("not yet valid", "not-yet-valid"),
    ("aud ", "audience"),
    ("signature", "signature"),
    ("claim ", "missing-claim"),
    ("more than an hour", "lifetime"),
    ("jti already used", "replay"),
    ("jti ", "jti"),
    ("tenant", "tenant"),
)

# A reason a prefetch key could not be had (service/fhir/prefetch.py, service/fhir/client.py)
# -> its label.
FHIR_REASONS = (
    ("(401)", "401"),
    ("(403)", "403"),
    ("timed out", "timeout"),
    ("did not answer within", "timeout"),
    ("unreachable", "unreachable"),
    ("no fhirServer", "no-fhir-server"),
    ("not an allowed server", "server-not-allowed"),
    ("context value", "missing-context"),
    ("larger than", "too-large"),
    ("other than JSON", "invalid-response"),
    ("not a resource", "invalid-response"),
    ("returned", "invalid-response"),
    ("not return a Bundle", "invalid-response"),
    ("answered", "http-error"),
    ("pages", "too-many-pages"),
    ("could not be encoded", "refused-url"),
    ("points away", "refused-url"),
)


def _label(text: str, table: tuple[tuple[str, str], ...]) -> str:
    return next((label for words, label in table if words in text), "other")


def feedback_reason(item: FeedbackItem) -> str:
    """An override's reason label: our code, `none` without one, `other` for a code not ours."""
    reason = item.overrideReason.reason if item.overrideReason else None
    if item.outcome == "accepted" or reason is None:
        return "none"
    decision = snooze.decision_of(item.outcome, reason.system, reason.code)
    return decision if decision in OVERRIDE_REASONS else "other"


class Metrics:
    """The service's counters; every method does nothing when metrics are off."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry()
        r = self.registry
        self.hook_calls = Counter(
            "mscds_hook_calls", "Hook calls answered", ["service", "status"], registry=r
        )
        self.hook_seconds = Histogram(
            "mscds_hook_duration_seconds",
            "Time to answer a hook call",
            ["service"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cards = Counter("mscds_cards", "Cards shown", ["kind", "indicator"], registry=r)
        self.suppressed = Counter(
            "mscds_cards_suppressed", "Cards hidden by a snooze", ["kind"], registry=r
        )
        self.feedback = Counter(
            "mscds_feedback", "Feedback items received", ["outcome", "reason"], registry=r
        )
        self.fhir_fetches = Counter(
            "mscds_fhir_fetches",
            "Prefetch keys fetched from the FHIR server",
            ["outcome"],
            registry=r,
        )
        self.jwt_failures = Counter(
            "mscds_jwt_failures", "Refused client JWTs", ["reason"], registry=r
        )
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        # `labels()` takes a lock and builds a tuple each time; the children are few and reused.
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def hook_call(
        self, service_id: str, status: int, seconds: float, log: Mapping[str, Any]
    ) -> None:
        """One answered hook call; `log` is its log line's fields (the keys fetched)."""
        if not self.enabled:
            return
        service = service_id if service_id in SERVICES else "unknown"
        self._child(self.hook_calls, service, str(status)).inc()
        self._child(self.hook_seconds, service).observe(seconds)
        fetched = log.get("fetched")
        if fetched:
            self._child(self.fhir_fetches, "ok").inc(len(fetched))

    def prefetch_unavailable(self, reasons: Mapping[str, str]) -> None:
        """The keys a 412 answer could not have, by why."""
        if not self.enabled:
            return
        for why in reasons.values():
            self._child(self.fhir_fetches, _label(why, FHIR_REASONS)).inc()

    def cards_answered(self, shown: Iterable[Card], suppressed: Iterable[Card]) -> None:
        if not self.enabled:
            return
        for card in shown:
            kind = card.source.topic.code if card.source.topic else "unknown"
            self._child(self.cards, kind, card.indicator).inc()
        for card in suppressed:
            kind = card.source.topic.code if card.source.topic else "unknown"
            self._child(self.suppressed, kind).inc()

    def feedback_received(self, items: Iterable[FeedbackItem]) -> None:
        if not self.enabled:
            return
        for item in items:
            self._child(self.feedback, item.outcome, feedback_reason(item)).inc()

    def jwt_failure(self, reason: str) -> None:
        if self.enabled:
            self._child(self.jwt_failures, _label(reason, JWT_REASONS)).inc()

    def exposition(self) -> bytes:
        """The text format; the sum over worker processes in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return _exposition(registry)
        return _exposition(self.registry)


def jwt_failed(request: Request, reason: str) -> None:
    """Count a refused JWT against the app's metrics (service/auth/verifier.py calls this)."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.jwt_failure(reason)


def install(app: FastAPI, settings: Settings) -> Metrics:
    """The app's metrics, and `/metrics` when MSCDS_METRICS says so."""
    metrics = Metrics(enabled=settings.metrics_enabled)
    app.state.metrics = metrics
    if not metrics.enabled:
        return metrics
    token = settings.metrics_token

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if token is not None and not credential_matches(request, token.get_secret_value()):
            return private_response(
                b"scrape credential required\n",
                401,
                "text/plain",
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return private_response(metrics.exposition(), 200, CONTENT_TYPE_LATEST)

    return metrics

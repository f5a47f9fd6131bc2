"""Prometheus metrics: each counter moves with the calls that should move it, labels come from
closed sets, the exposition parses, and /metrics is on, off or guarded as configured."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http.app import create_app
from service.metrics import FHIR_REASONS, JWT_REASONS, Metrics
from tests.fixtures.reliability.fault_fhir import FaultServer
from tests.service.auth_helpers import BASE, ISS, bearer, ec_key, jwks, token
from tests.service.builders import full_prefetch, hook_request
from tests.service.governance_helpers import (
    FEEDBACK,
    PV,
    cards_of,
    feedback_item,
    sample_request,
    send_feedback,
)

SCRAPE_TOKEN = "scrape-token-0123456789"
ALL_KEYS = 6  # prefetch keys of patient-view


def value(client: TestClient, name: str, **labels: str) -> float:
    metrics: Metrics = client.app.state.metrics
    return metrics.registry.get_sample_value(name, labels) or 0.0


def scrape(client: TestClient, **headers: str) -> dict[str, dict[tuple, float]]:
    """Family name -> {labels: value}, as a Prometheus server would read /metrics."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            families.setdefault(sample.name, {})[labels] = sample.value
    return families


def test_hook_calls_cards_and_latency_are_counted(client: TestClient) -> None:
    for _ in range(2):
        cards_of(client, sample_request("ms-opioid-benzo"))
    assert client.post("/cds-services/nope", json=hook_request()).status_code == 404
    assert client.post(PV, json={"hook": "patient-view"}).status_code == 400
    families = scrape(client)
    calls = families["mscds_hook_calls_total"]
    assert calls[(("service", "ms-back-pain-patient-view"), ("status", "200"))] == 2
    assert calls[(("service", "ms-back-pain-patient-view"), ("status", "400"))] == 1
    assert calls[(("service", "unknown"), ("status", "404"))] == 1  # not the id sent
    latency = families["mscds_hook_duration_seconds_count"]
    assert latency[(("service", "ms-back-pain-patient-view"),)] == 3
    cards = families["mscds_cards_total"]
    assert cards[(("indicator", "warning"), ("kind", "opioid-active"))] == 2
    assert cards[(("indicator", "info"), ("kind", "first-line"))] == 2
    assert cards[(("indicator", "info"), ("kind", "chronic-care"))] == 2


def test_suppressed_cards_and_feedback_are_counted(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    cards = cards_of(client, request)
    foreign = feedback_item(cards["chronic-care"], "overridden")
    foreign["overrideReason"] = {"reason": {"code": "x-local", "system": "https://ehr.example"}}
    send_feedback(
        client,
        feedback_item(cards["first-line"], "overridden", "already-addressed"),
        feedback_item(cards["opioid-active"], "overridden"),
        feedback_item(cards["chronic-care"], "accepted"),
        foreign,
    )
    assert cards_of(client, request) == {}
    assert value(client, "mscds_cards_suppressed_total", kind="first-line") == 1
    assert value(client, "mscds_cards_suppressed_total", kind="opioid-active") == 1
    assert value(client, "mscds_cards_suppressed_total", kind="chronic-care") == 1
    feedback = scrape(client)["mscds_feedback_total"]
    assert feedback == {
        (("outcome", "overridden"), ("reason", "already-addressed")): 1,
        (("outcome", "overridden"), ("reason", "none")): 1,
        (("outcome", "accepted"), ("reason", "none")): 1,
        (("outcome", "overridden"), ("reason", "other")): 1,  # never the client's own code
    }


@pytest.fixture(scope="module")
def fhir() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


def _fetching(server: FaultServer, fault: str) -> dict:
    body = hook_request(fhirServer=server.base(fault))
    body["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer", "expires_in": 60}
    body["context"]["patientId"] = "pat-1"
    return body


def test_fhir_fetches_are_counted_by_outcome(tmp_path: Path, fhir: FaultServer) -> None:
    settings = Settings(
        data_dir=tmp_path, auth="off", fhir_servers=(fhir.root,), fhir_timeout_s=0.5
    )
    with TestClient(create_app(settings)) as client:
        assert client.post(PV, json=_fetching(fhir, "healthy")).status_code == 200
        assert client.post(PV, json=_fetching(fhir, "status-401")).status_code == 412
        assert client.post(PV, json=_fetching(fhir, "hang")).status_code == 412
        assert client.post(PV, json=hook_request()).status_code == 412  # not an allowed server
        fetches = scrape(client)["mscds_fhir_fetches_total"]
    assert fetches == {
        (("outcome", "ok"),): ALL_KEYS,
        (("outcome", "401"),): ALL_KEYS,
        (("outcome", "timeout"),): ALL_KEYS,
        (("outcome", "server-not-allowed"),): ALL_KEYS,
    }


def test_jwt_failures_are_counted_by_reason_without_the_token(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
        metrics=True,
    )
    expired = token(exp=int(time.time()) - 3600, iat=int(time.time()) - 3700)
    with TestClient(create_app(settings)) as client:
        body = hook_request(prefetch=full_prefetch())
        assert client.post(PV, json=body).status_code == 401
        assert client.post(PV, json=body, headers=bearer("not.a.jwt")).status_code == 401
        assert client.post(PV, json=body, headers=bearer(expired)).status_code == 401
        assert client.get("/cds-services", headers=bearer("x.y.z")).status_code == 401
        text = client.get("/metrics").text
        failures = scrape(client)["mscds_jwt_failures_total"]
    assert failures == {
        (("reason", "no-token"),): 1,
        (("reason", "malformed"),): 2,
        (("reason", "expired"),): 1,
    }
    assert expired not in text and "not.a.jwt" not in text


@pytest.mark.parametrize(
    "reason",
    [
        "no bearer token",
        "token too long",
        "malformed token",
        "algorithm refused (none, HMAC or unknown)",
        "typ is not JWT",
        "no kid in the token header",
        "iss is not a trusted issuer",
        "algorithm not allowed for this issuer",
        "exp is not a NumericDate (a JSON number)",
        "unknown kid",
        "the key is declared for another algorithm",
        "key set URL answered 500",
        "token expired",
        "token not yet valid (nbf or iat in the future)",
        "aud is not this endpoint's URL",
        "signature does not verify",
        "claim jti missing",
        "exp more than an hour ahead",
        "jti is not a usable string",
        "tenant not allowed for this issuer",
        "jti already used (replay)",
    ],
)
def test_every_refusal_reason_has_a_label_of_its_own(reason: str) -> None:
    metrics = Metrics()
    metrics.jwt_failure(reason)
    family = next(f for f in metrics.registry.collect() if f.name == "mscds_jwt_failures")
    (sample, *_) = family.samples
    assert sample.labels["reason"] != "other"
    assert sample.labels["reason"] in {label for _, label in JWT_REASONS}


def test_fhir_labels_are_a_closed_set() -> None:
    metrics = Metrics()
    metrics.prefetch_unavailable({"a": f"FHIR server said {uuid.uuid4()}"})
    assert metrics.registry.get_sample_value("mscds_fhir_fetches_total", {"outcome": "other"}) == 1
    assert len({label for _, label in FHIR_REASONS}) < 20


def test_the_exposition_parses_and_names_every_family(client: TestClient) -> None:
    cards_of(client, sample_request("ms-opioid-benzo"))
    names = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert {
        "mscds_hook_calls",
        "mscds_hook_duration_seconds",
        "mscds_cards",
        "mscds_cards_suppressed",
        "mscds_feedback",
        "mscds_fhir_fetches",
        "mscds_jwt_failures",
    } <= names


def test_metrics_default_off_in_production_on_with_auth_off(tmp_path: Path) -> None:
    production = Settings(
        data_dir=tmp_path,
        public_base_url=BASE,
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
    )
    assert not production.metrics_enabled
    assert Settings(data_dir=tmp_path, auth="off").metrics_enabled
    assert Settings(data_dir=tmp_path, demo=True).metrics_enabled
    assert production.model_copy(update={"metrics": True}).metrics_enabled
    with TestClient(create_app(production)) as client:
        assert client.get("/metrics").status_code == 404
        # counting is off too: nothing to do on the hot path
        assert not client.app.state.metrics.enabled


def test_metrics_off_is_a_404(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics": False}))) as client:
        assert client.get("/metrics").status_code == 404


def test_a_scrape_token_is_asked_for_when_set(settings: Settings) -> None:
    guarded = Settings(**{**settings.model_dump(), "metrics_token": SCRAPE_TOKEN})
    with TestClient(create_app(guarded)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "mscds_" not in refused.text
        assert client.get("/metrics", headers=bearer("wrong-token-0123456789")).status_code == 401
        assert client.get("/metrics", headers=bearer(SCRAPE_TOKEN)).status_code == 200
        basic = base64.b64encode(f"prometheus:{SCRAPE_TOKEN}".encode()).decode()
        ok = client.get("/metrics", headers={"Authorization": f"Basic {basic}"})
        assert ok.status_code == 200 and "mscds_hook_calls" in ok.text
        assert ok.headers["cache-control"] == "no-store"


def test_the_feedback_endpoint_counts_only_valid_items(client: TestClient) -> None:
    response = client.post(FEEDBACK, json={"feedback": [{"card": "x", "outcome": "ignored"}]})
    assert response.status_code == 400
    assert "mscds_feedback_total" not in scrape(client)

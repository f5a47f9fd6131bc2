"""JWT client authentication: one test per attack, and valid tokens on every protected endpoint.

The hook pipeline is replaced by a recorder here: these tests are about who gets in, and a
recorded call proves the request reached the handler (the clinical pipeline is tested elsewhere).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

import mappings
from service import pipeline
from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http.app import create_app
from tests.service.auth_helpers import (
    BASE,
    DISCOVERY,
    FEEDBACK,
    ISS,
    PATIENT_VIEW,
    LogCapture,
    b64,
    bearer,
    ec_key,
    hmac_token,
    jwks,
    rsa_key,
    token,
    unsigned_token,
)
from tests.service.builders import FHIR_BASE, full_prefetch, hook_request

FEEDBACK_BODY = {
    "feedback": [
        {
            "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-20T10:06:00Z",
        }
    ]
}
TENANT_ISS = "https://tenanted.example.org"
JKU_ISS = "https://jku.example.org"
JKU = "https://keys.example.org/.well-known/jwks.json"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "auth": "jwt",
        "public_base_url": BASE,
        "trusted_issuers": (
            TrustedIssuer(iss=ISS, jwks=jwks(ec_key(), rsa_key())),
            TrustedIssuer(iss=TENANT_ISS, jwks=jwks(ec_key()), tenants=("hospital-a",)),
            TrustedIssuer(
                iss=JKU_ISS, jwks=jwks(ec_key()), jku_allowlist=(JKU,), algorithms=("ES384",)
            ),
        ),
        "fhir_servers": (FHIR_BASE,),
        "fhir_timeout_s": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-ins for terminology loading and the pipeline; records each evaluated service."""
    calls: list[str] = []

    def record(service, context, resources, **_: object) -> list:
        calls.append(service.id)
        return []

    monkeypatch.setattr(mappings, "load_terminology", lambda: None, raising=False)
    monkeypatch.setattr(pipeline, "evaluate", record)
    return calls


@pytest.fixture
def api(tmp_path: Path, evaluated: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        yield client


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with LogCapture() as capture:
        yield capture


def call_hook(api: TestClient, jwt_value: str | None, **headers: str) -> httpx.Response:
    auth = bearer(jwt_value) if jwt_value is not None else {}
    body = hook_request(prefetch=full_prefetch())
    return api.post(PATIENT_VIEW, json=body, headers={**auth, **headers})


def assert_refused(response: httpx.Response, logs: LogCapture, reason: str) -> None:
    """401, a bare Bearer challenge, a body that says nothing, and the reason in the log only."""
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["issue"][0]["diagnostics"] == "authentication required"
    failures = logs.events("auth_failed")
    assert failures, "the reason must be logged"
    assert reason in failures[-1]["reason"]
    assert reason not in response.text


# --- valid tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [ec_key, rsa_key], ids=["ES384", "RS384"])
def test_valid_token_opens_discovery_hook_and_feedback(
    api: TestClient, evaluated: list[str], key
) -> None:
    response = api.get(DISCOVERY, headers=bearer(token(DISCOVERY, key=key())))
    assert response.status_code == 200
    assert {s["id"] for s in response.json()["services"]} >= {"ms-back-pain-patient-view"}

    response = call_hook(api, token(key=key()))
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
    assert evaluated == ["ms-back-pain-patient-view"]

    response = api.post(FEEDBACK, json=FEEDBACK_BODY, headers=bearer(token(FEEDBACK, key=key())))
    assert response.status_code == 200
    assert response.json()["received"] == 1


def test_aud_may_be_an_array_holding_the_endpoint(api: TestClient) -> None:
    aud = ["https://other.example.org/x", BASE + PATIENT_VIEW]
    assert call_hook(api, token(aud=aud)).status_code == 200


def test_clock_skew_within_a_minute_is_tolerated(api: TestClient) -> None:
    now = int(time.time())
    assert call_hook(api, token(exp=now - 30, iat=now - 330)).status_code == 200
    assert call_hook(api, token(iat=now + 30, nbf=now + 30)).status_code == 200


def test_health_stays_open(api: TestClient) -> None:
    assert api.get("/health").status_code == 200
    assert api.get("/health/ready").status_code == 200


# --- attacks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"],
    ids=["absent", "empty", "scheme-only", "blank", "basic", "other-scheme"],
)
def test_no_bearer_token(api: TestClient, logs: LogCapture, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = api.post(PATIENT_VIEW, json=hook_request(), headers=headers)
    assert_refused(response, logs, "no bearer token")


def test_unknown_service_needs_a_token_before_it_is_named(
    api: TestClient, logs: LogCapture
) -> None:
    response = api.post("/cds-services/nope", json=hook_request())
    assert_refused(response, logs, "no bearer token")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "malformed token"),
        ("a.b.c", "malformed token"),
        (b64(b"[]") + "." + b64(b"{}") + ".x", "malformed token"),
        ("e30.e30.", "algorithm refused"),  # {} as header: no alg
        ("x" * 20_000, "token too long"),
    ],
)
def test_malformed_token(api: TestClient, logs: LogCapture, value: str, reason: str) -> None:
    assert_refused(call_hook(api, value), logs, reason)


def test_alg_none(api: TestClient, logs: LogCapture, evaluated: list[str]) -> None:
    assert_refused(call_hook(api, unsigned_token()), logs, "algorithm refused")
    assert not evaluated


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_as_secret(
    api: TestClient, logs: LogCapture, alg: str
) -> None:
    forged = hmac_token(rsa_key().public_pem, alg=alg, kid=rsa_key().kid)
    assert_refused(call_hook(api, forged), logs, "algorithm refused")


def test_wrong_signature(api: TestClient, logs: LogCapture) -> None:
    impostor = ec_key("impostor")
    same_kid = type(impostor)(ec_key().kid, "ES384", impostor.private)
    assert_refused(call_hook(api, token(key=same_kid)), logs, "signature does not verify")


def test_tampered_payload(api: TestClient, logs: LogCapture) -> None:
    header, payload, signature = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "someone-else"
    tampered = f"{header}.{b64(claims)}.{signature}"
    assert_refused(call_hook(api, tampered), logs, "signature does not verify")


def test_expired(api: TestClient, logs: LogCapture) -> None:
    now = int(time.time())
    assert_refused(call_hook(api, token(exp=now - 61, iat=now - 361)), logs, "expired")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid(api: TestClient, logs: LogCapture, claim: str) -> None:
    future = int(time.time()) + 120
    assert_refused(call_hook(api, token(**{claim: future})), logs, "not yet valid")


def test_exp_more_than_an_hour_ahead(api: TestClient, logs: LogCapture) -> None:
    later = int(time.time()) + 2 * 3600
    assert_refused(call_hook(api, token(exp=later)), logs, "more than an hour")


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_missing_required_claim(api: TestClient, logs: LogCapture, claim: str) -> None:
    assert_refused(call_hook(api, token(**{claim: None})), logs, f"claim {claim} missing")


@pytest.mark.parametrize(
    "aud",
    [
        "https://other-cds.example.org/cds-services/ms-back-pain-patient-view",
        BASE + DISCOVERY,
        BASE + "/cds-services/ms-back-pain-order-sign",
        "http://testserver" + PATIENT_VIEW,  # the Host header's URL: not what we trust
        "https://cds.example.org:8443" + PATIENT_VIEW,
        BASE + PATIENT_VIEW + "/",
    ],
    ids=["other-service", "discovery-url", "sibling-hook", "host-header", "other-port", "slash"],
)
def test_wrong_audience(api: TestClient, logs: LogCapture, aud: str) -> None:
    assert_refused(call_hook(api, token(aud=aud)), logs, "aud is not this endpoint")


def test_discovery_token_is_refused_on_feedback(api: TestClient, logs: LogCapture) -> None:
    stolen = token(DISCOVERY)
    response = api.post(FEEDBACK, json=FEEDBACK_BODY, headers=bearer(stolen))
    assert_refused(response, logs, "aud is not this endpoint")


def test_unknown_issuer(api: TestClient, logs: LogCapture) -> None:
    response = call_hook(api, token(iss="https://evil.example.org"))
    assert_refused(response, logs, "not a trusted issuer")
    assert logs.events("auth_failed")[-1]["iss"] == "https://evil.example.org"


def test_unknown_kid(api: TestClient, logs: LogCapture) -> None:
    stranger = ec_key("not-in-the-jwks")
    assert_refused(call_hook(api, token(key=stranger)), logs, "unknown kid")


def test_missing_kid(api: TestClient, logs: LogCapture) -> None:
    key = ec_key()
    import jwt

    no_kid = jwt.encode(
        json.loads(base64.urlsafe_b64decode(token().split(".")[1] + "==")),
        key.private,
        algorithm="ES384",
    )
    assert_refused(call_hook(api, no_kid), logs, "no kid")


def test_algorithm_not_allowed_for_the_issuer(api: TestClient, logs: LogCapture) -> None:
    """The jku issuer allows ES384 only; a PS384 token with its RSA key must not get in."""
    rsa_as_pss = rsa_key("rsa-pss", "PS384")
    assert_refused(
        call_hook(api, token(key=rsa_as_pss, iss=JKU_ISS)), logs, "not allowed for this issuer"
    )


def test_key_declared_for_another_algorithm(api: TestClient, logs: LogCapture) -> None:
    """The RSA key says RS384; the same key used with PS384 is refused."""
    response = call_hook(api, token(key=rsa_key(), alg="PS384"))
    assert_refused(response, logs, "algorithm")


def test_es256_token_against_a_p384_key(api: TestClient, logs: LogCapture) -> None:
    p256 = ec_key("p256", "P-256")
    forged = token(key=type(p256)(ec_key().kid, "ES256", p256.private))
    assert_refused(call_hook(api, forged), logs, "algorithm")


def test_replayed_jti(api: TestClient, logs: LogCapture, evaluated: list[str]) -> None:
    once = token(jti="only-once")
    assert call_hook(api, once).status_code == 200
    assert_refused(call_hook(api, once), logs, "replay")
    fresh_token_same_jti = token(jti="only-once")
    assert_refused(call_hook(api, fresh_token_same_jti), logs, "replay")
    assert len(evaluated) == 1


def test_jti_of_another_issuer_is_its_own(api: TestClient) -> None:
    assert call_hook(api, token(jti="shared")).status_code == 200
    assert call_hook(api, token(jti="shared", iss=JKU_ISS)).status_code == 200


@pytest.mark.parametrize("tenant", ["hospital-b", None, ""])
def test_tenant_not_allowed(api: TestClient, logs: LogCapture, tenant: str | None) -> None:
    response = call_hook(api, token(iss=TENANT_ISS, tenant=tenant))
    assert_refused(response, logs, "tenant not allowed")


def test_allowed_tenant_gets_in(api: TestClient) -> None:
    assert call_hook(api, token(iss=TENANT_ISS, tenant="hospital-a")).status_code == 200


# --- jku -----------------------------------------------------------------------------------------


def test_jku_not_on_the_allowlist_is_never_fetched(api: TestClient, logs: LogCapture) -> None:
    attacker = ec_key("attacker")
    evil_jku = "https://evil.example.org/jwks.json"
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(evil_jku).respond(json=jwks(attacker))
        mock.route().respond(404)  # record any other request too
        forged = token(key=attacker, headers={"jku": evil_jku})
        response = call_hook(api, forged)
        # Also for the issuer that does have an allowlist (just not this URL).
        forged_jku_issuer = token(key=attacker, iss=JKU_ISS, headers={"jku": evil_jku})
        second = call_hook(api, forged_jku_issuer)
        assert route.call_count == 0
        assert not mock.calls
    assert_refused(response, logs, "unknown kid")
    assert second.status_code == 401


def test_allowlisted_jku_is_fetched_once_and_cached(api: TestClient, logs: LogCapture) -> None:
    rotated = ec_key("rotated")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(JKU).respond(json=jwks(rotated))
        mock.route().respond(404)
        for _ in range(3):
            response = call_hook(api, token(key=rotated, iss=JKU_ISS, headers={"jku": JKU}))
            assert response.status_code == 200, logs.lines
        # A made-up kid right after a fetch does not trigger another one.
        stranger = token(key=ec_key("made-up"), iss=JKU_ISS, headers={"jku": JKU})
        assert call_hook(api, stranger).status_code == 401
        assert route.call_count == 1
        assert [str(c.request.url) for c in mock.calls] == [JKU]


def test_jku_redirect_is_not_followed(api: TestClient, logs: LogCapture) -> None:
    rotated = ec_key("rotated")
    with respx.mock(assert_all_called=False) as mock:
        mock.get(JKU).respond(302, headers={"Location": "https://evil.example.org/k"})
        elsewhere = mock.get("https://evil.example.org/k").respond(json=jwks(rotated))
        response = call_hook(api, token(key=rotated, iss=JKU_ISS, headers={"jku": JKU}))
        assert elsewhere.call_count == 0
    assert response.status_code == 401
    assert logs.events("jwks_fetch_failed")[-1]["reason"] == "key set URL answered 302"


def test_unreachable_replay_store_fails_closed(
    tmp_path: Path, evaluated: list[str], logs: LogCapture
) -> None:
    settings = make_settings(tmp_path, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        response = call_hook(client, token())
        ready = client.get("/health/ready")
    assert response.status_code == 503
    assert not evaluated
    assert logs.events("auth_unavailable")[-1]["reason"].startswith("redis:")
    # and the worker says so before any call: a load balancer takes it out of rotation
    assert ready.status_code == 503
    assert "replay store" in ready.json()["issue"][0]["diagnostics"]

"""CORS for browser clients: preflights without a token, only for configured origins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import mappings
from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http.app import create_app
from tests.service.auth_helpers import (
    BASE,
    DISCOVERY,
    FEEDBACK,
    ISS,
    PATIENT_VIEW,
    bearer,
    ec_key,
    jwks,
    token,
)

EHR = "https://ehr.example.org"


@pytest.fixture(autouse=True)
def no_terminology(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mappings, "load_terminology", lambda: None, raising=False)


def make_client(tmp_path: Path, **overrides: object) -> TestClient:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "auth": "jwt",
        "public_base_url": BASE,
        "trusted_issuers": (TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
        "cors_origins": (EHR,),
    }
    values.update(overrides)
    # Demo mode answers only calls addressed to localhost
    # (tests/service/http/test_http_hardening.py)
    base_url = "http://localhost:8000" if values.get("demo") else "http://testserver"
    return TestClient(create_app(Settings(**values)), base_url=base_url)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as client:
        yield client


def preflight(
    client: TestClient, path: str, origin: str, method: str = "POST", **extra: str
) -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
        **extra,
    }
    return client.options(path, headers=headers)


@pytest.mark.parametrize(
    ("path", "method"), [(DISCOVERY, "GET"), (PATIENT_VIEW, "POST"), (FEEDBACK, "POST")]
)
def test_preflight_from_an_allowed_origin_needs_no_token(
    api: TestClient, path: str, method: str
) -> None:
    response = preflight(api, path, EHR, method)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == EHR
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {
        "GET",
        "POST",
        "OPTIONS",
    }
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "origin", ["https://evil.example.org", "https://ehr.example.org.evil.com", "null"]
)
def test_preflight_from_another_origin_is_not_allowed(api: TestClient, origin: str) -> None:
    response = preflight(api, PATIENT_VIEW, origin)
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


def test_refusal_is_readable_by_the_allowed_origin(api: TestClient) -> None:
    """The 401 carries the CORS header, so the browser client can see why it failed."""
    response = api.get(DISCOVERY, headers={"Origin": EHR})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == EHR
    other = api.get(DISCOVERY, headers={"Origin": "https://evil.example.org"})
    assert "access-control-allow-origin" not in other.headers


def test_a_hook_call_from_the_allowed_origin_is_readable_by_it(api: TestClient) -> None:
    """Hook calls skip the router (service/http/dispatch.py) but not CORS: 401 and 200 carry it."""
    refused = api.post(PATIENT_VIEW, json={}, headers={"Origin": EHR})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == EHR
    body = {"hook": "patient-view", "hookInstance": "h1", "context": {"userId": "Practitioner/1"}}
    answered = api.post(
        PATIENT_VIEW, json=body, headers={"Origin": EHR, **bearer(token(PATIENT_VIEW))}
    )
    assert answered.status_code == 400  # authenticated, then the missing patientId is named
    assert "patientId" in answered.json()["issue"][0]["diagnostics"]
    assert answered.headers["access-control-allow-origin"] == EHR


def test_no_origins_configured_means_no_cors(tmp_path: Path) -> None:
    with make_client(tmp_path, cors_origins=()) as client:
        response = preflight(client, PATIENT_VIEW, EHR)
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code in (401, 405)


PNA = {"Access-Control-Request-Private-Network": "true"}


def test_private_network_preflight_when_configured(tmp_path: Path) -> None:
    with make_client(tmp_path, cors_allow_private_network=True) as client:
        response = preflight(client, PATIENT_VIEW, EHR, **PNA)
        assert response.headers["access-control-allow-private-network"] == "true"
        plain = preflight(client, PATIENT_VIEW, EHR)
        assert "access-control-allow-private-network" not in plain.headers
        # Another origin's preflight fails whatever else it asked for.
        stranger = preflight(client, PATIENT_VIEW, "https://evil.example.org", **PNA)
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers


def test_private_network_not_granted_by_default(api: TestClient) -> None:
    response = preflight(api, PATIENT_VIEW, EHR, **PNA)
    assert response.status_code == 400
    assert "access-control-allow-private-network" not in response.headers


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://sandbox.cds-hooks.org", True),
        ("http://localhost:3000", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost", True),
        ("https://localhost:3000", False),
        ("http://localhost:3000.evil.com", False),
        ("http://sandbox.cds-hooks.org", False),
        ("https://evil.example.org", False),
    ],
)
def test_demo_mode_opens_cors_to_the_sandbox_and_local_pages(
    tmp_path: Path, origin: str, allowed: bool
) -> None:
    with make_client(tmp_path, demo=True, cors_origins=(), trusted_issuers=()) as client:
        response = preflight(client, PATIENT_VIEW, origin, **PNA)
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
    assert (response.status_code == 200) is allowed
    assert response.headers.get("access-control-allow-private-network") == "true"

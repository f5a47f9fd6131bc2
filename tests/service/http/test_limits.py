"""Request size limit (413) and outbound safety: only allowlisted FHIR servers are ever called."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
import respx
from fastapi.testclient import TestClient

from service.config import Settings
from service.fhir.client import same_server
from service.http.app import create_app
from tests.service.builders import FHIR_BASE, full_prefetch, hook_request

PV = "/cds-services/ms-back-pain-patient-view"
FEEDBACK = PV + "/feedback"
LIMIT = 4096
TOKEN = "secret-fhir-access-token"


@pytest.fixture
def small(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))) as client:
        yield client


def padded_request(size: int) -> bytes:
    body = hook_request(prefetch=full_prefetch())
    body["padding"] = ""
    raw = orjson.dumps(body)
    body["padding"] = "x" * (size - len(raw))
    return orjson.dumps(body)


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    issue = response.json()["issue"][0]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "too-costly" and str(LIMIT) in issue["diagnostics"]


@pytest.mark.parametrize("path", [PV, FEEDBACK])
def test_declared_oversized_body_is_refused(small: TestClient, path: str) -> None:
    assert_413(
        small.post(
            path, content=padded_request(LIMIT + 1), headers={"Content-Type": "application/json"}
        )
    )


def test_streamed_oversized_body_is_refused_while_counting(small: TestClient) -> None:
    """No Content-Length (chunked): the bytes are counted as they arrive."""
    raw = padded_request(LIMIT * 3)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 1000):
            yield raw[start : start + 1000]

    response = small.post(PV, content=chunks(), headers={"Content-Type": "application/json"})
    assert_413(response)


def test_body_at_the_limit_is_served(small: TestClient) -> None:
    response = small.post(
        PV, content=padded_request(LIMIT), headers={"Content-Type": "application/json"}
    )
    assert response.status_code != 413


def test_default_limit_is_five_megabytes(client: TestClient) -> None:
    response = client.post(PV, content=b"{}", headers={"Content-Length": str(5 * 1024 * 1024 + 1)})
    assert response.status_code == 413


@pytest.fixture
def anywhere() -> Iterator[respx.MockRouter]:
    """Every outbound request is recorded; none should happen."""
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(json={"resourceType": "Bundle", "type": "searchset"})
        yield router


@pytest.mark.parametrize(
    "server",
    [
        "https://evil.example.org/fhir",
        "https://ehr.example.org.evil.example.org/fhir",
        "https://ehr.example.org@evil.example.org/fhir",
        "http://ehr.example.org/fhir",  # downgraded scheme
        "https://ehr.example.org:8443/fhir",
        "https://ehr.example.org/fhirx",
        "https://ehr.example.org/fhir/../admin",
        "https://ehr.example.org/fhir/%2e%2e/admin",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_unlisted_fhir_server_gets_412_and_no_request(
    client: TestClient, anywhere: respx.MockRouter, server: str
) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    body = hook_request(
        prefetch=prefetch,
        fhirServer=server,
        fhirAuthorization={
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds",
        },
    )
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert "not an allowed server" in response.json()["issue"][0]["diagnostics"]
    assert not anywhere.calls


def test_context_value_cannot_steer_a_fetch_off_the_server(
    client: TestClient, anywhere: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    del prefetch["patient"]
    body = hook_request(prefetch=prefetch, context={"patientId": ".."})
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert not anywhere.calls


def test_listed_server_below_the_prefix_is_called_with_the_token(client: TestClient) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    base = FHIR_BASE + "/r4"
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(f"{base}/Condition").respond(
            json={"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        body = hook_request(
            prefetch=prefetch,
            fhirServer=base,
            fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 60},
        )
        client.post(PV, json=body)
        assert route.call_count == 1
        assert route.calls[0].request.headers["authorization"] == f"Bearer {TOKEN}"
        assert {c.request.url.host for c in mock.calls} == {"ehr.example.org"}


@pytest.mark.parametrize(
    ("url", "base", "same"),
    [
        ("https://ehr.example.org:443/fhir/Patient/1", "https://ehr.example.org/fhir", True),
        ("https://EHR.example.org/fhir", "https://ehr.example.org/fhir/", True),
        ("https://ehr.example.org/fhir/./Patient", "https://ehr.example.org/fhir", False),
        ("https://user:pw@ehr.example.org/fhir", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org:notaport/fhir", "https://ehr.example.org/fhir", False),
        ("file:///etc/passwd", "https://ehr.example.org/fhir", False),
    ],
)
def test_same_server_prefix_rules(url: str, base: str, same: bool) -> None:
    assert same_server(url, base) is same

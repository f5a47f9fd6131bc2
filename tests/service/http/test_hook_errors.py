"""Every malformed hook call gets a 4xx with an OperationOutcome naming the problem."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.builders import full_prefetch, hook_request

# Each test runs with prefetch entries read eagerly and deferred (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("entry_reading")

PV = "/cds-services/ms-back-pain-patient-view"
OS = "/cds-services/ms-back-pain-order-select"
SIGN = "/cds-services/ms-back-pain-order-sign"


def diagnostics(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body["issue"][0]["diagnostics"]


def test_unknown_service_is_404(client: TestClient) -> None:
    response = client.post("/cds-services/no-such-service", json=hook_request())
    assert response.status_code == 404
    assert "no-such-service" in diagnostics(response)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
    ],
)
def test_unreadable_body_is_400(client: TestClient, body: bytes, expected: str) -> None:
    response = client.post(PV, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert expected in diagnostics(response)


@pytest.mark.parametrize("field", ["hook", "hookInstance", "context"])
def test_missing_required_field_is_400(client: TestClient, field: str) -> None:
    body = hook_request(prefetch=full_prefetch())
    del body[field]
    response = client.post(PV, json=body)
    assert response.status_code == 400
    assert field in diagnostics(response)


def test_hook_that_does_not_match_the_service_is_400(client: TestClient) -> None:
    response = client.post(PV, json=hook_request("order-sign", full_prefetch()))
    assert response.status_code == 400
    assert "does not match" in diagnostics(response)


@pytest.mark.parametrize(
    ("url", "hook", "missing"),
    [
        (PV, "patient-view", "patientId"),
        (PV, "patient-view", "userId"),
        (OS, "order-select", "selections"),
        (OS, "order-select", "draftOrders"),
        (SIGN, "order-sign", "draftOrders"),
    ],
)
def test_context_missing_a_required_field_is_400(
    client: TestClient, url: str, hook: str, missing: str
) -> None:
    body = hook_request(hook, full_prefetch())
    del body["context"][missing]
    response = client.post(url, json=body)
    assert response.status_code == 400
    assert f"context.{missing}" in diagnostics(response)


@pytest.mark.parametrize("prefetch", [[1, 2], "patient", 3])
def test_prefetch_that_is_not_an_object_is_400(client: TestClient, prefetch) -> None:
    body = hook_request()
    body["prefetch"] = prefetch
    response = client.post(PV, json=body)
    assert response.status_code == 400
    assert "prefetch" in diagnostics(response)


def test_token_without_fhir_server_is_400(client: TestClient) -> None:
    body = hook_request(prefetch=full_prefetch(), fhirAuthorization={"access_token": "secret-x"})
    del body["fhirServer"]
    response = client.post(PV, json=body)
    assert response.status_code == 400
    text = diagnostics(response)
    assert "fhirServer" in text
    assert "secret-x" not in response.text


def test_wrong_types_are_400_and_do_not_echo_values(client: TestClient) -> None:
    body = hook_request(prefetch=full_prefetch())
    body["context"]["patientId"] = {"name": "Jane Doe"}
    response = client.post(PV, json=body)
    assert response.status_code == 400
    assert "context.patientId" in diagnostics(response)
    assert "Jane Doe" not in response.text


def test_unknown_fields_and_extensions_are_accepted(client: TestClient) -> None:
    body = hook_request(prefetch=full_prefetch())
    body["extension"] = {"com.example.timestamp": "2017-11-27T22:13:25Z"}
    body["somethingNew"] = True
    body["context"]["extraContext"] = "x"
    response = client.post(PV, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}  # no MS in the prefetch: no cards


def test_get_on_a_service_is_405_with_outcome(client: TestClient) -> None:
    response = client.get(PV)
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"

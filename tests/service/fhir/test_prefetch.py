"""Prefetch resolution per the spec's table, against a respx-mocked FHIR server."""

from __future__ import annotations

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.discovery import PAGE_SIZE
from tests.service.builders import (
    FHIR_BASE,
    LOW_BACK_PAIN,
    MS,
    PATIENT_ID,
    bundle,
    full_prefetch,
    hook_request,
    patient,
)

# Each test runs with prefetch entries read eagerly and deferred (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("entry_reading")

PV = "/cds-services/ms-back-pain-patient-view"
TOKEN = "opaque-fhir-token-123"


def summaries(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["summary"] for c in response.json()["cards"]]


def outcome(response: httpx.Response) -> str:
    assert response.json()["resourceType"] == "OperationOutcome"
    return response.json()["issue"][0]["diagnostics"]


@pytest.fixture
def fhir() -> respx.MockRouter:
    with respx.mock(base_url=FHIR_BASE, assert_all_called=False) as router:
        yield router


def test_complete_prefetch_makes_no_fhir_call(client: TestClient, fhir: respx.MockRouter) -> None:
    response = client.post(PV, json=hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)))
    assert summaries(response)  # MS with back pain earns cards
    assert not fhir.calls


def test_missing_key_is_fetched_with_the_bearer_token(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    route = fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        json=bundle(MS, LOW_BACK_PAIN)
    )
    body = hook_request(
        prefetch=prefetch,
        fhirAuthorization={
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "cds",
        },
    )
    response = client.post(PV, json=body)
    assert summaries(response)
    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_without_prefetch_every_template_is_fetched_concurrently(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    fhir.get(f"/Patient/{PATIENT_ID}").respond(json=patient())
    fhir.get("/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
    fhir.get("/MedicationRequest").respond(json=bundle())
    fhir.get("/MedicationStatement").respond(json=bundle())
    fhir.get("/Observation").respond(json=bundle())
    response = client.post(PV, json=hook_request())
    assert summaries(response)
    assert len(fhir.calls) == 6  # one per template; no token: none was given
    assert all("Authorization" not in c.request.headers for c in fhir.calls)


def test_null_key_means_no_data_and_is_not_fetched(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    prefetch["medicationRequests"] = None
    prefetch["patient"] = None
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert summaries(response)
    assert not fhir.calls


def test_operation_outcome_in_place_of_data_is_fetched(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    route = fhir.get("/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
    assert summaries(client.post(PV, json=hook_request(prefetch=prefetch)))
    assert route.call_count == 1


def test_bundle_with_error_outcome_entry_is_fetched(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    prefetch["conditions"] = bundle({"resourceType": "OperationOutcome", "issue": []})
    route = fhir.get("/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
    assert summaries(client.post(PV, json=hook_request(prefetch=prefetch)))
    assert route.call_count == 1


@pytest.mark.parametrize("severity", ["information", "error"])
def test_an_outcome_entry_beside_a_missing_key_fetches_each_query_once(
    client: TestClient, fhir: respx.MockRouter, severity: str
) -> None:
    # Read deferred, the outcome entry is found only while the chart is classified, after the
    # missing conditions were fetched; the call is then answered again the eager way, which
    # must not fetch them again.
    prefetch = full_prefetch()
    del prefetch["conditions"]
    prefetch["medicationRequests"] = bundle(
        {"resourceType": "OperationOutcome", "issue": [{"severity": severity}]}
    )
    conditions = fhir.get("/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
    requests = fhir.get("/MedicationRequest").respond(json=bundle())
    assert summaries(client.post(PV, json=hook_request(prefetch=prefetch)))
    assert conditions.call_count == 1
    assert requests.call_count == (1 if severity == "error" else 0)


def test_paginated_prefetch_follows_next_links(client: TestClient, fhir: respx.MockRouter) -> None:
    prefetch = full_prefetch()
    prefetch["conditions"] = bundle(
        MS, link=[{"relation": "next", "url": f"{FHIR_BASE}/Condition?page=2"}]
    )
    route = fhir.get("/Condition", params={"page": "2"}).respond(json=bundle(LOW_BACK_PAIN))
    without_page_two = client.post(PV, json=hook_request(prefetch=full_prefetch(MS))).json()[
        "cards"
    ]
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert route.call_count == 1
    # Page two carried the back pain: the cards differ from MS alone.
    assert summaries(response) != [c["summary"] for c in without_page_two]


def test_fetched_search_pages_until_no_next_link(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    fhir.get("/Condition", params={"page": "2"}).respond(json=bundle(LOW_BACK_PAIN))
    first = fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        json=bundle(MS, link=[{"relation": "next", "url": f"{FHIR_BASE}/Condition?page=2"}])
    )
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert summaries(response)
    assert first.call_count == 1 and len(fhir.calls) == 2


def test_next_link_loop_ends_without_refetching(client: TestClient, fhir: respx.MockRouter) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    loop = f"{FHIR_BASE}/Condition?patient={PATIENT_ID}&_count={PAGE_SIZE}"  # the first page
    fhir.get("/Condition").respond(
        json=bundle(MS, LOW_BACK_PAIN, link=[{"relation": "next", "url": loop}])
    )
    assert summaries(client.post(PV, json=hook_request(prefetch=prefetch)))
    assert len(fhir.calls) == 1


def test_next_link_to_another_host_is_refused(client: TestClient, fhir: respx.MockRouter) -> None:
    prefetch = full_prefetch()
    prefetch["conditions"] = bundle(
        MS, link=[{"relation": "next", "url": "https://attacker.example.net/steal"}]
    )
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert response.status_code == 412
    assert "away from the FHIR server" in outcome(response)
    assert not fhir.calls


@pytest.mark.parametrize(
    ("respond", "reason"),
    [
        (httpx.Response(500), "answered 500"),
        (httpx.Response(401), "refused access (401)"),
        (httpx.Response(403), "refused access (403)"),
        (httpx.Response(404), "answered 404"),
        (httpx.Response(200, text="<html>oops</html>"), "other than JSON"),
        (httpx.Response(200, json={"resourceType": "Patient"}), "did not return a Bundle"),
        (httpx.Response(302, headers={"Location": "https://elsewhere.example"}), "answered 302"),
    ],
)
def test_fhir_failure_gives_412(
    client: TestClient, fhir: respx.MockRouter, respond: httpx.Response, reason: str
) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    fhir.get("/Condition").mock(return_value=respond)
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert response.status_code == 412
    text = outcome(response)
    assert "conditions" in text and reason in text


def test_fhir_timeout_gives_412(client: TestClient, fhir: respx.MockRouter) -> None:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    fhir.get("/Condition").mock(side_effect=httpx.ReadTimeout("slow"))
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert response.status_code == 412
    assert "timed out" in outcome(response)


def test_missing_key_without_fhir_server_gives_412(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    del prefetch["egfr"]
    body = hook_request(prefetch=prefetch)
    del body["fhirServer"]
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert "egfr" in outcome(response)
    assert not fhir.calls


def test_missing_patient_read_404_means_no_patient(
    client: TestClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    del prefetch["patient"]
    route = fhir.get(f"/Patient/{PATIENT_ID}").respond(404)
    assert summaries(client.post(PV, json=hook_request(prefetch=prefetch)))
    assert route.call_count == 1


def test_oversized_fhir_response_gives_412(settings, fhir: respx.MockRouter) -> None:
    from service.http.app import create_app

    small = settings.model_copy(update={"fhir_max_response_bytes": 2_000})
    prefetch = full_prefetch()
    del prefetch["conditions"]
    fhir.get("/Condition").respond(json=bundle(*[MS] * 50))
    with TestClient(create_app(small)) as client:
        response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert response.status_code == 412
    assert "larger than the configured limit" in outcome(response)

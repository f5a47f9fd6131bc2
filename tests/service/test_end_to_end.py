"""The whole path, request -> FHIR data -> profile -> cards -> response, on real-world requests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient

from tests.service.builders import (
    ICD10CM,
    LOW_BACK_PAIN,
    MS,
    SNOMED,
    bundle,
    condition,
    full_prefetch,
    hook_request,
    patient,
)

# Each test runs with prefetch entries read eagerly and deferred (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("entry_reading")

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "service"
PV = "/cds-services/ms-back-pain-patient-view"
OS = "/cds-services/ms-back-pain-order-select"
SIGN = "/cds-services/ms-back-pain-order-sign"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def assert_well_formed(cards: list[dict]) -> None:
    """What every EHR relies on, checked on every card the service returns."""
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[c["indicator"]] for c in cards] == sorted(order[c["indicator"]] for c in cards)
    uuids = [c["uuid"] for c in cards]
    assert len(set(uuids)) == len(uuids)
    for card in cards:
        assert 0 < len(card["summary"]) < 140
        assert card["source"]["label"]
        assert "<" not in card.get("detail", "")  # plain Markdown, no HTML
        if card["indicator"] != "info":
            assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
        if card.get("suggestions"):
            assert card["selectionBehavior"] in ("any", "at-most-one")
            for suggestion in card["suggestions"]:
                assert suggestion["uuid"] and suggestion["label"]
                assert all(a["description"] for a in suggestion.get("actions", []))
        _assert_no_null_or_empty(card)


def _assert_no_null_or_empty(value) -> None:
    if isinstance(value, dict):
        for v in value.values():
            assert v is not None and v != [] and v != {}
            _assert_no_null_or_empty(v)
    elif isinstance(value, list):
        for v in value:
            _assert_no_null_or_empty(v)


def test_readme_example_earns_first_line_and_spasticity_cards(client: TestClient) -> None:
    response = client.post(PV, json=json.loads((ROOT / "examples/patient-view.json").read_text()))
    assert response.status_code == 200
    cards = response.json()["cards"]
    assert_well_formed(cards)
    text = [c["summary"].lower() for c in cards]
    first_line = ("nsaid", "ibuprofen", "naproxen", "acetaminophen")
    assert any(any(drug in s for drug in first_line) for s in text), text
    assert any("baclofen" in s or "tizanidine" in s or "spasticity" in s for s in text), text
    details = " ".join(c.get("detail", "") for c in cards)
    assert "279039007" in details  # the evidence is quoted


def test_the_same_call_gives_the_same_card_uuids(client: TestClient) -> None:
    body = hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN))
    first = client.post(PV, json=body).json()["cards"]
    body["hookInstance"] = "another-instance"
    second = client.post(PV, json=body).json()["cards"]
    assert first and [c["uuid"] for c in first] == [c["uuid"] for c in second]


def test_without_ms_there_are_no_cards(client: TestClient) -> None:
    response = client.post(PV, json=hook_request(prefetch=full_prefetch(LOW_BACK_PAIN)))
    assert response.json() == {"cards": []}


def test_portal_user_gets_no_cards(client: TestClient) -> None:
    body = hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN))
    body["context"]["userId"] = "Patient/pat-1"
    assert client.post(PV, json=body).json() == {"cards": []}


def test_lumbar_mri_for_acute_back_pain_is_flagged_with_a_delete(client: TestClient) -> None:
    draft = {
        "resourceType": "ServiceRequest",
        "id": "mri-1",
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72148",
                    "display": "MRI L-spine",
                }
            ]
        },
        "reasonCode": [{"coding": [{"system": SNOMED, "code": "279039007"}]}],
        "subject": {"reference": "Patient/pat-1"},
    }
    body = hook_request(
        "order-select",
        full_prefetch(MS, LOW_BACK_PAIN),
        context={"selections": ["ServiceRequest/mri-1"], "draftOrders": bundle(draft)},
    )
    cards = client.post(OS, json=body).json()["cards"]
    assert_well_formed(cards)
    imaging = [c for c in cards if c["indicator"] == "warning" and "mri-1" in c.get("detail", "")]
    assert imaging, cards
    actions = [a for s in imaging[0]["suggestions"] for a in s.get("actions", [])]
    assert {"type": "delete", "resourceId": "ServiceRequest/mri-1"}.items() <= next(
        a for a in actions if a["type"] == "delete"
    ).items()


def test_brain_mri_for_ms_monitoring_is_not_flagged(client: TestClient) -> None:
    draft = {
        "resourceType": "ServiceRequest",
        "id": "mri-brain",
        "status": "draft",
        "code": {"text": "MRI brain with and without contrast"},
        "reasonCode": [{"coding": [{"system": ICD10CM, "code": "G35.A"}]}],
    }
    body = hook_request(
        "order-sign",
        full_prefetch(MS, LOW_BACK_PAIN),
        context={"draftOrders": bundle(draft)},
    )
    cards = client.post(SIGN, json=body).json()["cards"]
    assert not [c for c in cards if "mri-brain" in c.get("detail", "")]


@pytest.mark.parametrize(
    "capture", ["sandbox-order-select-request.json", "sandbox-order-sign-request.json"]
)
def test_sandbox_captures_are_answered(client: TestClient, capture: str) -> None:
    """The Sandbox sends `category` as an object, Bundles without type, drafts without intent."""
    request = load(capture)
    base = request["fhirServer"]
    with respx.mock(base_url=base, assert_all_called=False) as fhir:
        fhir.get("/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
        fhir.get("/MedicationRequest").respond(json=bundle())
        fhir.get("/MedicationStatement").respond(json=bundle())
        fhir.get("/Observation").respond(json=bundle())
        fhir.get(path__regex=r"/Patient/.*").respond(json=patient())
        url = OS if request["hook"] == "order-select" else SIGN
        response = client.post(url, json=request)
    assert response.status_code == 200, response.text
    assert_well_formed(response.json()["cards"])


def test_spec_patient_view_example_without_ms_gives_no_cards(client: TestClient) -> None:
    request = load("spec-patient-view-request.json")
    with respx.mock(base_url=request["fhirServer"], assert_all_called=False) as fhir:
        fhir.get(path__regex=r"/Patient/.*").respond(json=request["prefetch"]["patientToGreet"])
        searches = r"/(Condition|MedicationRequest|MedicationStatement|Observation)$"
        fhir.get(path__regex=searches).respond(json=bundle())
        response = client.post(PV, json=request)
        # the service fetched what its own templates ask for; the spec's own key is ignored
        assert len(fhir.calls) == 6
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_spec_order_select_example_ignores_nutrition_orders(client: TestClient) -> None:
    request = load("spec-order-select-request.json")
    request["prefetch"] = full_prefetch(MS, LOW_BACK_PAIN)
    request["prefetch"]["patient"] = {**patient(), "id": request["context"]["patientId"]}
    response = client.post(OS, json=request)
    assert response.status_code == 200
    cards = response.json()["cards"]
    assert_well_formed(cards)
    assert not any("pureeddiet" in c.get("detail", "") for c in cards)


def test_messy_fhir_data_never_gives_a_500(client: TestClient) -> None:
    messy = copy.deepcopy(MS)
    messy["category"] = {"coding": [{}]}  # an object instead of a list
    junk = [
        {"resourceType": "Condition", "code": {"coding": [{}]}},
        {"resourceType": "Condition", "code": "G35"},
        {"resourceType": "MedicationRequest", "status": "active", "medicationCodeableConcept": 7},
        {"resourceType": "Observation", "valueQuantity": {"value": "high"}},
        condition("c-x", SNOMED, "279039007", "Low back pain", onset_days=-5),  # onset in future
        "not a resource",
        None,
    ]
    prefetch = full_prefetch(messy, LOW_BACK_PAIN)
    prefetch["conditions"]["entry"].extend({"resource": r} for r in junk)
    prefetch["conditions"]["entry"].append("garbage entry")
    del prefetch["conditions"]["type"]
    response = client.post(PV, json=hook_request(prefetch=prefetch))
    assert response.status_code == 200, response.text
    assert_well_formed(response.json()["cards"])


def test_draft_referencing_a_prefetched_medication_is_recognised(client: TestClient) -> None:
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    tizanidine = {
        "resourceType": "Medication",
        "id": "med-tiz",
        "code": {"coding": [{"system": rxnorm, "code": "313413"}]},
    }
    cipro = {
        "resourceType": "MedicationRequest",
        "id": "rx-cipro",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": rxnorm, "code": "309309", "display": "ciprofloxacin 500 MG"}]
        },
    }
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-tiz",
        "status": "draft",
        "medicationReference": {"reference": "Medication/med-tiz"},
    }
    prefetch = full_prefetch(MS, LOW_BACK_PAIN, meds=(cipro, tizanidine))
    body = hook_request("order-sign", prefetch, context={"draftOrders": bundle(draft)})
    cards = client.post(SIGN, json=body).json()["cards"]
    assert cards and cards[0]["indicator"] == "critical"
    assert "draft-tiz" in cards[0]["detail"]

"""A hook call whose free text is more than one call may read (`mappings.text_budget`) gets a
413 naming the problem, and a large but realistic amount of text is answered."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mappings.text_budget import MAX_SCANNED_CHARS
from tests.service.builders import CLINICAL, LOW_BACK_PAIN, MS, PATIENT_ID, bundle, full_prefetch
from tests.service.builders import hook_request as build_request

PV = "/cds-services/ms-back-pain-patient-view"
TEXT_CHARS = 4_000


def uncoded(i: int) -> dict[str, Any]:
    """A Condition known only by its words: each text different, so none is remembered."""
    return {
        "resourceType": "Condition",
        "id": f"note-{i}",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"text": (f"entry {i} history of travel and diet review " * 100)[:TEXT_CHARS]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


def call(client: TestClient, texts: int) -> Any:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    prefetch["conditions"] = bundle(MS, LOW_BACK_PAIN, *(uncoded(i) for i in range(texts)))
    return client.post(PV, json=build_request(prefetch=prefetch))


def test_more_free_text_than_a_call_may_read_is_413(client: TestClient) -> None:
    response = call(client, MAX_SCANNED_CHARS // TEXT_CHARS + 2)
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"
    assert "free text" in outcome["issue"][0]["diagnostics"]


def test_much_free_text_within_the_budget_is_answered(client: TestClient) -> None:
    response = call(client, MAX_SCANNED_CHARS // TEXT_CHARS // 2)
    assert response.status_code == 200
    assert response.json()["cards"]

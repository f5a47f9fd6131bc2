"""An order hook whose draft orders differ more than one call may check (`cards.orders`) gets a
413 naming the problem, not a 500 nor an answer from some of its orders; as many as one call
may check are answered."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cards.orders import MAX_CHECKED_ORDERS
from tests.service.builders import LOW_BACK_PAIN, MS, PATIENT_ID, RXNORM, full_prefetch
from tests.service.builders import hook_request as build_request

SIGN = "/cds-services/ms-back-pain-order-sign"


def oxycodone(i: int) -> dict[str, Any]:
    """A draft of oxycodone whose daily dose is its own: no two are alike to the checks."""
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{i}",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1049621"}]},
        "dosageInstruction": [{"text": f"{1 + i / 100:.2f} mg by mouth daily"}],
    }


def call(client: TestClient, drafts: int) -> Any:
    entries = [{"resource": oxycodone(i)} for i in range(drafts)]
    body = build_request(
        "order-sign",
        full_prefetch(MS, LOW_BACK_PAIN),
        context={"draftOrders": {"resourceType": "Bundle", "entry": entries}},
    )
    return client.post(SIGN, json=body)


def test_more_different_drafts_than_a_call_may_check_is_413(client: TestClient) -> None:
    response = call(client, MAX_CHECKED_ORDERS + 1)
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"
    assert "draft orders" in outcome["issue"][0]["diagnostics"]


def test_as_many_as_a_call_may_check_are_answered(client: TestClient) -> None:
    response = call(client, MAX_CHECKED_ORDERS)
    assert response.status_code == 200
    assert response.json()["cards"]

"""PAMA ratings in the hook response: the order hooks answer the Sandbox's PAMA tab request with
the rating where the Sandbox reads it (`extension.systemActions`) and where CDS Hooks 2.0 puts it
(`systemActions`), beside the existing imaging card."""

from __future__ import annotations

import pytest

from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
RATING_URL = "http://fhir.org/argonaut/Extension/pama-rating"


def pama_context(code: str, display: str, reasons: list[tuple[str, str]]) -> dict:
    """What the Sandbox's PAMA tab sends (src/components/Pama/pama.jsx generateContext)."""
    return {
        "selections": ["ServiceRequest/example-request-id"],
        "draftOrders": {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "ServiceRequest",
                        "id": "example-request-id",
                        "status": "draft",
                        "intent": "plan",
                        "code": {
                            "coding": [{"system": CPT, "code": code, "display": display}],
                            "text": display,
                        },
                        "subject": {"reference": "Patient/pat-1"},
                        "reasonCode": [
                            {"coding": [{"system": SNOMED, "code": c, "display": d}], "text": d}
                            for c, d in reasons
                        ],
                    }
                }
            ],
        },
    }


def ratings(body: dict) -> list[str]:
    return [
        c["code"]
        for action in body["extension"]["systemActions"]
        for e in action["resource"]["extension"]
        if e["url"] == RATING_URL
        for c in e["valueCodeableConcept"]["coding"]
    ]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_routine_lumbar_mri_is_rated_not_appropriate_beside_its_card(client, hook):
    context = pama_context(
        "72148", "MRI lumbar spine without contrast", [("279039007", "Low back pain")]
    )
    if hook == "order-sign":
        del context["selections"]
    request = hook_request(hook, full_prefetch(MS, LOW_BACK_PAIN), context=context)
    response = client.post(f"/cds-services/ms-back-pain-{hook}", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert ratings(body) == ["not-appropriate"]
    assert body["systemActions"] == body["extension"]["systemActions"]
    (action,) = body["systemActions"]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "example-request-id"
    assert action["description"]
    kinds = [c["source"]["topic"]["code"] for c in body["cards"] if c["source"].get("topic")]
    assert "imaging-not-indicated" in kinds


def test_red_flag_reason_is_rated_appropriate_and_brain_mri_no_criteria_apply(client):
    context = pama_context(
        "72148",
        "MRI lumbar spine without contrast",
        [("279039007", "Low back pain"), ("192970008", "Cauda equina syndrome")],
    )
    request = hook_request("order-select", full_prefetch(MS, LOW_BACK_PAIN), context=context)
    body = client.post("/cds-services/ms-back-pain-order-select", json=request).json()
    assert ratings(body) == ["appropriate"]
    # the red flag given as the order's reason: the imaging card agrees, imaging is indicated
    kinds = [c["source"]["topic"]["code"] for c in body["cards"] if c["source"].get("topic")]
    assert "imaging-not-indicated" not in kinds

    context = pama_context("70553", "MRI brain", [("24700007", "Multiple sclerosis")])
    request = hook_request("order-select", full_prefetch(MS), context=context)
    body = client.post("/cds-services/ms-back-pain-order-select", json=request).json()
    assert ratings(body) == ["no-criteria-apply"]


def test_no_imaging_order_no_system_actions(client):
    request = hook_request("order-select", full_prefetch(MS, LOW_BACK_PAIN))
    body = client.post("/cds-services/ms-back-pain-order-select", json=request).json()
    assert "systemActions" not in body and "extension" not in body


def test_a_draft_nested_too_deep_to_echo_gets_its_cards_and_no_rating(client):
    """Found by the fuzz test: the rated draft is sent back whole, and a JSON encoder stops a
    few hundred levels down; such a draft is not rated (and never a 500)."""
    nested: list = [None]
    for _ in range(250):
        nested = [nested]
    context = pama_context("70553", "MRI brain", [("24700007", "Multiple sclerosis")])
    reason = context["draftOrders"]["entry"][0]["resource"]["reasonCode"][0]
    reason["coding"][0]["extension"] = nested
    request = hook_request("order-sign", full_prefetch(MS), context=context)
    del request["context"]["selections"]
    response = client.post("/cds-services/ms-back-pain-order-sign", json=request)
    assert response.status_code == 200, response.text
    assert "systemActions" not in response.json()

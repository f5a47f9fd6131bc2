"""Feedback: validated, stored durably, idempotent, all-or-nothing per batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.http.app import create_app

FEEDBACK = "/cds-services/ms-back-pain-patient-view/feedback"
CAPTURE = Path(__file__).parents[2] / "fixtures" / "service" / "sandbox-feedback-request.json"

ACCEPTED = {
    "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2026-11-20T10:05:31Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {"code": "patient-preference", "system": "https://example.org/override"},
        "userComment": "Discussed with the patient.",
    },
    "outcomeTimestamp": "2026-11-20T10:06:00Z",
}


def rows(client: TestClient) -> list[dict]:
    return client.portal.call(client.app.state.store.all)


def test_items_are_stored_with_service_and_received_time(client: TestClient) -> None:
    response = client.post(FEEDBACK, json={"feedback": [ACCEPTED, OVERRIDDEN]})
    assert response.status_code == 200
    assert response.json() == {"received": 2, "stored": 2}
    stored = rows(client)
    assert [r["card_uuid"] for r in stored] == [ACCEPTED["card"], OVERRIDDEN["card"]]
    assert stored[0]["service_id"] == "ms-back-pain-patient-view"
    assert stored[0]["accepted_suggestions"] == ["e56e1945-20b3-4393-8503-a1a20fd73152"]
    assert stored[1]["override_reason"]["reason"]["code"] == "patient-preference"
    assert stored[1]["override_reason"]["userComment"] == "Discussed with the patient."
    assert all(r["received_at"] is not None for r in stored)


def test_the_same_item_twice_is_stored_once(client: TestClient) -> None:
    assert client.post(FEEDBACK, json={"feedback": [ACCEPTED]}).json()["stored"] == 1
    assert client.post(FEEDBACK, json={"feedback": [ACCEPTED, ACCEPTED]}).json()["stored"] == 0
    assert len(rows(client)) == 1


def test_feedback_survives_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        assert first.post(FEEDBACK, json={"feedback": [ACCEPTED]}).status_code == 200
    with TestClient(create_app(settings)) as second:
        stored = rows(second)
        assert [r["card_uuid"] for r in stored] == [ACCEPTED["card"]]
        assert second.post(FEEDBACK, json={"feedback": [ACCEPTED]}).json()["stored"] == 0


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({**ACCEPTED, "outcome": "ignored"}, "outcome"),
        ({k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"}, "acceptedSuggestions"),
        ({**ACCEPTED, "acceptedSuggestions": []}, "acceptedSuggestions"),
        ({k: v for k, v in ACCEPTED.items() if k != "card"}, "card"),
        ({**ACCEPTED, "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        ({k: v for k, v in ACCEPTED.items() if k != "outcomeTimestamp"}, "outcomeTimestamp"),
        ({**OVERRIDDEN, "overrideReason": {}}, "overrideReason"),
        ("not an object", "feedback.1"),
    ],
)
def test_a_bad_item_rejects_the_whole_batch(client: TestClient, item, problem: str) -> None:
    response = client.post(FEEDBACK, json={"feedback": [OVERRIDDEN, item]})
    assert response.status_code == 400
    assert problem in response.json()["issue"][0]["diagnostics"]
    assert rows(client) == []  # nothing partial


@pytest.mark.parametrize("body", [{}, {"feedback": []}, {"feedback": "x"}, [1]])
def test_malformed_feedback_body_is_400(client: TestClient, body) -> None:
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_feedback_for_unknown_service_is_404(client: TestClient) -> None:
    response = client.post("/cds-services/nope/feedback", json={"feedback": [ACCEPTED]})
    assert response.status_code == 404


def test_the_sandbox_dismiss_without_reason_is_stored(client: TestClient) -> None:
    capture = json.loads(CAPTURE.read_text())
    response = client.post(FEEDBACK, json=capture)
    assert response.status_code == 200
    (row,) = rows(client)
    assert row["outcome"] == "overridden"
    assert row["override_reason"] is None


def test_readiness_reports_the_database(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/ready").status_code == 200
    client.portal.call(client.app.state.store.engine.dispose)
    client.app.state.ready = False
    assert client.get("/health/ready").status_code == 503


def test_unknown_fields_are_tolerated_but_not_stored(client: TestClient) -> None:
    item = {**OVERRIDDEN, "extension": {"com.example.deep": [[[["x"]]]]}, "whatever": 1}
    response = client.post(FEEDBACK, json={"feedback": [item]})
    assert response.status_code == 200
    (row,) = rows(client)
    assert "whatever" not in str(row) and "com.example" not in str(row)


def test_a_database_outage_is_a_503_and_nothing_is_stored(client: TestClient) -> None:
    async def fail(*args, **kwargs):
        from service.store.feedback import StoreUnavailable

        raise StoreUnavailable("OperationalError")

    store = client.app.state.store
    original = store.add
    store.add = fail
    try:
        response = client.post(FEEDBACK, json={"feedback": [ACCEPTED]})
    finally:
        store.add = original
    assert response.status_code == 503
    assert "retry" in response.json()["issue"][0]["diagnostics"]
    assert rows(client) == []

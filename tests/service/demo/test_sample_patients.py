"""Every sample patient and order earns the cards its index promises, through the HTTP path.

The prefetch is built the way the CDS Hooks Sandbox builds it: the service's discovery templates
run against the demo FHIR endpoint. The card kind is recognised by the bold first line of the
card's detail, which is fixed per kind in `cards.content.CARDS`.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cards.content import CARDS
from service.demo.fhir_server import DemoFhirStore, demo_fhir_router
from service.demo.samples import list_orders, list_samples, load_order

# Each test runs with prefetch entries read eagerly and deferred (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("entry_reading")

TODAY = date.today()
USER = "Practitioner/COREPRACTITIONER1"
LEADS = {f"**{text.lead}**": kind for kind, text in CARDS.items()}
ORDER_CASES = [
    (order.name, patient_id, kinds)
    for order in list_orders()
    for patient_id, kinds in order.expected.items()
]


@pytest.fixture(scope="module")
def fhir():
    app = FastAPI()
    app.include_router(demo_fhir_router(DemoFhirStore.from_samples(today=TODAY)), prefix="/fhir")
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def services(client):
    return {s["hook"]: s for s in client.get("/cds-services").json()["services"]}


def kind_of(card: dict) -> str:
    first_line = (card.get("detail") or "").split("\n", 1)[0].strip()
    assert first_line in LEADS, f"unrecognised card: {card['summary']!r}"
    return LEADS[first_line]


def prefetch_for(fhir: TestClient, templates: dict[str, str], patient_id: str) -> dict:
    """What the Sandbox sends: each template run against the FHIR server; failures left out."""
    prefetch = {}
    for key, template in templates.items():
        query = template.replace("{{context.patientId}}", patient_id)
        response = fhir.get(f"/fhir/{query}", headers={"Accept": "application/json+fhir"})
        if response.status_code == 200:
            prefetch[key] = response.json()
    return prefetch


def call(client, service: dict, patient_id: str, prefetch: dict, **context) -> list[dict]:
    body = {
        "hookInstance": str(uuid.uuid4()),
        "hook": service["hook"],
        "fhirServer": "http://demo.invalid/fhir",
        "context": {"patientId": patient_id, "userId": USER, **context},
        "prefetch": prefetch,
    }
    response = client.post(f"/cds-services/{service['id']}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.id)
def test_patient_view_earns_the_promised_cards(client, services, fhir, sample):
    service = services["patient-view"]
    prefetch = prefetch_for(fhir, service["prefetch"], sample.id)
    assert set(prefetch) == set(service["prefetch"])  # the demo endpoint satisfies every key
    cards = call(client, service, sample.id, prefetch)
    assert sorted(kind_of(c) for c in cards) == sorted(sample.cards), [c["summary"] for c in cards]


@pytest.mark.parametrize(("order", "patient_id", "kinds"), ORDER_CASES)
@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_orders_earn_the_promised_cards(client, services, fhir, hook, order, patient_id, kinds):
    service = services[hook]
    draft = load_order(order, patient_id=patient_id, today=TODAY)
    context = {
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        }
    }
    if hook == "order-select":
        context["selections"] = [f"{draft['resourceType']}/{draft['id']}"]
    prefetch = prefetch_for(fhir, service["prefetch"], patient_id)
    cards = call(client, service, patient_id, prefetch, **context)
    order_kinds = {text.kind for text in CARDS.values() if text.hook != "patient-view"}
    got = sorted(k for k in map(kind_of, cards) if k in order_kinds)
    assert got == sorted(kinds), [c["summary"] for c in cards]
    for card in cards:
        if kind_of(card) in order_kinds:
            assert draft["id"] in card.get("detail", "")  # each order card names its order

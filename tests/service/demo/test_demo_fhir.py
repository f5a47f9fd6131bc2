"""The demo FHIR endpoint answers the requests the CDS Hooks Sandbox and the service make."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.demo.fhir_server import FHIR_JSON, DemoFhirStore, demo_fhir_router
from service.demo.samples import list_samples

TODAY = date.today()
BASE = "http://testserver/fhir"
SANDBOX_READ = {"Accept": "application/json+fhir"}
LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    app.include_router(demo_fhir_router(DemoFhirStore.from_samples(today=TODAY)), prefix="/fhir")
    with TestClient(app) as test_client:
        yield test_client


def _ids(bundle):
    return [e["resource"]["id"] for e in bundle["entry"]]


def test_metadata_is_an_r4_capability_statement(client):
    r = client.get("/fhir/metadata", headers=SANDBOX_READ)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(FHIR_JSON)
    cap = r.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    served = {res["type"]: res for res in cap["rest"][0]["resource"]}
    assert set(served) == {
        "Patient",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "ServiceRequest",
    }
    assert {"name": "patient", "type": "reference"} in served["Condition"]["searchParam"]
    assert cap["implementation"]["url"] == BASE


def test_patient_list_holds_every_sample_in_order(client):
    r = client.get("/fhir/Patient")
    bundle = r.json()
    assert r.status_code == 200 and bundle["type"] == "searchset"
    assert _ids(bundle) == [s.id for s in list_samples()]
    assert bundle["total"] == len(list_samples())
    assert bundle["link"][0] == {"relation": "self", "url": f"{BASE}/Patient"}
    first = bundle["entry"][0]
    assert first["fullUrl"] == f"{BASE}/Patient/ms-acute-lbp"
    assert first["search"] == {"mode": "match"}


def test_patient_read_with_the_sandbox_accept_header(client):
    r = client.get("/fhir/Patient/ms-older-tca", headers=SANDBOX_READ)
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    patient = r.json()
    assert patient["resourceType"] == "Patient" and patient["id"] == "ms-older-tca"
    born = date.fromisoformat(patient["birthDate"])
    assert (TODAY - born).days // 365 == 74


@pytest.mark.parametrize(
    "path",
    ["/fhir/Patient/nobody", "/fhir/Practitioner/COREPRACTITIONER1", "/fhir/Encounter?patient=x"],
)
def test_unknown_ids_and_types_are_404_operation_outcomes(client, path):
    r = client.get(path, headers=SANDBOX_READ)
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["severity"] == "error"


def test_writes_are_refused(client):
    r = client.put("/fhir/Patient/ms-acute-lbp", json={"resourceType": "Patient"})
    assert r.status_code == 405 and r.json()["resourceType"] == "OperationOutcome"


def test_patient_search_by_id_and_name(client):
    assert _ids(client.get("/fhir/Patient?_id=ms-no-pain,ms-spasticity").json()) == [
        "ms-spasticity",
        "ms-no-pain",
    ]
    assert _ids(client.get("/fhir/Patient?name=dubois").json()) == ["ms-cauda-equina"]


@pytest.mark.parametrize("ref", ["ms-cauda-equina", "Patient/ms-cauda-equina"])
@pytest.mark.parametrize("param", ["patient", "subject"])
def test_condition_search_by_patient_via_get(client, param, ref):
    bundle = client.get(f"/fhir/Condition?{param}={quote(ref)}").json()
    assert bundle["total"] == 4
    assert all(
        e["resource"]["subject"]["reference"] == "Patient/ms-cauda-equina" for e in bundle["entry"]
    )
    assert "cond-ms-cauda-equina-cauda-equina" in _ids(bundle)


def test_condition_search_via_form_encoded_post_as_the_sandbox_does(client):
    r = client.post(
        "/fhir/Condition/_search",
        content="patient=ms-cauda-equina",
        headers={"Content-Type": "application/x-www-form-urlencoded", **SANDBOX_READ},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    assert r.json()["total"] == 4
    assert r.json()["link"][0]["url"] == f"{BASE}/Condition?patient=ms-cauda-equina"


def test_get_search_on_the_search_path(client):
    assert client.get("/fhir/Condition/_search?patient=ms-cauda-equina").json()["total"] == 4


def test_clinical_status_token_list(client):
    active = client.get("/fhir/Condition?patient=ms-no-pain&clinical-status=active,recurrence")
    assert _ids(active.json()) == ["cond-ms-no-pain-ms"]
    resolved = client.get(
        "/fhir/Condition?patient=ms-no-pain&clinical-status="
        + quote("http://terminology.hl7.org/CodeSystem/condition-clinical|resolved")
    )
    assert _ids(resolved.json()) == ["cond-ms-no-pain-old-lbp"]


def test_medication_status_token_list_as_in_the_prefetch(client):
    bundle = client.get("/fhir/MedicationRequest?patient=ms-opioid-benzo&status=active,on-hold")
    assert bundle.json()["total"] == 2
    none = client.get("/fhir/MedicationRequest?patient=ms-opioid-benzo&status=stopped")
    assert none.json()["total"] == 0 and none.json()["entry"] == []
    stmts = client.get("/fhir/MedicationStatement?patient=ms-interferon-injection&status=active")
    assert _ids(stmts.json()) == ["medst-ms-interferon-injection-ifnb"]


@pytest.mark.parametrize(
    "code", ["98979-8", f"{LOINC}|98979-8", f"{LOINC}|62238-1,{LOINC}|98979-8", f"{LOINC}|"]
)
def test_observation_code_with_or_without_system(client, code):
    bundle = client.get(f"/fhir/Observation?patient=ms-nsaid-unsafe&code={quote(code)}").json()
    assert sorted(_ids(bundle)) == ["obs-ms-nsaid-unsafe-egfr", "obs-ms-nsaid-unsafe-egfr-old"]


def test_observation_code_with_the_wrong_system_matches_nothing(client):
    bundle = client.get("/fhir/Observation?patient=ms-nsaid-unsafe&code=http://x.org|98979-8")
    assert bundle.json()["total"] == 0


def test_observation_sort_by_date_desc_and_count_one(client):
    bundle = client.get(
        "/fhir/Observation?patient=ms-nsaid-unsafe&code=98979-8&_sort=-date&_count=1"
    ).json()
    assert bundle["total"] == 2
    assert bundle["entry"][0]["resource"]["valueQuantity"]["value"] == 38
    assert [link["relation"] for link in bundle["link"]] == ["self", "next"]


def test_observation_date_filter(client):
    since = (TODAY - timedelta(days=365)).isoformat()
    bundle = client.get(f"/fhir/Observation?patient=ms-no-pain&date=ge{since}").json()
    assert bundle["total"] == 0  # its only pain score is two years old
    assert client.get("/fhir/Observation?patient=ms-no-pain&date=lt" + since).json()["total"] == 1


def test_unknown_parameters_and_sort_are_ignored(client):
    bundle = client.get("/fhir/Condition?patient=ms-mixed-pain&_sort=-recorded-date&foo=bar")
    assert bundle.status_code == 200 and bundle.json()["total"] == 4


def test_count_paging_follows_next_links_to_every_resource(client):
    url = "/fhir/Patient?_count=4"
    seen, pages = [], 0
    while url:
        bundle = client.get(url).json()
        pages += 1
        assert len(bundle["entry"]) <= 4 and bundle["total"] == len(list_samples())
        seen += _ids(bundle)
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = nxt[0].removeprefix("http://testserver") if nxt else None
    assert seen == [s.id for s in list_samples()]
    assert pages == -(-len(list_samples()) // 4)


def test_count_zero_gives_the_total_only(client):
    bundle = client.get("/fhir/Condition?patient=ms-mixed-pain&_count=0").json()
    assert bundle["total"] == 4 and bundle["entry"] == []


def test_service_request_search_is_supported_and_empty(client):
    bundle = client.get("/fhir/ServiceRequest?patient=ms-acute-lbp")
    assert bundle.status_code == 200 and bundle.json()["total"] == 0


def test_xml_only_is_not_acceptable(client):
    r = client.get("/fhir/Patient", headers={"Accept": "application/fhir+xml"})
    assert r.status_code == 406


def test_a_plain_mapping_of_resources_is_accepted():
    resources = {
        "p1": [
            {"resourceType": "Patient", "id": "p1"},
            {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}},
            {"resourceType": "Condition", "id": "c2"},  # no subject: filed under its patient
            {"resourceType": "Basic", "id": "b1"},  # unsupported: left out
            {"resourceType": "Condition"},  # no id: left out
        ]
    }
    app = FastAPI()
    app.include_router(demo_fhir_router(resources), prefix="/fhir")
    with TestClient(app) as c:
        assert _ids(c.get("/fhir/Condition?patient=p1").json()) == ["c1", "c2"]
        assert c.get("/fhir/Basic/b1").status_code == 404


def test_sandbox_url_points_at_the_demo_fhir_endpoint_and_discovery():
    from urllib.parse import parse_qs, urlsplit

    from service.demo.fhir_server import sandbox_url

    url = sandbox_url("http://127.0.0.1:8000/", "ms-acute-lbp")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://sandbox.cds-hooks.org"
    assert parse_qs(parts.query) == {
        "fhirServiceUrl": ["http://127.0.0.1:8000/fhir"],
        "patientId": ["ms-acute-lbp"],
        "serviceDiscoveryURL": ["http://127.0.0.1:8000/cds-services"],
    }
    assert "fhirServiceUrl=http%3A%2F%2F127.0.0.1%3A8000%2Ffhir" in url

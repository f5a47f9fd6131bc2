"""The demo FHIR store's search semantics, without HTTP (service/demo/fhir_server.py serves
them)."""

from __future__ import annotations

from service.demo.store import SUPPORTED_TYPES, DemoFhirStore, search_parameters

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def _condition(cid: str, patient: str, code: str, status: str, onset: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{patient}"},
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "onsetDateTime": onset,
    }


STORE = DemoFhirStore(
    {
        "a": [
            {"resourceType": "Patient", "id": "a", "name": [{"family": "Ames", "given": ["Jo"]}]},
            _condition("a-ms", "a", "24700007", "active", "2019-04-02"),
            _condition("a-lbp", "a", "279039007", "resolved", "2024-11-20"),
            {"resourceType": "Basic", "id": "not-served"},
        ],
        "b": [
            {"resourceType": "Patient", "id": "b", "name": [{"family": "Bell"}]},
            _condition("b-lbp", "b", "279039007", "active", "2025-01-05"),
        ],
    }
)


def _ids(found: list[dict]) -> list[str]:
    return [r["id"] for r in found]


def test_searches_stay_within_the_named_patient() -> None:
    assert _ids(STORE.search("Condition", [("patient", "a")])) == ["a-ms", "a-lbp"]
    assert _ids(STORE.search("Condition", [("subject", "Patient/b")])) == ["b-lbp"]
    assert _ids(STORE.search("Condition", [("patient", "a,b"), ("patient", "b")])) == ["b-lbp"]


def test_token_lists_or_and_repeated_parameters_and() -> None:
    params = [("patient", "a"), ("code", f"{SNOMED}|279039007,{SNOMED}|24700007")]
    assert _ids(STORE.search("Condition", params)) == ["a-ms", "a-lbp"]
    params.append(("clinical-status", "active"))
    assert _ids(STORE.search("Condition", params)) == ["a-ms"]
    assert STORE.search("Condition", [("code", f"{LOINC}|279039007")]) == []


def test_date_prefixes_and_sort_newest_first() -> None:
    found = STORE.search("Condition", [("onset-date", "ge2024-01-01"), ("_sort", "-onset-date")])
    assert _ids(found) == ["b-lbp", "a-lbp"]


def test_unknown_parameters_are_ignored_and_unserved_types_not_stored() -> None:
    assert _ids(STORE.search("Condition", [("patient", "a"), ("verification", "x")])) == [
        "a-ms",
        "a-lbp",
    ]
    assert "Basic" not in SUPPORTED_TYPES and STORE.read("Basic", "not-served") is None
    assert STORE.read("Condition", "a-ms")["code"]["coding"][0]["code"] == "24700007"


def test_patients_by_name_prefix_and_in_order() -> None:
    assert STORE.patient_ids == ["a", "b"]
    assert _ids(STORE.search("Patient", [("name", "am")])) == ["a"]
    assert _ids(STORE.search("Patient", [("given", "jo"), ("family", "bell")])) == []


def test_search_parameters_list_what_search_understands() -> None:
    listed = {p["name"]: p["type"] for p in search_parameters("Condition")}
    assert listed["patient"] == "reference" and listed["onset-date"] == "date"
    assert listed["clinical-status"] == "token" and listed["code"] == "token"
    assert {p["name"] for p in search_parameters("Patient")} >= {"_id", "name", "family"}

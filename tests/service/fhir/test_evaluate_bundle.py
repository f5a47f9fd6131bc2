"""`evaluate` with a Bundle: each resource under the prefetch key whose template would have
fetched it; what no template asks for is left out and named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.cli.evaluate import request_from_bundle
from service.cli.main import main
from service.demo.samples import list_samples, load_bundle
from service.discovery import EGFR_LOINC, LOINC, PAIN_SCORE_LOINC

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUBJECT = {"reference": "Patient/p1"}


def observation(oid: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": SUBJECT,
        "valueQuantity": {"value": 5},
    }


def request(rid: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": SUBJECT,
        **extra,
    }


CHART = [
    {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
    {"resourceType": "Condition", "id": "c1", "subject": SUBJECT},
    {"resourceType": "Condition", "id": "c2", "subject": {"reference": "urn:uuid:1234"}},
    observation("egfr-1", EGFR_LOINC[0]),
    observation("egfr-2", EGFR_LOINC[-1]),
    observation("pain-1", PAIN_SCORE_LOINC[0]),
    observation("bp-1", "85354-9"),  # blood pressure: no template asks for it
    request("mr-active", "active", medicationReference={"reference": "Medication/med-1"}),
    request("mr-on-hold", "on-hold", medicationCodeableConcept={"coding": [{"code": "1"}]}),
    request("mr-stopped", "stopped"),
    {"resourceType": "Medication", "id": "med-1", "code": {"coding": [{"system": RXNORM}]}},
    {"resourceType": "MedicationStatement", "id": "ms-1", "status": "active", "subject": SUBJECT},
    {"resourceType": "Procedure", "id": "proc-1", "status": "completed", "subject": SUBJECT},
    {"resourceType": "Condition", "id": "c-other", "subject": {"reference": "Patient/p2"}},
]


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def ids_by_key(prefetch: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in prefetch.items():
        if value is None or value["resourceType"] != "Bundle":
            out[key] = [value["id"]] if value else []
        else:
            out[key] = [e["resource"]["id"] for e in value["entry"]]
    return out


def test_each_resource_goes_where_its_template_would_fetch_it() -> None:
    filed = request_from_bundle(bundle(*CHART), "patient-view")
    assert filed["context"]["patientId"] == "p1"
    assert ids_by_key(filed["prefetch"]) == {
        "patient": ["p1"],
        "conditions": ["c1", "c2"],  # a subject the Bundle names otherwise is still this patient
        "medicationRequests": ["mr-active", "mr-on-hold", "med-1"],  # the Medication rides along
        "medicationStatements": ["ms-1"],
        "egfr": ["egfr-1", "egfr-2"],
        "painScores": ["pain-1"],
    }


def test_what_no_template_asks_for_is_left_out_and_named(capsys, tmp_path: Path) -> None:
    path = tmp_path / "chart.json"
    path.write_text(json.dumps(bundle(*CHART)))
    assert main(["evaluate", str(path), "--json"]) == 0
    err = capsys.readouterr().err
    left = "left out: 1 Condition, 1 MedicationRequest, 1 Observation, 1 Procedure"
    assert left in err


def test_a_bundle_of_only_what_the_templates_ask_for_leaves_nothing_out(capsys, tmp_path) -> None:
    path = tmp_path / "chart.json"
    path.write_text(json.dumps(bundle(*CHART[:6])))
    assert main(["evaluate", str(path), "--json"]) == 0
    assert "left out" not in capsys.readouterr().err


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.id)
def test_sample_observations_are_filed_by_their_loinc_code(sample: Any) -> None:
    resources = [e["resource"] for e in load_bundle(sample)["entry"]]
    filed = ids_by_key(request_from_bundle(load_bundle(sample), "patient-view")["prefetch"])
    for resource in resources:
        if resource["resourceType"] != "Observation":
            continue
        codes = {c["code"] for c in resource["code"]["coding"] if c.get("system") == LOINC}
        expected = "egfr" if codes & set(EGFR_LOINC) else "painScores"
        assert codes & set(EGFR_LOINC + PAIN_SCORE_LOINC), resource["id"]
        assert resource["id"] in filed[expected]
        other = "painScores" if expected == "egfr" else "egfr"
        assert resource["id"] not in filed[other]

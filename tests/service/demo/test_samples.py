"""Sample patients and orders: valid FHIR R4, stable ids, relative dates that follow today."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.demo import samples

TODAY = date(2026, 3, 15)
CARD_KINDS = {
    "red-flag",
    "red-flag-risk",
    "pain-not-assessed",
    "first-line",
    "spasticity",
    "neuropathic",
    "chronic-care",
    "refractory-spasticity",
    "refractory-neuropathic",
    "opioid-active",
    "dmt-injection-pain",
}
ORDER_CARD_KINDS = {
    "imaging-not-indicated",
    "bed-rest",
    "opioid-order",
    "nsaid-risk",
    "tizanidine-interaction",
    "drug-caution",
}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ALL_SAMPLES = [info.id for info in samples.list_samples()]
ALL_ORDERS = [info.name for info in samples.list_orders()]


def _walk_strings(data):
    if isinstance(data, dict):
        for value in data.values():
            yield from _walk_strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk_strings(value)
    elif isinstance(data, str):
        yield data


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_at_least_twelve_samples_with_known_card_kinds():
    infos = samples.list_samples()
    assert len(infos) >= 12
    assert len({i.id for i in infos}) == len(infos)
    for info in infos:
        assert info.description and len(info.description) < 300
        assert set(info.cards) <= CARD_KINDS, info.id
    # every patient-view card kind is demonstrated by at least one sample
    assert set().union(*(set(i.cards) for i in infos)) == CARD_KINDS


@pytest.mark.parametrize("sample_id", ALL_SAMPLES)
def test_bundle_is_a_valid_r4_transaction_with_stable_put_ids(sample_id):
    bundle = samples.load_bundle(sample_id, today=TODAY)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    get_fhir_model_class("Bundle").model_validate(bundle)
    patients = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        rtype, rid = resource["resourceType"], resource["id"]
        assert FHIR_ID.match(rid), rid
        assert entry["request"] == {"method": "PUT", "url": f"{rtype}/{rid}"}
        get_fhir_model_class(rtype).model_validate(resource)
        if rtype == "Patient":
            patients.append(resource)
        else:
            assert resource["subject"] == {"reference": f"Patient/{sample_id}"}
    assert [p["id"] for p in patients] == [sample_id]
    assert not [s for s in _walk_strings(bundle) if "{{" in s], "unresolved token"


def test_resource_ids_are_unique_across_samples():
    seen: dict[str, str] = {}
    for sample_id in ALL_SAMPLES:
        for resource in samples.sample_resources(sample_id, today=TODAY):
            key = f"{resource['resourceType']}/{resource['id']}"
            assert key not in seen, f"{key} in {sample_id} and {seen.get(key)}"
            seen[key] = sample_id


def test_samples_are_coded_like_an_ehr():
    """G35.x and bare G35 both appear, RxNorm codes carry displays, eGFR is LOINC 98979-8."""
    ms_codes, rx_codings, egfr = set(), [], []
    for sample_id in ALL_SAMPLES:
        for r in samples.sample_resources(sample_id, today=TODAY):
            codings = (r.get("code") or r.get("medicationCodeableConcept") or {}).get("coding", [])
            for c in codings:
                if c["code"].startswith("G35"):
                    ms_codes.add(c["code"])
                if c["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm":
                    rx_codings.append(c)
                if c["code"] == "98979-8":
                    egfr.append(r)
            if r["resourceType"] == "Condition":
                assert r["clinicalStatus"]["coding"][0]["system"] == (
                    "http://terminology.hl7.org/CodeSystem/condition-clinical"
                )
                assert r["category"][0]["coding"][0]["system"] == (
                    "http://terminology.hl7.org/CodeSystem/condition-category"
                )
    assert "G35" in ms_codes and {"G35.A", "G35.B1", "G35.C1"} <= ms_codes
    assert rx_codings and all(c.get("display") for c in rx_codings)
    assert egfr and all(o["valueQuantity"]["value"] > 0 for o in egfr)


def test_relative_dates_shift_with_today():
    lbp = next(
        r
        for r in samples.sample_resources("ms-acute-lbp", today=TODAY)
        if r["id"] == "cond-ms-acute-lbp-lbp"
    )
    assert lbp["onsetDateTime"] == (TODAY - timedelta(days=10)).isoformat()
    later = TODAY + timedelta(days=400)
    lbp_later = next(
        r
        for r in samples.sample_resources("ms-acute-lbp", today=later)
        if r["id"] == "cond-ms-acute-lbp-lbp"
    )
    assert lbp_later["onsetDateTime"] == (later - timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("sample_id", "age"), [("ms-acute-lbp", 38), ("ms-older-tca", 74), ("ms-no-pain", 29)]
)
@pytest.mark.parametrize("today", [TODAY, date(2024, 2, 29), date(2031, 12, 31)])
def test_birth_date_gives_the_intended_age(sample_id, age, today):
    patient = samples.sample_resources(sample_id, today=today)[0]
    assert _age(date.fromisoformat(patient["birthDate"]), today) == age


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("{{today}}", "2026-03-15"),
        ("{{today-10d}}", "2026-03-05"),
        ("{{today+2w}}", "2026-03-29"),
        ("{{today-1m}}", "2026-02-15"),
        ("{{today-38y-140d}}", "1987-10-27"),
        ("{{today-10x}}", "{{today-10x}}"),  # not a token: left alone
        ("see {{today}}", "see {{today}}"),  # only whole-string tokens
    ],
)
def test_date_token_grammar(token, expected):
    assert samples.shift_dates({"a": [token]}, TODAY) == {"a": [expected]}


def test_month_offsets_clamp_to_month_end():
    assert samples.shift_dates("{{today-1m}}", date(2026, 3, 31)) == "2026-02-28"
    assert samples.shift_dates("{{today-1y}}", date(2024, 2, 29)) == "2023-02-28"


def test_loading_does_not_mutate_the_cached_data():
    first = samples.load_bundle("ms-acute-lbp", today=TODAY)
    first["entry"].clear()
    assert samples.load_bundle("ms-acute-lbp", today=TODAY)["entry"]


def test_find_sample_by_id_name_and_path(tmp_path):
    assert samples.find_sample("ms-cauda-equina").id == "ms-cauda-equina"
    assert samples.find_sample("claire DUBOIS").id == "ms-cauda-equina"
    bundle = samples.load_bundle("ms-spasticity", today=TODAY)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(bundle))
    info = samples.find_sample(str(path))
    assert info.id == "ms-spasticity" and info.cards == ()
    assert len(samples.sample_resources(path, today=TODAY)) == len(bundle["entry"])
    with pytest.raises(samples.SampleNotFound, match="ms-acute-lbp"):
        samples.find_sample("nobody")
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundle", "entry": []}')
    with pytest.raises(samples.SampleNotFound, match="one Patient"):
        samples.find_sample(bad)


def test_resources_by_patient_indexes_every_sample():
    by_patient = samples.resources_by_patient(today=TODAY)
    assert list(by_patient) == ALL_SAMPLES
    assert all(rs[0]["resourceType"] == "Patient" for rs in by_patient.values())


@pytest.mark.parametrize("name", ALL_ORDERS)
def test_orders_are_valid_drafts_for_their_patients(name):
    info = samples.find_order(name)
    assert info.expected and set(info.expected) <= set(ALL_SAMPLES)
    for kinds in info.expected.values():
        assert set(kinds) <= ORDER_CARD_KINDS
    order = samples.load_order(name, today=TODAY)
    assert order["resourceType"] in ("MedicationRequest", "ServiceRequest")
    assert order["resourceType"] == info.resource_type
    assert order["status"] == "draft" and order["authoredOn"] == TODAY.isoformat()
    assert order["subject"] == {"reference": f"Patient/{info.example_patient}"}
    get_fhir_model_class(order["resourceType"]).model_validate(order)
    other = samples.load_order(name, patient_id="p1", today=TODAY)
    assert other["subject"] == {"reference": "Patient/p1"}


def test_orders_demonstrate_every_order_card_kind():
    kinds = {k for info in samples.list_orders() for ks in info.expected.values() for k in ks}
    assert kinds == ORDER_CARD_KINDS
    lumbar = samples.load_order("lumbar-mri", today=TODAY)
    assert lumbar["code"]["coding"][0] == {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "72148",
        "display": "Mri lumbar spine w/o dye",
    }
    assert "coding" not in samples.load_order("bed-rest", today=TODAY)["code"]

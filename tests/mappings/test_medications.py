"""Medication recognition: RxNorm term types, names, combinations, references, local forms."""

from __future__ import annotations

from typing import Any

import pytest

from mappings import PainProfile, classify

from .builders import RXNORM, TODAY, cc, coding, med_request, rx


def run(*resources: Any) -> PainProfile:
    return classify(list(resources), today=TODAY)


@pytest.mark.parametrize(
    ("code", "tty", "ingredient"),
    [
        ("57258", "IN", "tizanidine"),
        ("1292", "IN", "baclofen"),
        ("3105", "IN", "dantrolene"),
        ("82110", "PIN", "tramadol"),  # tramadol hydrochloride
        ("3106", "PIN", "dantrolene"),  # dantrolene sodium
        ("860189", "PIN", "onabotulinumtoxina"),
        ("313413", "SCD", "tizanidine"),
        ("197391", "SCD", "baclofen"),
        ("856656", "SCD", "dantrolene"),
        ("310431", "SCD", "gabapentin"),
        ("856783", "SCD", "amitriptyline"),
        ("596930", "SCD", "duloxetine"),
        ("153735", "SBD", "tizanidine"),  # [Zanaflex]
        ("105029", "SBD", "gabapentin"),  # [Neurontin]
        ("105899", "SBD", "naproxen"),  # [Naprosyn]
        ("153736", "BN", "tizanidine"),  # Zanaflex
        ("900865", "GPCK", "lamotrigine"),
        ("2118829", "BPCK", "dexamethasone"),
        ("214582", "IN", "glatiramer"),
        ("1712", "IN", "botulinum toxin type a"),
    ],
)
def test_rxnorm_codes(code: str, tty: str, ingredient: str) -> None:
    profile = run(med_request(rx(code)))
    assert len(profile.meds) == 1, (code, tty)
    med = profile.meds[0]
    assert [i.lower() for i in med.ingredients] == [ingredient]
    assert med.evidence.system == RXNORM and med.evidence.code == code
    assert med.status == "active"


@pytest.mark.parametrize(
    ("code", "ingredients", "classes"),
    [
        ("1049221", {"acetaminophen", "oxycodone"}, {"acetaminophen", "opioid"}),  # Percocet SCD
        ("836397", {"acetaminophen", "tramadol"}, {"acetaminophen", "opioid", "serotonergic"}),
        ("1044427", {"acetaminophen", "hydrocodone"}, {"acetaminophen", "opioid"}),
    ],
)
def test_combination_products_count_for_each_ingredient(
    code: str, ingredients: set[str], classes: set[str]
) -> None:
    med = run(med_request(rx(code))).meds[0]
    assert set(med.ingredients) == ingredients
    assert classes <= med.classes


@pytest.mark.parametrize(
    ("medication", "ingredient"),
    [
        (cc(text="Tizanidine 4mg tablet"), "tizanidine"),
        (cc(text="ZANAFLEX 4 mg"), "tizanidine"),
        (cc(text="Lyrica 75mg"), "pregabalin"),
        (cc(text="Paracetamol 500 mg"), "acetaminophen"),
        (cc(text="Tylenol extra strength"), "acetaminophen"),
        (cc(text="amitriptyline 10mg nocte"), "amitriptyline"),
        (cc(coding(RXNORM, "999999999", "baclofen 10 MG Oral Tablet")), "baclofen"),  # unknown code
        (
            cc(coding("http://hl7.org/fhir/sid/ndc", "0000-1111", "Gabapentin 300mg cap")),
            "gabapentin",
        ),
        (cc({}, text="Cymbalta 60"), "duloxetine"),
    ],
)
def test_name_fallback(medication: dict[str, Any], ingredient: str) -> None:
    profile = run(med_request(medication))
    assert profile.takes(ingredient), medication
    assert profile.meds[0].evidence.system == "text"


@pytest.mark.parametrize(
    "text",
    ["Tizanidinexx", "baclofenic acid", "Somatostatin", "no medication", "tiza nidine"],
)
def test_name_fallback_needs_whole_words(text: str) -> None:
    medication = cc(text=text)
    assert not run(med_request(medication)).meds


def test_name_fallback_finds_every_ingredient() -> None:
    med = run(med_request(cc(text="Tylenol with codeine #3"))).meds[0]
    assert set(med.ingredients) == {"acetaminophen", "codeine"}


def test_code_wins_over_text() -> None:
    medication = cc(coding(RXNORM, "313413", "tizanidine 4 MG Oral Tablet"), text="baclofen")
    med = run(med_request(medication)).meds[0]
    assert med.ingredients == ("tizanidine",)


def test_unrecognised_medication_is_not_in_the_profile() -> None:
    metformin = cc(coding(RXNORM, "861007", "Metformin hydrochloride 500 MG Oral Tablet"))
    assert run(med_request(metformin)).meds == ()


def test_contained_medication_reference() -> None:
    request = med_request(
        None,
        medicationReference={"reference": "#med1"},
        contained=[
            {"resourceType": "Medication", "id": "med1", "code": rx("197391", "baclofen 10 MG")}
        ],
    )
    assert run(request).takes("baclofen")


def test_prefetched_medication_reference() -> None:
    medication = {"resourceType": "Medication", "id": "abc", "code": rx("310431")}
    request = med_request(None, medicationReference={"reference": "Medication/abc"})
    assert run(medication, request).takes("gabapentin")
    absolute = med_request(
        None, id="m2", medicationReference={"reference": "https://ehr.example/fhir/Medication/abc"}
    )
    assert run(absolute, medication).takes("gabapentin")


def test_medication_reference_by_ingredient_and_display() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "combo",
        "ingredient": [{"itemCodeableConcept": rx("7804")}, {"itemCodeableConcept": rx("161")}],
    }
    request = med_request(None, medicationReference={"reference": "Medication/combo"})
    assert set(run(medication, request).meds[0].ingredients) == {"oxycodone", "acetaminophen"}
    by_display = med_request(
        None, medicationReference={"reference": "Medication/x", "display": "Keppra"}
    )
    assert run(by_display).takes("levetiracetam")


def test_unresolvable_reference_is_ignored() -> None:
    for ref in ("#missing", "Medication/missing", "", None, 42, "Patient/1"):
        assert run(med_request(None, medicationReference={"reference": ref})).meds == ()


def test_systemic_steroid_vs_local_form() -> None:
    oral = run(med_request(cc(text="prednisone 5 mg oral tablet"))).meds[0]
    assert "systemic_corticosteroid" in oral.classes and oral.route == "systemic"
    cream = run(med_request(cc(text="hydrocortisone 1% topical cream")))
    assert cream.meds == () and [m.route for m in cream.by_route("local")] == ["local"]
    coded_cream = run(med_request(rx("998422")))
    assert coded_cream.meds == ()
    (local,) = coded_cream.by_route("local")
    assert set(local.ingredients) == {"acyclovir", "hydrocortisone"}
    assert local.dose_form == "Topical Cream"


def test_medication_evidence_has_date_and_display() -> None:
    request = med_request(rx("313413", "tizanidine 4 MG Oral Tablet"), authoredOn="2025-02-03")
    med = run(request).meds[0]
    assert med.display == "tizanidine 4 MG Oral Tablet"
    assert med.evidence.date is not None and med.evidence.date.isoformat() == "2025-02-03"
    assert med.evidence.resource == "MedicationRequest/m1"

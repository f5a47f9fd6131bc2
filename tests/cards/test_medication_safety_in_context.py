"""Medication safety read in context, from FHIR charts built here (issue: medication safety).

Each test builds the patient as an EHR would send it and runs the real classifier and rules, so
it checks the clinical fact (route, dose, direction, kidney, pregnancy, age), not a hand-made
profile. Assertions are on card kinds, indicators, proposed drugs and the facts quoted.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cards import cards_for
from mappings import classify, classify_orders
from tests.cards.builders import by_kind, check
from tests.mappings.builders import (
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    cc,
    coding,
    condition,
    days_ago,
    med_request,
    observation,
    rx,
)

TODAY = date.today()
PID = "p1"
CLINICIAN = "Practitioner/doc"
IBUPROFEN, ACETAMINOPHEN, BACLOFEN, TIZANIDINE = "197805", "198440", "430902", "313412"
GABAPENTIN, GABAPENTIN_RENAL, AMITRIPTYLINE = "310431", "310430", "856783"


def patient(age: int = 45, **extra: Any) -> dict[str, Any]:
    born = TODAY.replace(year=TODAY.year - age) - timedelta(days=10)
    return {"resourceType": "Patient", "id": PID, "birthDate": born.isoformat(), **extra}


def ms() -> dict[str, Any]:
    return condition(cc(coding(SNOMED, "426373005", "Relapsing remitting MS")), id="ms")


def back_pain(days: int = 10) -> dict[str, Any]:
    return condition(
        cc(coding(SNOMED, "279039007", "Low back pain")), id="lbp", onset=days_ago(days)
    )


def spasticity() -> dict[str, Any]:
    return condition(cc(coding(SNOMED, "221360009", "Spasticity")), id="spast")


def icd(code: str, display: str, id: str, **extra: Any) -> dict[str, Any]:
    return condition(cc(coding(ICD10CM, code, display)), id=id, **extra)


def snomed(code: str, display: str, id: str, **extra: Any) -> dict[str, Any]:
    return condition(cc(coding(SNOMED, code, display)), id=id, **extra)


def drug(code: str, display: str, id: str, **extra: Any) -> dict[str, Any]:
    return med_request(rx(code, display), id=id, **extra)


def egfr(value: float, code: str = "98979-8", id: str = "egfr", days: int = 20, **extra: Any):
    return observation(
        cc(coding(LOINC, code)),
        id=id,
        when=days_ago(days),
        valueQuantity={"value": value, "unit": "mL/min/{1.73_m2}"},
        **extra,
    )


def sig(dose: float, unit: str, per_day: int, text: str | None = None) -> list[dict[str, Any]]:
    out: dict[str, Any] = {
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}],
    }
    if text:
        out["text"] = text
    return [out]


def draft(code: str, display: str, id: str = "d1", **extra: Any) -> dict[str, Any]:
    return med_request(rx(code, display), id=id, status="draft", intent="order", **extra)


def evaluate(
    *resources: dict[str, Any], hook: str = "patient-view", orders: tuple = (), age: int = 45
):
    chart = [patient(age), ms(), *resources]
    profile = classify(chart, today=TODAY, patient_id=PID)
    drafts = classify_orders(list(orders), selections=None, resources=chart)
    found = cards_for(hook, profile, patient_id=PID, user_id=CLINICIAN, orders=drafts, today=TODAY)
    return by_kind(check(found))


def order(*resources: dict[str, Any], orders: tuple, age: int = 45):
    return evaluate(*resources, hook="order-select", orders=orders, age=age)


def proposed(card) -> list[str]:
    return [
        c["code"]
        for s in card.suggestions
        for a in s.actions
        if a.type == "create" and a.resource and a.resource["resourceType"] == "MedicationRequest"
        for c in a.resource["medicationCodeableConcept"]["coding"]
    ]


# ---- route: local products are not systemic ----


@pytest.mark.parametrize(
    "inhibitor",
    [
        drug("848956", "ciprofloxacin 2 MG/ML Otic Solution", "cipro-ear"),
        drug("309307", "ciprofloxacin 3 MG/ML Ophthalmic Solution", "cipro-eye"),
        drug("203565", "Ciloxan", "ciloxan"),
        med_request(cc(text="Ciprodex otic suspension, 4 drops twice a day"), id="ciprodex"),
        med_request(
            cc(text="ciprofloxacin"),
            id="coded-route",
            dosageInstruction=[{"route": cc(coding(SNOMED, "10547007", "Otic route"))}],
        ),
    ],
)
def test_local_ciprofloxacin_is_no_tizanidine_interaction(inhibitor):
    cards = order(
        back_pain(),
        spasticity(),
        inhibitor,
        orders=(draft("313413", "tizanidine 4 MG Oral Tablet"),),
    )
    assert "tizanidine-interaction" not in cards
    assert all(c.indicator != "critical" for c in cards.values())


def test_oral_ciprofloxacin_with_a_tizanidine_order_is_critical():
    cipro = drug("309309", "ciprofloxacin 500 MG Oral Tablet", "cipro")
    cards = order(cipro, orders=(draft("313413", "tizanidine 4 MG Oral Tablet"),))
    assert cards["tizanidine-interaction"].indicator == "critical"


def test_topical_nsaid_at_70_is_not_an_nsaid_risk():
    flector = draft("855628", "diclofenac epolamine 0.013 MG/MG Medicated Patch [Flector]")
    assert "nsaid-risk" not in order(back_pain(), orders=(flector,), age=70)
    gel = med_request(cc(text="Voltaren arthritis pain gel 1% topical"), id="gel")
    view = evaluate(back_pain(), gel, age=40)
    assert IBUPROFEN in proposed(view["first-line"])  # a gel is not "already on an NSAID"


def test_topical_doxepin_is_not_a_tca():
    cream = drug("1000091", "doxepin hydrochloride 50 MG/ML Topical Cream", "doxepin")
    dysesthesia = snomed("247348008", "Tenderness", "x")  # unrelated finding
    neuro = condition(cc(text="Burning dysesthesia, neuropathic pain"), id="np")
    view = evaluate(back_pain(), neuro, cream, dysesthesia)
    assert AMITRIPTYLINE in proposed(view["neuropathic"])
    tramadol = draft("835603", "tramadol hydrochloride 50 MG Oral Tablet")
    assert "doxepin" not in order(cream, orders=(tramadol,))["opioid-order"].detail.lower()


def test_intrathecal_baclofen_gets_no_oral_titration_or_itb_advice():
    pump = drug("1047444", "20 ML baclofen 0.5 MG/ML Injection [Gablofen]", "itb")
    view = evaluate(back_pain(days=90), spasticity(), pump)
    card = view["spasticity"]
    assert "intrathecal" in card.summary.lower()
    assert "80 mg" not in card.detail and "titrate to the maximum" not in card.detail
    assert proposed(card) == []
    assert "refractory-spasticity" not in view
    by_text = med_request(cc(text="Baclofen intrathecal pump 300 mcg/day"), id="itb2")
    assert proposed(evaluate(back_pain(), spasticity(), by_text)["spasticity"]) == []


# ---- indication: an anticonvulsant for epilepsy is not neuropathic pain ----


def test_carbamazepine_for_epilepsy_and_a_zero_pain_score_earn_no_neuropathic_card():
    epilepsy = snomed("84757009", "Epilepsy", "epi")
    cbz = drug("308979", "carbamazepine 200 MG Oral Tablet", "cbz")
    score = observation(cc(coding(LOINC, "72514-3")), id="pain", when=days_ago(5), valueInteger=0)
    view = evaluate(epilepsy, cbz, score)
    assert "neuropathic" not in view
    assert "pain-not-assessed" not in view  # a 0/10 score is an assessment
    with_pain = evaluate(back_pain(), epilepsy, cbz)
    assert "neuropathic" not in with_pain


def test_anticonvulsant_given_for_neuropathic_pain_still_counts():
    reason = cc(coding(SNOMED, "247398009", "Neuropathic pain"))
    cbz = drug("308979", "carbamazepine 200 MG Oral Tablet", "cbz", reasonCode=[reason])
    epilepsy = snomed("84757009", "Epilepsy", "epi")
    assert "neuropathic" in evaluate(back_pain(), epilepsy, cbz)


# ---- kidney state recorded as a diagnosis ----


@pytest.mark.parametrize(
    "kidney",
    [
        snomed("431857002", "Chronic kidney disease stage 4", "ckd"),
        snomed("433146000", "Chronic kidney disease stage 5", "ckd"),
        snomed("46177005", "End-stage renal disease", "ckd"),
        icd("N18.4", "Chronic kidney disease, stage 4 (severe)", "ckd"),
        icd("N18.6", "End stage renal disease", "ckd"),
        icd("Z99.2", "Dependence on renal dialysis", "ckd"),
    ],
)
def test_ckd_or_dialysis_without_egfr_blocks_nsaids(kidney):
    view = evaluate(back_pain(), kidney)
    card = view["first-line"]
    assert IBUPROFEN not in proposed(card) and ACETAMINOPHEN in proposed(card)
    assert "no renal" not in card.detail.lower()
    assert "nsaid-risk" in order(kidney, orders=(draft(IBUPROFEN, "ibuprofen 400 MG Oral Tablet"),))


def test_dialysis_holds_over_a_normal_looking_egfr():
    view = evaluate(back_pain(), icd("Z99.2", "Dependence on renal dialysis", "d"), egfr(75))
    assert IBUPROFEN not in proposed(view["first-line"])


def test_no_recent_egfr_is_said_not_hidden():
    card = evaluate(back_pain())["first-line"]
    assert IBUPROFEN in proposed(card)
    assert "no egfr in the last 12 months" in card.detail.lower()
    assert "no renal" not in card.detail.lower()


# ---- pregnancy and lactation ----


def test_pregnancy_at_32_weeks_no_nsaid_and_an_nsaid_order_is_critical():
    weeks = icd("Z3A.32", "32 weeks gestation of pregnancy", "ga", recordedDate=days_ago(3))
    view = evaluate(back_pain(), weeks)
    assert proposed(view["first-line"]) == [ACETAMINOPHEN]
    card = order(weeks, orders=(draft(IBUPROFEN, "ibuprofen 400 MG Oral Tablet"),))["nsaid-risk"]
    assert card.indicator == "critical" and "32 weeks" in card.detail


def test_pregnancy_weeks_unknown_still_leaves_nsaids_out():
    pregnant = snomed("77386006", "Pregnancy", "preg", onset=days_ago(60))
    assert IBUPROFEN not in proposed(evaluate(back_pain(), pregnant)["first-line"])
    card = order(pregnant, orders=(draft(IBUPROFEN, "ibuprofen 400 MG Oral Tablet"),))["nsaid-risk"]
    assert card.indicator == "warning" and "weeks not recorded" in card.detail


def test_an_old_pregnancy_does_not_count():
    old = snomed("77386006", "Pregnancy", "preg", onset=days_ago(700))
    assert IBUPROFEN in proposed(evaluate(back_pain(), old)["first-line"])


def test_codeine_while_breastfeeding():
    lactating = snomed("169750002", "Mother currently breast-feeding", "bf", onset=days_ago(30))
    codeine = draft("997287", "codeine sulfate 30 MG Oral Tablet")
    card = order(lactating, orders=(codeine,))["opioid-order"]
    assert "breastfeeding" in card.detail


# ---- dose ceilings and cumulative acetaminophen ----


@pytest.mark.parametrize(
    ("dosage", "total"),
    [
        (sig(16, "mg", 3), "48"),
        (sig(40, "mg", 1), "40"),
        ([{"text": "4 tablets three times a day"}], "48"),
    ],
)
def test_tizanidine_above_36_mg_a_day(dosage, total):
    tz = draft("313413", "tizanidine 4 MG Oral Tablet", dosageInstruction=dosage)
    card = order(orders=(tz,))["dose-above-maximum"]
    assert f"{total} mg tizanidine" in card.summary and "36 mg" in card.summary


def test_acetaminophen_6_g_and_baclofen_90_mg():
    apap = med_request(
        cc(text="acetaminophen 500 MG Oral Tablet"),
        id="apap",
        status="draft",
        dosageInstruction=[{"text": "1000 mg every 4 hours"}],
    )
    assert "6,000 mg acetaminophen" in order(orders=(apap,))["dose-above-maximum"].summary
    bac = draft("197391", "baclofen 10 MG Oral Tablet", dosageInstruction=sig(30, "mg", 3))
    assert "90 mg baclofen" in order(orders=(bac,))["dose-above-maximum"].summary
    ok = draft("197391", "baclofen 10 MG Oral Tablet", dosageInstruction=sig(20, "mg", 3))
    assert "dose-above-maximum" not in order(orders=(ok,))


def test_acetaminophen_order_on_top_of_hydrocodone_acetaminophen():
    norco = drug("857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet", "n")
    apap = med_request(cc(text="acetaminophen 500 MG Oral Tablet"), id="apap", status="draft")
    cards = order(norco, orders=(apap,))
    assert "hydrocodone" in cards["drug-caution"].detail and "4,000" in cards["drug-caution"].detail
    # with both doses known, the total is added up
    norco_dosed = drug(
        "857002",
        "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet",
        "n",
        dosageInstruction=sig(2, "tablet", 6),
    )
    dosed = med_request(
        cc(text="acetaminophen 500 MG Oral Tablet"),
        id="apap",
        status="draft",
        dosageInstruction=sig(1000, "mg", 3),
    )
    card = order(norco_dosed, orders=(dosed,))["dose-above-maximum"]
    assert "6,900 mg acetaminophen" in card.summary


# ---- interactions, whichever drug is ordered ----


OXYCODONE = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")


@pytest.mark.parametrize(
    "ordered",
    [
        ("197901", "lorazepam 1 MG Oral Tablet"),
        ("197391", "baclofen 10 MG Oral Tablet"),
        (GABAPENTIN, "gabapentin 300 MG Oral Capsule"),
    ],
)
def test_cns_depressant_ordered_for_a_patient_on_an_opioid(ordered):
    cards = order(drug(*OXYCODONE, "oxy"), orders=(draft(*ordered),))
    assert "oxycodone" in cards["drug-caution"].detail


def test_serotonergic_pairs_both_ways():
    tramadol = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
    duloxetine = ("596934", "duloxetine 60 MG Delayed Release Oral Capsule")
    cards = order(drug(*tramadol, "t"), orders=(draft(*duloxetine),))
    assert "tramadol" in cards["drug-caution"].detail
    cards = order(drug(*duloxetine, "d"), orders=(draft(*tramadol),))
    assert "duloxetine" in cards["opioid-order"].detail


def test_maoi_with_a_serotonergic_drug_is_critical_either_way():
    phenelzine = med_request(cc(coding(RXNORM, "8123", "phenelzine")), id="maoi")
    sertraline = ("312941", "sertraline 50 MG Oral Tablet")
    assert order(phenelzine, orders=(draft(*sertraline),))["drug-interaction"].indicator == (
        "critical"
    )
    maoi_order = med_request(
        cc(coding(RXNORM, "8123", "phenelzine")), id="d1", status="draft", intent="order"
    )
    assert "drug-interaction" in order(drug(*sertraline, "s"), orders=(maoi_order,))


@pytest.mark.parametrize(
    "inhibitor",
    [
        drug("833528", "amiodarone hydrochloride 200 MG Oral Tablet", "amio"),
        drug("310273", "famotidine 20 MG Oral Tablet", "famo"),
        med_request(cc(text="verapamil 120 mg tablet"), id="vera"),
        med_request(cc(text="levofloxacin 500 mg tablet"), id="levo"),
        med_request(cc(text="acyclovir 400 mg tablet"), id="acy"),
        med_request(cc(text="ethinyl estradiol / levonorgestrel oral tablet"), id="oc"),
    ],
)
def test_other_cyp1a2_inhibitors_keep_tizanidine_out(inhibitor):
    view = evaluate(back_pain(), spasticity(), inhibitor)
    assert TIZANIDINE not in proposed(view["spasticity"])
    cards = order(inhibitor, orders=(draft("313413", "tizanidine 4 MG Oral Tablet"),))
    assert cards["drug-caution"].indicator == "warning"


def test_tizanidine_kidney_and_blood_pressure_cautions():
    lisinopril = drug("314076", "lisinopril 10 MG Oral Tablet", "acei")
    card = order(lisinopril, egfr(20), orders=(draft("313413", "tizanidine 4 MG Oral Tablet"),))[
        "drug-caution"
    ]
    assert "lisinopril" in card.detail and "hypotension" in card.detail
    assert "reduce individual doses" in card.detail


# ---- renal doses and age ----


def test_gabapentin_renal_band_is_quoted_and_checked():
    neuro = condition(cc(text="neuropathic pain"), id="np")
    card = evaluate(back_pain(), neuro, egfr(40))["neuropathic"]
    assert GABAPENTIN_RENAL in proposed(card) and "1,400" in card.detail
    gaba = draft(GABAPENTIN, "gabapentin 300 MG Oral Capsule", dosageInstruction=sig(600, "mg", 3))
    card = order(egfr(40), orders=(gaba,))["dose-above-maximum"]
    assert "1,800 mg gabapentin" in card.summary and "1,400" in card.summary


def test_baclofen_not_suggested_at_70_with_egfr_50():
    view = evaluate(back_pain(), spasticity(), egfr(50), age=70)
    assert BACLOFEN not in proposed(view["spasticity"])
    assert "Beers" in view["spasticity"].detail or "65 or older" in view["spasticity"].detail


@pytest.mark.parametrize(
    "risk",
    [
        snomed("6072007", "Bleeding from anus", "gi"),
        snomed("19943007", "Cirrhosis of liver", "liver"),
        snomed("410429000", "Cardiac arrest", "cv"),
    ],
)
def test_more_nsaid_risks(risk):
    card = evaluate(back_pain(), egfr(80), risk)["first-line"]
    assert IBUPROFEN not in proposed(card)


# ---- scope: children and the deceased ----


def test_under_18_gets_no_adult_doses():
    view = evaluate(back_pain(), spasticity(), age=15)
    assert "under-18" in view
    assert not any(proposed(c) for c in view.values())


def test_deceased_patient_gets_no_cards():
    chart = [patient(50, deceasedBoolean=True), ms(), back_pain()]
    profile = classify(chart, today=TODAY, patient_id=PID)
    assert cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN) == []
    chart[0] = patient(50, deceasedDateTime="2026-01-01")
    profile = classify(chart, today=TODAY, patient_id=PID)
    assert cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN) == []


# ---- which eGFR ----


@pytest.mark.parametrize("first", ["48642-3", "48643-1"])
def test_race_specific_results_of_one_day_take_the_lower(first):
    values = {"48642-3": 66, "48643-1": 55}
    second = "48643-1" if first == "48642-3" else "48642-3"
    a = egfr(values[first], first, id="a", days=5)
    b = egfr(values[second], second, id="b", days=5)
    card = evaluate(back_pain(), a, b)["first-line"]
    assert IBUPROFEN not in proposed(card) and "eGFR 55 mL/min/1.73 m²" in card.detail


def test_race_free_result_preferred_and_shown_rounded():
    race_free = egfr(70.4, "98979-8", id="a", days=5)
    mdrd = egfr(55, "48642-3", id="b", days=5)
    card = evaluate(back_pain(), race_free, mdrd)["first-line"]
    assert IBUPROFEN in proposed(card) and "eGFR 70 mL/min/1.73 m²" in card.detail
    assert "{1.73_m2}" not in card.detail

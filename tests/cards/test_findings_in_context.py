"""Findings read in context, from FHIR charts built here (issue: findings in context).

Each test states a clinical fact: MS in remission is still MS; a healed fracture is history; a
chronic MS bladder is not cauda equina; a drug fever is not a red flag; tingling is not
neuropathic pain; new bilateral leg weakness is an emergency; new symptoms with back pain may be
a relapse. Assertions are on card kinds and indicators, not wording.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.discovery import PREFETCH
from tests.cards.test_medication_safety_in_context import (
    IBUPROFEN,
    back_pain,
    drug,
    egfr,
    evaluate,
    icd,
    proposed,
    snomed,
)
from tests.mappings.builders import CLINICAL, cc, coding, condition, days_ago

MS_CODE = cc(coding("http://snomed.info/sct", "426373005", "Relapsing remitting MS"))


def ms_with(status: str) -> dict[str, Any]:
    return condition(MS_CODE, id="ms2", clinical={"coding": [{"system": CLINICAL, "code": status}]})


# ---- MS stays MS ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["remission", "inactive"])
def test_ms_in_remission_is_still_ms(status):
    from cards import cards_for
    from mappings import classify
    from tests.cards.test_medication_safety_in_context import CLINICIAN, PID, TODAY, patient

    chart = [patient(45), ms_with(status), back_pain(), egfr(24)]
    profile = classify(chart, today=TODAY, patient_id=PID)
    cards = {
        c.source.topic.code: c
        for c in cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN, today=TODAY)
    }
    assert "first-line" in cards and IBUPROFEN not in proposed(cards["first-line"])
    cauda = icd("G83.4", "Cauda equina syndrome", "ce")
    profile = classify([*chart, cauda], today=TODAY, patient_id=PID)
    found = cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN, today=TODAY)
    assert found and found[0].indicator == "critical"


def test_resolved_ms_does_not_count():
    from cards import cards_for
    from mappings import classify
    from tests.cards.test_medication_safety_in_context import CLINICIAN, PID, TODAY, patient

    profile = classify([patient(45), ms_with("resolved"), back_pain()], today=TODAY, patient_id=PID)
    assert cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN) == []


# ---- fractures: new or history ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "days", "red_flag"),
    [
        ("S32.010S", 2900, False),  # sequela, coded in 2018
        ("S32.010D", 20, False),  # subsequent encounter
        ("S32.010K", 20, False),  # nonunion
        ("S32.010A", 2900, False),  # an initial encounter years ago
        ("S32.010A", 10, True),  # a new fracture
        ("S22.000B", 30, True),  # new open thoracic fracture
    ],
)
def test_only_new_vertebral_fractures_are_red_flags(code, days, red_flag):
    fracture = icd(code, "Fracture of lumbar vertebra", "fx", onset=days_ago(days))
    cards = evaluate(back_pain(), fracture)
    assert ("red-flag" in cards) is red_flag
    if not red_flag:
        assert "first-line" in cards  # treatment is not held back by a healed fracture


# ---- cauda equina: new bladder or bowel change only --------------------------------------------


def test_chronic_ms_bladder_and_bowel_codes_are_not_cauda_equina():
    chronic = [
        icd("R15.0", "Incomplete defecation", "b1", onset=days_ago(10)),
        icd("R15.2", "Fecal urgency", "b2", onset=days_ago(10)),
        icd("N31.9", "Neuromuscular dysfunction of bladder, unspecified", "b3", onset=days_ago(10)),
        icd("R32", "Unspecified urinary incontinence", "b4", onset=days_ago(1500)),
        icd("R15.9", "Full incontinence of feces", "b5", onset=days_ago(1500)),
    ]
    cards = evaluate(back_pain(), *chronic)
    assert "red-flag" not in cards and "first-line" in cards


def test_new_retention_and_faecal_incontinence_with_back_pain_is_critical_without_reassurance():
    new = [
        icd("R33.9", "Retention of urine, unspecified", "u", onset=days_ago(3)),
        icd("R15.9", "Full incontinence of feces", "f", onset=days_ago(3)),
    ]
    card = evaluate(back_pain(days=5), *new)["red-flag"]
    assert card.indicator == "critical"
    assert "not a red flag" not in card.detail


# ---- risk factors read precisely ------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        icd("Z79.61", "Long term (current) use of immunomodulator", "z"),
        icd("Z85.828", "Personal history of other malignant neoplasm of skin", "z"),
        icd("R50.2", "Drug induced fever", "z", onset=days_ago(3)),
        icd("R50.83", "Postvaccination fever", "z", onset=days_ago(3)),
        icd("R50.9", "Fever, unspecified", "z", onset=days_ago(90)),  # not recent
    ],
)
def test_not_red_flag_risks(resource):
    assert "red-flag-risk" not in evaluate(back_pain(), resource)


@pytest.mark.parametrize(
    "resource",
    [
        drug("312617", "predniSONE 20 MG Oral Tablet", "pred"),
        drug("1876366", "ocrelizumab 30 MG/ML Injectable Solution", "ocr"),
        icd("N39.0", "Urinary tract infection, site not specified", "uti", onset=days_ago(7)),
        icd("Z79.620", "Long term (current) use of immunosuppressive biologic", "z"),
    ],
)
def test_red_flag_risks_that_were_missing(resource):
    assert "red-flag-risk" in evaluate(back_pain(), resource)


def test_myeloma_by_code_is_a_hard_red_flag():
    myeloma = icd("C90.00", "Multiple myeloma not having achieved remission", "mm")
    assert evaluate(back_pain(), myeloma)["red-flag"].indicator == "critical"


# ---- pain components ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        (icd("R20.2", "Paresthesia of skin", "x"), "neuropathic"),
        (icd("R20.8", "Other disturbances of skin sensation", "x"), "neuropathic"),
        (icd("G50.0", "Trigeminal neuralgia", "x"), "neuropathic"),
        (icd("R25.2", "Cramp and spasm", "x"), "spasticity"),
        (icd("M62.830", "Muscle spasm of back", "x"), "spasticity"),
        (icd("R29.2", "Abnormal reflex", "x"), "spasticity"),
    ],
)
def test_component_over_reach(resource, kind):
    assert kind not in evaluate(back_pain(), resource)


def test_neuropathic_pain_coded_without_back_pain_is_not_no_pain():
    neuro = snomed("247398009", "Neuropathic pain", "np")
    cards = evaluate(neuro)
    assert "pain-not-assessed" not in cards and "neuropathic" in cards


@pytest.mark.parametrize("code", ["M51.17", "M51.27", "M48.07", "M51.362", "M51.372", "M51.A4"])
def test_back_pain_codes_that_were_missing(code):
    assert "first-line" in evaluate(icd(code, "lumbar disc or stenosis", "d", onset=days_ago(9)))


# ---- progressive deficit and MS relapse ------------------------------------------------------


def test_progressive_deficit_is_a_hard_red_flag_even_beside_a_gait_code():
    weak = condition(
        cc(
            coding("http://hl7.org/fhir/sid/icd-10-cm", "R26.2", "Difficulty in walking"),
            text="New bilateral leg weakness over 72 hours",
        ),
        id="w",
        onset=days_ago(2),
    )
    cards = evaluate(back_pain(days=3), weak)
    assert cards["red-flag"].indicator == "critical" and "first-line" not in cards


def test_possible_relapse_with_back_pain_and_a_urinary_infection():
    relapse = condition(cc(text="MS relapse: new left leg numbness"), id="r", onset=days_ago(4))
    cards = evaluate(back_pain(), relapse)
    assert cards["ms-relapse"].indicator == "warning"
    uti = icd("N39.0", "Urinary tract infection, site not specified", "uti", onset=days_ago(3))
    card = evaluate(back_pain(), relapse, uti)["ms-relapse"]
    assert "infection" in card.summary.lower()


def test_ms_condition_marked_relapse_raises_the_relapse_card():
    assert "ms-relapse" in evaluate(back_pain(), ms_with("relapse"))


def test_an_old_relapse_is_not_current():
    relapse = condition(cc(text="MS relapse"), id="r", onset=days_ago(200))
    assert "ms-relapse" not in evaluate(back_pain(), relapse)


# ---- prefetch asks for what the classifier reads ---------------------------------------------


def test_prefetch_asks_for_every_pain_score_the_classifier_reads():
    for code in ("91145-3", "91146-1", "72514-3"):
        assert code in PREFETCH["painScores"]
    assert "98979-8" in PREFETCH["egfr"]


def test_new_is_measured_from_the_day_the_chart_was_read_for():
    """A bladder change 3 days before the chart's own day is new, whatever the clock says."""
    from datetime import timedelta

    from cards import cards_for
    from mappings import classify
    from tests.cards.test_medication_safety_in_context import CLINICIAN, PID, TODAY, ms, patient

    day = TODAY - timedelta(days=400)
    chart = [
        patient(45),
        ms(),
        back_pain(days=405),
        icd("R33.9", "Retention of urine, unspecified", "u", onset=days_ago(403)),
        icd("R15.9", "Full incontinence of feces", "f", onset=days_ago(403)),
    ]
    profile = classify(chart, today=day, patient_id=PID)
    found = cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN, today=day)
    assert found and found[0].indicator == "critical"

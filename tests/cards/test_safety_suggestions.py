"""Medication safety (clinical rules section 5) applied to the drugs the cards propose."""

from __future__ import annotations

import pytest

from cards import cards_for
from tests.cards.builders import CLINICIAN, PID, by_kind, check, codes, med, profile

ACETAMINOPHEN, IBUPROFEN, PHYSIO = "198440", "197805", "306170007"


def card(p, kind):
    return by_kind(check(cards_for("patient-view", p, patient_id=PID, user_id=CLINICIAN)))[kind]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"age": 65}, "age 65"),
        ({"egfr_value": 59}, "eGFR 59 mL/min/1.73 m²"),
        ({"findings": {"gi_bleed": "Peptic ulcer"}}, "Peptic ulcer"),
        ({"findings": {"cardiovascular_disease": "Heart failure"}}, "Heart failure"),
        ({"meds": (med("warfarin"),)}, "with warfarin tablet"),
        ({"meds": (med("clopidogrel"),)}, "with clopidogrel tablet"),
    ],
)
def test_nsaid_unsafe_gives_acetaminophen_and_says_why(kwargs, reason):
    c = card(profile(**kwargs), "first-line")
    assert codes(c) == [ACETAMINOPHEN, PHYSIO]
    assert "4 g" in c.detail and reason in c.detail and "**Left out**: NSAIDs" in c.detail


def test_nsaid_safe_at_boundaries_and_unknown_egfr():
    assert codes(card(profile(age=64, egfr_value=60), "first-line"))[0] == IBUPROFEN
    assert codes(card(profile(age=None), "first-line"))[0] == IBUPROFEN  # unknown is not "old"
    assert codes(card(profile(egfr_value=None), "first-line"))[0] == IBUPROFEN


def test_nsaid_unsafe_and_on_acetaminophen_suggests_no_drug():
    c = card(profile(age=80, meds=(med("acetaminophen"),)), "first-line")
    assert codes(c) == [PHYSIO]
    assert "Already prescribed: acetaminophen tablet" in c.detail


def test_active_nsaid_with_risks_is_flagged_in_detail():
    c = card(profile(age=70, meds=(med("ibuprofen"),)), "first-line")
    assert codes(c) == [PHYSIO]
    assert "The current NSAID carries risks for this patient" in c.detail and "age 70" in c.detail


def test_acetaminophen_with_hepatic_impairment_carries_a_caution():
    c = card(profile(age=70, findings={"hepatic_impairment": "Cirrhosis"}), "first-line")
    assert "Cirrhosis" in c.detail and "lower daily maximum (2 g)" in c.detail


@pytest.mark.parametrize("inhibitor", ["ciprofloxacin", "fluvoxamine", "mexiletine"])
def test_tizanidine_never_suggested_with_a_cyp1a2_inhibitor(inhibitor):
    c = card(profile(spasticity=True, meds=(med(inhibitor),)), "spasticity")
    assert codes(c) == ["430902"]  # baclofen only
    assert "**Left out**: tizanidine" in c.detail and inhibitor in c.detail
    assert "consider baclofen with physiotherapy" in c.summary


def test_tizanidine_never_suggested_with_hepatic_impairment():
    c = card(profile(spasticity=True, findings={"hepatic_impairment": "Hepatitis"}), "spasticity")
    assert "313412" not in codes(c) and "**Left out**: tizanidine" in c.detail
    assert "Hepatitis" in c.detail


def test_baclofen_left_out_below_egfr_30():
    c = card(profile(spasticity=True, egfr_value=25), "spasticity")
    assert codes(c) == ["313412"]
    assert "**Left out**: baclofen" in c.detail and "eGFR 25" in c.detail
    assert "below 30" in c.detail


def test_baclofen_reduced_dose_between_30_and_59():
    c = card(profile(spasticity=True, egfr_value=45), "spasticity")
    assert codes(c)[0] == "430902"
    assert c.suggestions[0].label == "Baclofen 5 mg (reduced dose)"
    dosage = c.suggestions[0].actions[0].resource["dosageInstruction"][0]["text"]
    assert dosage.startswith("Reduced kidney function")


def test_no_antispasticity_drug_when_both_unsafe():
    p = profile(spasticity=True, egfr_value=20, meds=(med("ciprofloxacin"),))
    c = card(p, "spasticity")
    assert not c.suggestions
    assert "not advised here" in c.summary


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"age": 70}, "age 70"),
        ({"findings": {"cardiac_conduction": "Bundle branch block"}}, "Bundle branch block"),
        ({"findings": {"urinary_retention": "Retention of urine"}}, "Retention of urine"),
        ({"findings": {"angle_closure_glaucoma": "Angle-closure glaucoma"}}, "Angle-closure"),
        ({"meds": (med("sertraline"),)}, "with sertraline tablet"),
        ({"meds": (med("tramadol"),)}, "with tramadol tablet"),
    ],
)
def test_gabapentin_preferred_when_tca_unsafe(kwargs, reason):
    c = card(profile(neuropathic=True, **kwargs), "neuropathic")
    assert codes(c) == ["310431"] or codes(c) == ["310430"]
    assert "**Left out**: amitriptyline (TCA)" in c.detail and reason in c.detail
    assert c.suggestions[0].isRecommended


def test_gabapentin_renal_dose_below_egfr_60_and_unknown_egfr_is_normal():
    assert codes(card(profile(neuropathic=True, egfr_value=50), "neuropathic"))[1] == "310430"
    assert codes(card(profile(neuropathic=True), "neuropathic"))[1] == "310431"


def test_gabapentin_with_active_opioid_carries_a_caution():
    c = card(profile(neuropathic=True, meds=(med("oxycodone"),)), "neuropathic")
    assert "oxycodone tablet" in c.detail and "respiratory depression" in c.detail


def test_no_second_gabapentinoid_when_on_pregabalin():
    c = card(profile(neuropathic=True, meds=(med("pregabalin"),)), "neuropathic")
    assert codes(c) == ["856783"]
    assert "already taken: pregabalin tablet" in c.detail


def test_no_tca_when_on_an_snri():
    c = card(profile(neuropathic=True, meds=(med("duloxetine"),)), "neuropathic")
    assert codes(c) == ["310431"]
    assert "**Left out**: amitriptyline, because of already taken: duloxetine tablet" in c.detail


def test_never_suggests_a_drug_already_taken():
    meds = (med("ibuprofen"), med("baclofen"), med("gabapentin"), med("amitriptyline"))
    p = profile(spasticity=True, neuropathic=True, meds=meds)
    cards = check(cards_for("patient-view", p, patient_id=PID, user_id=CLINICIAN))
    proposed = {
        a.resource["medicationCodeableConcept"]["text"].split()[0].lower()
        for c in cards
        for s in c.suggestions
        for a in s.actions
        if a.type == "create" and a.resource["resourceType"] == "MedicationRequest"
    }
    assert not proposed & {"ibuprofen", "baclofen", "gabapentin", "amitriptyline"}


def test_low_dose_aspirin_is_a_risk_not_an_analgesic_already_taken():
    c = card(profile(meds=(med("aspirin"),)), "first-line")
    assert codes(c) == [ACETAMINOPHEN, PHYSIO]
    assert "with aspirin tablet" in c.detail and "antiplatelet" in c.detail
    assert "Already prescribed" not in c.detail

"""order-select / order-sign: each order card, its near misses, safety on the orders."""

from __future__ import annotations

import pytest

from cards import cards_for
from tests.cards.builders import (
    CLINICIAN,
    PID,
    by_kind,
    check,
    codes,
    flag,
    med,
    med_order,
    order,
    profile,
)


def run(p, *orders, hook="order-select"):
    return check(cards_for(hook, p, patient_id=PID, user_id=CLINICIAN, orders=list(orders)))


def kinds(p, *orders) -> set[str]:
    return set(by_kind(run(p, *orders)))


# ---- imaging ------------------------------------------------------------------------------------


def test_imaging_card_names_the_order_and_offers_delete_plus_physiotherapy():
    card = by_kind(run(profile(onset_days=10), order("spine_imaging", id="mri-7")))[
        "imaging-not-indicated"
    ]
    # the summary names the scan short (modality and region), the detail in full with its code
    assert "(MRI lumbar spine)" in card.summary and "6 weeks" in card.summary
    assert "**MRI lumbar spine without contrast** [ServiceRequest/mri-7]" in card.detail
    assert "back pain for 10 days" in card.detail
    (s,) = card.suggestions
    assert [a.type for a in s.actions] == ["delete", "create"]
    assert s.actions[0].resourceId == "ServiceRequest/mri-7"
    assert codes(card) == ["306170007"]
    assert {r.code for r in card.overrideReasons} >= {"surgical-candidate", "ms-monitoring"}


def test_imaging_card_with_unknown_duration():
    assert "imaging-not-indicated" in kinds(profile(onset_days=None), order("spine_imaging"))


def test_imaging_reason_back_pain_without_back_pain_condition():
    o = order("spine_imaging", reasons=frozenset({"back_pain"}))
    assert "imaging-not-indicated" in kinds(profile(back_pain=False), o)


@pytest.mark.parametrize(
    ("p", "o"),
    [
        (profile(), order("brain_imaging", display="MRI brain with contrast")),
        (profile(), order("spine_imaging", reasons=frozenset({"ms"}))),
        (profile(back_pain=False), order("spine_imaging")),
        (profile(onset_days=42), order("spine_imaging")),
        (profile(onset_days=120), order("spine_imaging")),
        (
            profile(red_flags=(flag("vertebral_fracture", "Vertebral fracture", True),)),
            order("spine_imaging"),
        ),
        (profile(red_flags=(flag("fever", "Fever", False),)), order("spine_imaging")),
        (profile(), order("spine_imaging", selected=False)),
    ],
    ids=[
        "brain-mri",
        "spine-mri-for-ms-monitoring",
        "no-back-pain",
        "at-6-weeks",
        "after-6-weeks",
        "hard-red-flag",
        "risk-factor",
        "not-selected",
    ],
)
def test_imaging_near_misses_say_nothing(p, o):
    assert run(p, o) == []


def test_imaging_for_ms_and_back_pain_is_still_back_pain_imaging():
    o = order("spine_imaging", reasons=frozenset({"ms", "back_pain"}))
    assert "imaging-not-indicated" in kinds(profile(), o)


def test_imaging_without_draft_id_offers_physiotherapy_only():
    card = by_kind(run(profile(), order("spine_imaging", id=None)))["imaging-not-indicated"]
    assert [a.type for s in card.suggestions for a in s.actions] == ["create"]


def test_imaging_with_physiotherapy_co_ordered_offers_delete_only():
    o = order("spine_imaging")
    physio = order("physiotherapy", id="pt-1", display="Physio referral", selected=False)
    card = by_kind(run(profile(), o, physio))["imaging-not-indicated"]
    assert [a.type for s in card.suggestions for a in s.actions] == ["delete"]


# ---- bed rest / opioid ---------------------------------------------------------------------------


def test_bed_rest_order():
    card = by_kind(run(profile(), order("bed_rest", id="br-1", display="Strict bed rest")))[
        "bed-rest"
    ]
    assert card.indicator == "warning" and "Strict bed rest" in card.summary
    assert card.suggestions[0].actions[0].resourceId == "ServiceRequest/br-1"
    assert "Stay active" in card.detail


def test_opioid_order_plain():
    card = by_kind(run(profile(), med_order("oxycodone", "op-1")))["opioid-order"]
    assert "try NSAID or acetaminophen" in card.summary
    assert card.suggestions[0].actions[0].resourceId == "MedicationRequest/op-1"


def test_opioid_order_with_active_benzodiazepine_and_co_ordered_gabapentin():
    p = profile(meds=(med("diazepam"),))
    cards = run(p, med_order("oxycodone", "op-1"), med_order("gabapentin", "gb-1", selected=False))
    card = by_kind(cards)["opioid-order"]
    assert "CNS depressants (diazepam tablet, gabapentin (draft))" in card.summary


def test_opioid_when_already_on_one():
    card = by_kind(run(profile(meds=(med("tramadol"),)), med_order("oxycodone")))["opioid-order"]
    assert "tramadol tablet" in card.detail and "two opioids" in card.detail


# ---- NSAID risk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"age": 70}, "age 70"),
        ({"egfr_value": 40}, "eGFR 40"),
        ({"findings": {"gi_bleed": "GI bleed"}}, "GI bleed"),
        ({"findings": {"cardiovascular_disease": "Old MI"}}, "Old MI"),
        ({"meds": (med("warfarin"),)}, "warfarin tablet"),
    ],
)
def test_nsaid_risk_switches_to_acetaminophen(kwargs, reason):
    card = by_kind(run(profile(**kwargs), med_order("ibuprofen", "ib-1")))["nsaid-risk"]
    assert reason in card.summary and "acetaminophen instead" in card.summary
    (s,) = card.suggestions
    assert s.actions[0].resourceId == "MedicationRequest/ib-1"
    assert codes(card) == ["198440"]


def test_nsaid_with_co_ordered_anticoagulant():
    cards = run(
        profile(), med_order("naproxen", "np-1"), med_order("warfarin", "wf-1", selected=False)
    )
    assert "warfarin (draft)" in by_kind(cards)["nsaid-risk"].detail


def test_nsaid_below_egfr_30_says_avoid():
    card = by_kind(run(profile(egfr_value=20), med_order("ibuprofen")))["nsaid-risk"]
    assert "eGFR 20" in card.summary and "below 30" in card.detail
    assert "Switch to acetaminophen" in card.detail


def test_nsaid_safe_patient_no_card():
    assert run(profile(age=40, egfr_value=90), med_order("ibuprofen")) == []


# ---- tizanidine interaction ----------------------------------------------------------------------


@pytest.mark.parametrize("inhibitor", ["ciprofloxacin", "fluvoxamine"])
def test_tizanidine_with_active_inhibitor_is_critical(inhibitor):
    cards = run(profile(spasticity=True, meds=(med(inhibitor),)), med_order("tizanidine", "tz-1"))
    assert cards[0].indicator == "critical"
    card = by_kind(cards)["tizanidine-interaction"]
    assert f"{inhibitor} tablet" in card.summary and "contraindicated" in card.summary
    (s,) = card.suggestions
    assert s.actions[0].resourceId == "MedicationRequest/tz-1"
    assert codes(card) == ["430902"]  # baclofen instead


def test_tizanidine_with_co_ordered_ciprofloxacin_unselected():
    cards = run(
        profile(),
        med_order("tizanidine", "tz-1"),
        med_order("ciprofloxacin", "cp-1", selected=False),
    )
    assert "tizanidine-interaction" in by_kind(cards)


def test_ciprofloxacin_ordered_for_patient_on_tizanidine():
    cards = run(profile(meds=(med("tizanidine"),)), med_order("ciprofloxacin", "cp-1"))
    card = by_kind(cards)["tizanidine-interaction"]
    assert card.suggestions[0].actions[0].resourceId == "MedicationRequest/cp-1"


def test_both_drafts_selected_give_one_interaction_card():
    cards = run(profile(), med_order("tizanidine", "tz-1"), med_order("ciprofloxacin", "cp-1"))
    assert len([c for c in cards if c.indicator == "critical"]) == 1


def test_tizanidine_interaction_no_baclofen_when_egfr_below_30():
    cards = run(profile(egfr_value=25, meds=(med("ciprofloxacin"),)), med_order("tizanidine"))
    assert codes(by_kind(cards)["tizanidine-interaction"]) == []


def test_tizanidine_with_other_cyp1a2_inhibitor_is_a_caution_not_critical():
    cards = run(profile(meds=(med("mexiletine"),)), med_order("tizanidine"))
    found = by_kind(cards)
    assert "tizanidine-interaction" not in found
    assert "CYP1A2 inhibitor" in found["drug-caution"].detail


# ---- drug cautions -------------------------------------------------------------------------------


def test_baclofen_low_egfr():
    card = by_kind(run(profile(egfr_value=45), med_order("baclofen")))["drug-caution"]
    assert "eGFR 45" in card.summary and "lower dose" in card.detail
    card = by_kind(run(profile(egfr_value=20), med_order("baclofen")))["drug-caution"]
    assert "Avoid (eGFR 20" in card.detail and "below 30" in card.detail


def test_tca_with_risks():
    p = profile(age=75, findings={"urinary_retention": "Retention of urine"})
    card = by_kind(run(p, med_order("amitriptyline")))["drug-caution"]
    assert "age 75" in card.detail and "Retention of urine" in card.detail
    assert "(+1 more)" in card.summary


def test_tca_co_ordered_with_tramadol():
    cards = run(
        profile(), med_order("amitriptyline"), med_order("tramadol", "tr-1", selected=False)
    )
    detail = by_kind(cards)["drug-caution"].detail
    assert "tramadol (draft)" in detail and "serotonin syndrome" in detail


def test_gabapentinoid_with_opioid_and_low_egfr():
    card = by_kind(run(profile(egfr_value=50, meds=(med("oxycodone"),)), med_order("pregabalin")))[
        "drug-caution"
    ]
    assert "renal dose" in card.detail and "respiratory depression" in card.detail


def test_duplicate_therapy():
    # baclofen with tizanidine is a caution in MS spasticity, not a duplicate (clinical rules 5)
    card = by_kind(run(profile(meds=(med("baclofen"),)), med_order("tizanidine")))["drug-caution"]
    assert "baclofen tablet" in card.summary and "duplicate" not in card.detail
    card = by_kind(run(profile(meds=(med("duloxetine"),)), med_order("amitriptyline")))[
        "drug-caution"
    ]
    assert "duloxetine tablet" in card.detail and "duplicate therapy" in card.detail
    assert "gabapentin is the alternative" in card.detail


def test_renewal_of_same_drug_is_not_a_duplicate():
    assert run(profile(meds=(med("baclofen"),)), med_order("baclofen")) == []


def test_safe_orders_say_nothing():
    assert run(profile(), med_order("gabapentin"), med_order("baclofen", "b-2")) == []


# ---- robustness ----------------------------------------------------------------------------------


def test_malformed_and_unnamed_drafts_do_not_break_anything():
    unnamed = order("", id=None, display="unnamed order", rtype="MedicationRequest")
    odd = order("", id="x", display="unnamed order")
    for hook in ("order-select", "order-sign"):
        assert run(profile(), unnamed, odd, hook=hook) == []


def test_hostile_display_is_quoted_safely():
    o = order("spine_imaging", display="<script>alert(1)</script> | MRI\n# heading")
    card = by_kind(run(profile(), o))["imaging-not-indicated"]
    assert "<script>" not in card.detail and "<script>" not in card.summary


def test_order_hooks_respect_scope():
    o = order("spine_imaging")
    assert run(profile(ms=False), o) == []
    assert (
        cards_for("order-sign", profile(), patient_id=PID, user_id="Patient/pat-1", orders=[o])
        == []
    )


def test_patient_view_cards_do_not_appear_on_order_hooks():
    assert run(profile(spasticity=True, neuropathic=True)) == []


def test_nsaid_order_with_aspirin_is_one_risk_card_not_also_a_duplicate():
    found = by_kind(run(profile(meds=(med("aspirin"),)), med_order("ibuprofen")))
    assert set(found) == {"nsaid-risk"}
    assert "aspirin tablet" in found["nsaid-risk"].summary


def test_tizanidine_interaction_proposes_reduced_baclofen_when_egfr_reduced():
    cards = run(profile(egfr_value=50, meds=(med("ciprofloxacin"),)), med_order("tizanidine"))
    card = by_kind(cards)["tizanidine-interaction"]
    assert "eGFR 50" in card.detail
    (resource,) = [a.resource for s in card.suggestions for a in s.actions if a.type == "create"]
    assert resource["dosageInstruction"][0]["text"].startswith("Reduced kidney function")

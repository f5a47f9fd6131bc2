"""patient-view: every card kind, earned and narrowly missed."""

from __future__ import annotations

from cards import cards_for
from tests.cards.builders import CLINICIAN, PID, by_kind, check, codes, flag, med, profile


def pv(p):
    return check(cards_for("patient-view", p, patient_id=PID, user_id=CLINICIAN))


def kinds(p) -> set[str]:
    return set(by_kind(pv(p)))


# ---- red flags ---------------------------------------------------------------------------------


def test_red_flag_is_critical_first_and_suggests_urgent_mri():
    p = profile(
        red_flags=(
            flag("cauda_equina", "Cauda equina syndrome", True),
            flag("osteoporosis", "Osteoporosis", False),
        ),
        spasticity=True,
    )
    cards = pv(p)
    assert cards[0].indicator == "critical"
    card = by_kind(cards)["red-flag"]
    assert card.summary.startswith("Red flag (Cauda equina syndrome)")
    assert "same-day emergency assessment" in card.detail
    assert "Also recorded: Osteoporosis." in card.detail
    (mri,) = [a.resource for s in card.suggestions for a in s.actions]
    assert mri["priority"] == "urgent" and mri["code"]["coding"][0]["code"] == "241645008"
    assert {"reference": "Condition/cauda-equina"} in mri["reasonReference"]
    # treatment waits; no separate risk-factor card repeating the same thing
    assert not kinds(p) & {"first-line", "spasticity", "red-flag-risk"}


def test_red_flag_risk_factors_only_is_a_warning_and_first_line_still_shows():
    p = profile(red_flags=(flag("cancer_history", "History of cancer", False),))
    found = by_kind(pv(p))
    card = found["red-flag-risk"]
    assert card.indicator == "warning" and "History of cancer" in card.summary
    assert "Red-flag risk factors are recorded" in found["first-line"].detail


def test_risk_factor_without_back_pain_gives_no_risk_card():
    p = profile(back_pain=False, red_flags=(flag("cancer_history", "History of cancer", False),))
    assert "red-flag-risk" not in kinds(p)


def test_urinary_retention_alone_is_not_a_red_flag_and_says_so():
    p = profile(findings={"urinary_retention": "Retention of urine"})
    found = by_kind(pv(p))
    assert "red-flag" not in found
    assert "Retention of urine is common in MS itself and alone is not a red flag" in (
        found["first-line"].detail
    )


def test_gait_and_weakness_are_not_red_flags():
    p = profile(findings={"gait_difficulty": "Gait abnormality", "weakness": "Weakness of legs"})
    found = by_kind(pv(p))
    assert "red-flag" not in found
    assert "Gait abnormality, Weakness of legs are common in MS" in found["first-line"].detail


def test_retention_with_saddle_anaesthesia_and_back_pain_is_a_red_flag():
    p = profile(
        findings={"urinary_retention": "Retention", "saddle_anaesthesia": "Saddle numbness"}
    )
    card = by_kind(pv(p))["red-flag"]
    assert "Possible cauda equina" in card.summary


# ---- pain not assessed ---------------------------------------------------------------------------


def test_pain_not_assessed_when_nothing_recorded():
    p = profile(back_pain=False)
    card = by_kind(pv(p))["pain-not-assessed"]
    assert card.indicator == "info" and "ask about pain" in card.summary
    assert "Relapsing-remitting multiple sclerosis" in card.detail
    assert kinds(p) == {"pain-not-assessed"}


def test_pain_score_recorded_means_pain_was_assessed():
    assert "pain-not-assessed" not in kinds(profile(back_pain=False, pain_documented=True))
    assert "pain-not-assessed" not in kinds(profile())


# ---- spasticity ----------------------------------------------------------------------------------


def test_spasticity_suggests_baclofen_or_tizanidine_at_most_one():
    card = by_kind(pv(profile(spasticity=True)))["spasticity"]
    assert card.summary == (
        "Spasticity may be adding to back pain: consider baclofen or tizanidine with physiotherapy"
    )
    assert card.selectionBehavior == "at-most-one"
    assert codes(card) == ["430902", "313412"]
    assert [s.isRecommended for s in card.suggestions] == [True, None]
    assert "36 mg a day" in card.detail


def test_spasticity_without_back_pain_gives_no_card():
    assert "spasticity" not in kinds(
        profile(back_pain=False, spasticity=True, pain_documented=True)
    )


def test_spasticity_on_tizanidine_says_titrate_and_suggests_no_new_drug():
    card = by_kind(pv(profile(spasticity=True, meds=(med("tizanidine"),))))["spasticity"]
    assert "titrate" in card.summary and "tizanidine tablet" in card.summary
    assert not card.suggestions
    assert "up to 36 mg a day in divided doses" in card.detail


# ---- neuropathic ---------------------------------------------------------------------------------


def test_neuropathic_suggests_amitriptyline_first_or_gabapentin():
    card = by_kind(pv(profile(neuropathic=True)))["neuropathic"]
    assert "amitriptyline or gabapentin" in card.summary
    assert card.selectionBehavior == "at-most-one"
    assert codes(card) == ["856783", "310431"]
    assert card.suggestions[0].isRecommended
    assert "Burning dysesthesia" in card.detail
    assert "pregabalin" in card.detail and "duloxetine" in card.detail


def test_neuropathic_with_pain_score_but_no_back_pain_condition():
    assert "neuropathic" in kinds(profile(back_pain=False, neuropathic=True, pain_documented=True))


def test_neuropathic_on_gabapentin_adds_the_other_mechanism():
    card = by_kind(pv(profile(neuropathic=True, meds=(med("gabapentin"),))))["neuropathic"]
    assert "consider adding amitriptyline" in card.summary
    assert codes(card) == ["856783"]
    assert "**Left out**: gabapentin, because of already taken: gabapentin tablet." in card.detail


def test_neuropathic_on_amitriptyline_adds_gabapentin():
    card = by_kind(pv(profile(neuropathic=True, meds=(med("amitriptyline"),))))["neuropathic"]
    assert "consider adding gabapentin" in card.summary and codes(card) == ["310431"]


def test_neuropathic_on_both_mechanisms_is_silent_when_acute():
    p = profile(neuropathic=True, meds=(med("gabapentin"), med("amitriptyline")))
    assert not kinds(p) & {"neuropathic", "refractory-neuropathic"}


# ---- chronic care and refractory -----------------------------------------------------------------


def test_chronic_care_from_four_weeks():
    card = by_kind(pv(profile(onset_days=30)))["chronic-care"]
    assert "4+ weeks" in card.summary and card.selectionBehavior == "any"
    assert codes(card) == ["97110", "228557008"]
    for word in ("yoga", "massage", "acupuncture", "spinal manipulation"):
        assert word in card.detail.lower()


def test_no_chronic_care_when_acute_or_unknown():
    assert "chronic-care" not in kinds(profile(onset_days=20))
    assert "chronic-care" not in kinds(profile(onset_days=None))


def test_refractory_spasticity_on_baclofen_when_chronic():
    p = profile(onset_days=60, spasticity=True, meds=(med("baclofen"),))
    card = by_kind(pv(p))["refractory-spasticity"]
    assert "botulinum toxin or intrathecal baclofen" in card.summary
    assert card.selectionBehavior == "at-most-one"
    assert codes(card) == ["404909007", "62362"]


def test_no_refractory_spasticity_when_acute_or_untreated():
    assert "refractory-spasticity" not in kinds(profile(spasticity=True, meds=(med("baclofen"),)))
    assert "refractory-spasticity" not in kinds(profile(onset_days=60, spasticity=True))


def test_refractory_neuropathic_on_gabapentinoid_and_snri_when_chronic():
    p = profile(onset_days=90, neuropathic=True, meds=(med("pregabalin"), med("duloxetine")))
    card = by_kind(pv(p))["refractory-neuropathic"]
    assert "lamotrigine, oxcarbazepine or carbamazepine" in card.summary
    assert "Cannabinoids" in card.detail
    assert "neuropathic" not in kinds(p)


def test_no_refractory_neuropathic_on_one_mechanism():
    p = profile(onset_days=90, neuropathic=True, meds=(med("pregabalin"),))
    assert "refractory-neuropathic" not in kinds(p)


# ---- opioid and DMT ------------------------------------------------------------------------------


def test_opioid_active_warning_with_cns_depressants():
    p = profile(meds=(med("oxycodone"), med("diazepam"), med("gabapentin")))
    card = by_kind(pv(p))["opioid-active"]
    assert card.indicator == "warning"
    assert "CNS depressants (diazepam tablet, gabapentin tablet)" in card.summary
    assert "respiratory depression" in card.detail


def test_opioid_active_alone():
    card = by_kind(pv(profile(back_pain=False, meds=(med("tramadol"),))))["opioid-active"]
    assert card.summary.startswith("On an opioid (tramadol tablet): reserve for severe")


def test_dmt_injection_pain():
    card = by_kind(pv(profile(meds=(med("glatiramer"),))))["dmt-injection-pain"]
    assert "glatiramer tablet" in card.summary and "cool" in card.detail


def test_dmt_without_pain_gives_no_injection_card():
    p = profile(back_pain=False, pain_documented=False, meds=(med("glatiramer"),))
    assert "dmt-injection-pain" not in kinds(p)


def test_full_algorithm_for_acute_back_pain_with_both_components():
    p = profile(spasticity=True, neuropathic=True)
    assert kinds(p) == {"first-line", "spasticity", "neuropathic"}

"""Scope rules, the first-line card, and imaging-not-indicated: the service's first slice."""

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
    order,
    profile,
)


def pv(p, user=CLINICIAN):
    return check(cards_for("patient-view", p, patient_id=PID, user_id=user))


def test_no_ms_no_cards():
    assert pv(profile(ms=False, spasticity=True, neuropathic=True)) == []


@pytest.mark.parametrize("user", ["Patient/pat-1", "RelatedPerson/rp-9"])
def test_portal_user_gets_no_cards(user):
    assert pv(profile(spasticity=True), user=user) == []


def test_unknown_hook_no_cards():
    assert cards_for("encounter-start", profile(), patient_id=PID, user_id=CLINICIAN) == []


def test_first_line_nsaid_and_physiotherapy():
    card = by_kind(pv(profile()))["first-line"]
    assert card.indicator == "info"
    assert "ibuprofen" in card.summary and "physiotherapy" in card.summary
    assert card.selectionBehavior == "any"
    assert codes(card) == ["197805", "306170007"]
    assert "Stay active, avoid bed rest" in card.detail
    assert "Low back pain (SNOMED CT 279039007" in card.detail


def test_first_line_acetaminophen_when_nsaid_unsafe_by_age():
    card = by_kind(pv(profile(age=72)))["first-line"]
    assert "acetaminophen" in card.summary and "4 g/day" in card.summary
    assert codes(card) == ["198440", "306170007"]
    assert "**Left out**: NSAIDs (ibuprofen, naproxen), because of avoid (age 72)" in card.detail


def test_imaging_not_indicated_on_spine_mri():
    o = order("spine_imaging", id="mri-1")
    cards = check(
        cards_for("order-select", profile(), patient_id=PID, user_id=CLINICIAN, orders=[o])
    )
    card = by_kind(cards)["imaging-not-indicated"]
    assert card.indicator == "warning"
    assert (
        "MRI lumbar spine without contrast" in card.detail and "ServiceRequest/mri-1" in card.detail
    )
    actions = card.suggestions[0].actions
    assert actions[0].type == "delete" and actions[0].resourceId == "ServiceRequest/mri-1"
    assert actions[1].resource["code"]["coding"][0]["code"] == "306170007"


def test_red_flag_silences_imaging_card():
    p = profile(red_flags=(flag("cauda_equina", "Cauda equina syndrome", True),))
    o = order("spine_imaging")
    assert cards_for("order-sign", p, patient_id=PID, user_id=CLINICIAN, orders=[o]) == []


def test_on_nsaid_no_new_nsaid_keeps_physiotherapy():
    card = by_kind(pv(profile(meds=(med("naproxen"),))))["first-line"]
    assert codes(card) == ["306170007"]
    assert "already taken: naproxen tablet" in card.detail

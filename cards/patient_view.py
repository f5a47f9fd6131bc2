"""patient-view (clinical rules sections 3-5): which cards a pain profile earns, in which order.

Each card kind is one rule of `cards.rules` (its module's header says when it applies and what
it proposes); this module only orders them, holds treatment back while a hard red flag stands,
and offers the under-18 card in place of treatment below the adult age.
"""

from __future__ import annotations

from collections.abc import Callable

from cards.model import Card
from cards.red_flags import hard_flags
from cards.rules.chronic_care import chronic_care
from cards.rules.dmt_injection_pain import dmt_injection_pain
from cards.rules.first_line import first_line
from cards.rules.ms_relapse import ms_relapse
from cards.rules.neuropathic import neuropathic
from cards.rules.opioid_active import opioid_active
from cards.rules.pain_not_assessed import pain_not_assessed
from cards.rules.red_flag import red_flag
from cards.rules.red_flag_risk import red_flag_risk
from cards.rules.refractory_neuropathic import refractory_neuropathic
from cards.rules.refractory_spasticity import refractory_spasticity
from cards.rules.spasticity import spasticity
from cards.rules.under_18 import under_18
from mappings.profile import PainProfile
from mappings.thresholds import THRESHOLDS as T

__all__ = ["patient_view_cards"]

_TREATMENT: tuple[Callable[[PainProfile, str], Card | None], ...] = (
    spasticity,
    neuropathic,
    chronic_care,
    refractory_spasticity,
    refractory_neuropathic,
)


def patient_view_cards(p: PainProfile, pid: str) -> list[Card]:
    """Every patient-view card the profile earns; treatment waits while a hard red flag stands,
    and is not offered under 18 (adult doses)."""
    cards: list[Card | None] = []
    flags = hard_flags(p)
    if flags:
        cards.append(red_flag(p, pid, flags))
    else:
        cards.append(red_flag_risk(p, pid))
    cards.append(pain_not_assessed(p, pid))
    cards.append(ms_relapse(p, pid))
    if p.age is not None and p.age < T.adult_age:
        if not flags:
            cards.append(under_18(p, pid))
    elif not flags:
        if p.has_back_pain:
            cards.append(first_line(p, pid))
        cards += [rule(p, pid) for rule in _TREATMENT]
    cards += [opioid_active(p, pid), dmt_injection_pain(p, pid)]
    return [c for c in cards if c is not None]

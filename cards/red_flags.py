"""Red flags (clinical rules section 3): the hard flags the rules act on, and the MS nuance.

Bladder, gait and weakness findings are common in MS itself: alone they are not red flags, and the
cards say so rather than alarming on every MS bladder problem. The cards themselves are rules of
`cards.rules` (`red_flag`, `red_flag_risk`); the order rules read `hard_flags` too.
"""

from __future__ import annotations

from datetime import date

from cards.content import CARDS, MS_NUANCE
from mappings.concepts import MS_COMMON_FINDINGS
from mappings.loader import load_terminology
from mappings.profile import DraftOrder, Evidence, PainProfile, RedFlag

_BLADDER = ("urinary_retention", "urinary_incontinence")
_CAUDA_SIGNS = ("saddle_anaesthesia", "bowel_incontinence")
_CAUDA_EQUINA = CARDS["red-flag"].phrases["cauda_equina"]


def _new(profile: PainProfile, concept: str) -> list[Evidence]:
    """Evidence of `concept` recent enough to be a new change (context.csv `new_within_days`):
    chronic MS bladder and bowel problems, or undated ones, are not signs of cauda equina."""
    term = load_terminology()
    rules = term.context.get(concept)
    days = rules.new_within_days if rules is not None else None
    today = profile.as_of or date.today()
    return [
        e
        for e in profile.evidence_for(concept)
        if days is None or (e.date is not None and (today - e.date).days <= days)
    ]


def hard_flags(profile: PainProfile) -> tuple[RedFlag, ...]:
    """The hard red flags, plus cauda equina inferred from back pain with a new bladder change
    (retention or incontinence) and a new saddle or bowel sign."""
    flags = profile.hard_red_flags
    if profile.has_back_pain and not any(f.category == "cauda_equina" for f in flags):
        bladder = [e for c in _BLADDER for e in _new(profile, c)]
        signs = [e for c in _CAUDA_SIGNS for e in _new(profile, c)]
        if bladder and signs:
            flags += (RedFlag("cauda_equina", _CAUDA_EQUINA, True, signs[0]),)
    return flags


def reason_flags(order: DraftOrder) -> frozenset[str]:
    """The red flags and risk factors an order gives as its reason (reasonCode): a clinician
    ordering imaging for suspected cauda equina has recorded the flag there, if nowhere else."""
    concepts = load_terminology().concepts
    return frozenset(c for c in order.reason_concepts if c in concepts and concepts[c].is_red_flag)


def ms_nuance(profile: PainProfile) -> str | None:
    """Say that bladder, gait and weakness findings alone are not red flags in MS."""
    found = [
        profile.evidence_for(c)[0].display
        for c in MS_COMMON_FINDINGS
        if c != "saddle_anaesthesia" and profile.has(c)
    ]
    if not found:
        return None
    names = ", ".join(dict.fromkeys(found))
    return MS_NUANCE["many" if len(found) > 1 else "one"].format(findings=names)

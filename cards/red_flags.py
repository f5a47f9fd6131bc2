"""Red flags (clinical rules section 3): the critical and warning cards, and the MS nuance.

Bladder, gait and weakness findings are common in MS itself: alone they are not red flags, and the
cards say so rather than alarming on every MS bladder problem.
"""

from __future__ import annotations

from datetime import date

from cards.build import Draft, create, finish, fit_summary, suggestion
from cards.content import CARDS, MS_NUANCE
from cards.model import Card
from cards.products import SERVICES
from cards.resources import proposal
from mappings.concepts import MS_COMMON_FINDINGS
from mappings.loader import load_terminology
from mappings.profile import PainProfile, RedFlag

_BLADDER = ("urinary_retention", "urinary_incontinence")
# Red flags that need same-day emergency assessment, not only urgent imaging.
_EMERGENCIES = ("cauda_equina", "cord_compression", "progressive_deficit")
_CAUDA_SIGNS = ("saddle_anaesthesia", "bowel_incontinence")


def _new(profile: PainProfile, concept: str) -> list:
    """Evidence of `concept` recent enough to be a new change (context.csv `new_within_days`):
    chronic MS bladder and bowel problems, or undated ones, are not signs of cauda equina."""
    term = load_terminology()
    rules = term.context.get(concept)
    days = rules.new_within_days if rules is not None else None
    today = date.today()
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
            label = "Possible cauda equina syndrome (bladder change with saddle or bowel signs)"
            flags += (RedFlag("cauda_equina", label, True, signs[0]),)
    return flags


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
    many = len(found) > 1
    return MS_NUANCE.format(
        findings=names, verb="are" if many else "is", is_are="are" if many else "is"
    )


def _urgent_mri(pid: str, reasons):
    service = SERVICES["spine_mri_urgent"]
    return create(f"Propose {service.text}", proposal("spine_mri_urgent", pid, reasons))


def red_flag(p: PainProfile, pid: str, flags: tuple[RedFlag, ...]) -> Card:
    text = CARDS["red-flag"]
    labels = ", ".join(dict.fromkeys(f.label for f in flags))
    d = Draft("red-flag", fit_summary(text.summaries["default"], flags=labels))
    d.do = [text.advice["evaluate"]]
    if any(f.category in _EMERGENCIES for f in flags):
        d.do.append(text.advice["emergency"])
    d.do += [text.advice["imaging"], text.advice["held"]]
    if p.risk_factors:
        d.cautions.append("Also recorded: " + ", ".join(f.label for f in p.risk_factors) + ".")
    # No "MS nuance" here: on a critical card it reads as reassurance (clinical rules section 3).
    d.evidence = [f.evidence for f in flags] + [f.evidence for f in p.risk_factors]
    reasons = [f.evidence for f in flags] + list(p.back_pain)
    d.suggestions.append(
        suggestion(
            "spine-mri",
            "Urgent MRI of the spine",
            [_urgent_mri(pid, reasons)],
            True,
        )
    )
    return finish(d, pid)


def red_flag_risk(p: PainProfile, pid: str) -> Card | None:
    if not p.has_back_pain or not p.risk_factors:
        return None
    text = CARDS["red-flag-risk"]
    labels = ", ".join(dict.fromkeys(f.label for f in p.risk_factors))
    d = Draft("red-flag-risk", fit_summary(text.summaries["default"], flags=labels))
    d.do = [text.advice["assess"], text.advice["imaging"]]
    if nuance := ms_nuance(p):
        d.cautions.append(nuance)
    d.evidence = [f.evidence for f in p.risk_factors] + list(p.back_pain)
    return finish(d, pid)

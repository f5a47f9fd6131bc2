"""Medication-safety checks (clinical rules section 5), shared by our suggestions and order checks.

Each check returns the concerns that apply, each with its wording and the evidence behind it, so a
card can both decide and explain. An unknown value (no eGFR, no age) is never a concern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cards.content import CONCERNS
from mappings.concepts import TIZANIDINE_CONTRAINDICATED_WITH
from mappings.profile import Evidence, Medication, PainProfile
from mappings.thresholds import THRESHOLDS as T


@dataclass(frozen=True, slots=True)
class Concern:
    key: str
    text: str
    evidence: tuple[Evidence, ...] = ()


def _finding(profile: PainProfile, concept: str) -> Concern | None:
    found = profile.evidence_for(concept)
    if not found:
        return None
    return Concern(concept, CONCERNS[concept].format(what=found[0].display), found)


def _med_concern(key: str, meds: Iterable[Medication]) -> Concern | None:
    meds = tuple(meds)
    if not meds:
        return None
    what = ", ".join(dict.fromkeys(m.display for m in meds))
    return Concern(key, CONCERNS[key].format(what=what), tuple(m.evidence for m in meds))


def _in_class(meds: Iterable[Medication], drug_class: str) -> tuple[Medication, ...]:
    return tuple(m for m in meds if drug_class in m.classes)


def _age(profile: PainProfile) -> Concern | None:
    if profile.age is not None and profile.age >= T.older_adult_age:
        return Concern("age", CONCERNS["age"].format(age=profile.age))
    return None


def egfr_below(profile: PainProfile, limit: float) -> bool:
    return profile.egfr is not None and profile.egfr.value < limit


def _egfr(profile: PainProfile, key: str) -> Concern:
    e = profile.egfr
    assert e is not None
    when = f", {e.date.isoformat()}" if e.date else ""
    shown = f"{e.value:g} {e.unit}{when}".strip()
    return Concern(key, CONCERNS[key].format(egfr=shown), (e.evidence,))


def _renal(profile: PainProfile) -> Concern | None:
    if egfr_below(profile, T.egfr_severe):
        return _egfr(profile, "egfr_severe")
    if egfr_below(profile, T.egfr_reduced):
        return _egfr(profile, "egfr_low")
    return None


def _present(*concerns: Concern | None) -> tuple[Concern, ...]:
    return tuple(c for c in concerns if c is not None)


def nsaid_concerns(profile: PainProfile, meds: tuple[Medication, ...]) -> tuple[Concern, ...]:
    """Why an NSAID is unsafe: age, kidneys, GI bleed, CVD, anticoagulant or antiplatelet."""
    return _present(
        _age(profile),
        _renal(profile),
        _finding(profile, "gi_bleed"),
        _finding(profile, "cardiovascular_disease"),
        _med_concern("anticoagulant", _in_class(meds, "anticoagulant")),
        _med_concern("antiplatelet", _in_class(meds, "antiplatelet")),
    )


def tca_concerns(profile: PainProfile, meds: tuple[Medication, ...]) -> tuple[Concern, ...]:
    """Why a TCA (amitriptyline) is unsafe: age, heart, bladder, glaucoma, serotonergic drugs."""
    serotonergic = tuple(
        m
        for m in meds
        if m.classes & {"serotonergic", "ssri", "snri", "maoi"} and "tca" not in m.classes
    )
    serotonergic += tuple(m for m in meds if "tramadol" in m.ingredients and m not in serotonergic)
    return _present(
        _age(profile),
        _finding(profile, "cardiac_conduction"),
        _finding(profile, "urinary_retention"),
        _finding(profile, "angle_closure_glaucoma"),
        _med_concern("serotonergic", serotonergic),
    )


def tizanidine_blockers(
    profile: PainProfile, meds: tuple[Medication, ...]
) -> tuple[tuple[Concern, ...], tuple[Concern, ...]]:
    """(contraindications, other reasons to avoid) for tizanidine."""
    contraindicated = tuple(
        m for m in meds if any(i in TIZANIDINE_CONTRAINDICATED_WITH for i in m.ingredients)
    )
    other = tuple(m for m in meds if "cyp1a2_inhibitor" in m.classes and m not in contraindicated)
    return (
        _present(_med_concern("cyp1a2_contraindicated", contraindicated)),
        _present(_med_concern("cyp1a2_other", other), _finding(profile, "hepatic_impairment")),
    )


def baclofen_renal(profile: PainProfile) -> Concern | None:
    """eGFR below 30: avoid baclofen; 30 to 59: lower dose."""
    return _renal(profile)


def gabapentinoid_concerns(
    profile: PainProfile, meds: tuple[Medication, ...]
) -> tuple[Concern, ...]:
    """Renal dosing below eGFR 60, and respiratory depression with an opioid."""
    return _present(_renal(profile), _med_concern("opioid", _in_class(meds, "opioid")))


def hepatic(profile: PainProfile) -> Concern | None:
    return _finding(profile, "hepatic_impairment")


def cns_depressants(meds: Iterable[Medication]) -> tuple[Medication, ...]:
    """Benzodiazepines, gabapentinoids and muscle relaxants: risky together with an opioid."""
    risky = {"benzodiazepine", "gabapentinoid", "antispasticity", "muscle_relaxant_other"}
    return tuple(m for m in meds if m.classes & risky)


def duplicates(order: Medication, meds: Iterable[Medication]) -> tuple[Medication, ...]:
    """Other drugs (not the same ingredient) that duplicate the order's therapy."""
    groups = (
        {"antispasticity", "muscle_relaxant_other"},
        {"gabapentinoid"},
        {"tca", "snri"},
        {"nsaid"},
    )
    out = []
    for m in meds:
        if m.resource == order.resource or set(m.ingredients) & set(order.ingredients):
            continue
        if "antiplatelet" in m.classes:
            continue  # low-dose aspirin: an NSAID risk (nsaid-risk card), not a duplicate
        if any(order.classes & g and m.classes & g for g in groups):
            out.append(m)
    return tuple(out)

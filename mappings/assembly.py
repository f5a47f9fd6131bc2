"""From what the classifier found to the `PainProfile`: evidence per concept, derived facts.

The classifier's readers fill a `Findings` (evidence per concept, implied concepts included) and
collect medications and measurements; `build_profile` turns them into the immutable profile once
per call.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

from mappings import concepts as C
from mappings.profile import (
    Duration,
    Evidence,
    Measurement,
    Medication,
    PainProfile,
    RedFlag,
    new_evidence,
)
from mappings.terminology import Terminology
from mappings.thresholds import THRESHOLDS

SUBTYPES = {"ms_spms": "SPMS", "ms_ppms": "PPMS", "ms_rrms": "RRMS"}
NEUROPATHIC_DRUG_CLASSES = frozenset({"tca", "gabapentinoid", "neuropathic_anticonvulsant"})
ANTISPASTICITY_CLASS = "antispasticity"
_FLAG_ORDER = {c: i for i, c in enumerate((*C.HARD_RED_FLAGS, *C.RISK_FACTORS))}
# A measurement as read: (date, value, unit, resource, concept, system, code, display). Only the
# latest of a concept becomes a `Measurement` (with its `Evidence`), so the rest cost a tuple.
Reading = tuple[date | None, float, str, str, str, str, str, str]


class Findings:
    """Evidence per concept, one per (concept, resource), in the order found."""

    def __init__(self, term: Terminology) -> None:
        self.term = term
        self.by_concept: dict[str, list[Evidence]] = {}
        self._seen: set[tuple[str, str]] = set()

    def add(self, concept: str, evidence: Evidence) -> None:
        for implied in self.term.closure.get(concept, (concept,)):
            key = (implied, evidence.resource)
            if key in self._seen:
                continue
            self._seen.add(key)
            if implied != evidence.concept:
                evidence = new_evidence(
                    evidence.resource,
                    implied,
                    evidence.system,
                    evidence.code,
                    evidence.display,
                    evidence.date,
                )
            self.by_concept.setdefault(implied, []).append(evidence)


def _age(birth: date | None, today: date) -> int | None:
    if birth is None or birth > today:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _latest(entries: list[Reading]) -> Measurement | None:
    dated = [e for e in entries if e[0] is not None]
    if dated:
        latest = max(dated, key=lambda e: e[0])  # type: ignore[arg-type]
    elif entries:
        latest = entries[-1]
    else:
        return None
    when, value, unit, ref, concept, system, code, display = latest
    evidence = new_evidence(ref, concept, system, code, display, when)
    return Measurement(value=value, unit=unit, date=when, evidence=evidence)


def build_profile(
    term: Terminology,
    findings: Findings,
    meds: list[Medication],
    measurements: dict[str, list[Reading]],
    pain_scores: list[Evidence],
    patient_id: str | None,
    birth: date | None,
    today: date,
) -> PainProfile:
    for med in meds:
        if med.classes & NEUROPATHIC_DRUG_CLASSES:
            findings.add(C.NEUROPATHIC, _retag(med.evidence, C.NEUROPATHIC, med.display))
        if ANTISPASTICITY_CLASS in med.classes:
            findings.add(C.SPASTICITY, _retag(med.evidence, C.SPASTICITY, med.display))

    found = findings.by_concept
    back_pain = tuple(found.get(C.BACK_PAIN, ()))
    onset_dates = [
        e.date for e in back_pain if e.date is not None and e.resource.startswith("Condition/")
    ]
    onset = min(onset_dates) if onset_dates else None
    if onset is None:
        duration = Duration.UNKNOWN
    elif (today - onset).days < THRESHOLDS.chronic_after_days:
        duration = Duration.ACUTE
    else:
        duration = Duration.SUBACUTE_CHRONIC

    musculoskeletal = back_pain
    if other := found.get(C.MUSCULOSKELETAL):
        shown = {b.resource for b in back_pain}
        musculoskeletal += tuple(e for e in other if e.resource not in shown)
    if pain_scores:
        back_pain_and_scores = back_pain + tuple(
            sorted(pain_scores, key=lambda e: e.date or today, reverse=True)
        )
    else:
        back_pain_and_scores = back_pain

    red_flags: list[RedFlag] = []
    concepts = term.concepts
    for concept, evidence in found.items():
        info = concepts.get(concept)
        if info is None or not info.is_red_flag:
            continue
        hard = info.category == "hard_red_flag"
        red_flags.extend(RedFlag(concept, info.label, hard, e) for e in evidence)
    if red_flags:
        red_flags.sort(key=lambda f: (not f.hard, _FLAG_ORDER.get(f.category, 99)))

    subtype = None
    subtype_evidence = [(e, name) for c, name in SUBTYPES.items() for e in found.get(c, ())]
    if subtype_evidence:
        subtype = max(subtype_evidence, key=lambda pair: pair[0].date or date.min)[1]

    egfr = measurements.get("egfr")
    return PainProfile(
        patient_id=patient_id,
        ms=tuple(found.get(C.MS, ())),
        ms_subtype=subtype,
        back_pain=back_pain,
        onset=onset,
        duration=duration,
        neuropathic=tuple(found.get(C.NEUROPATHIC, ())),
        spasticity=tuple(found.get(C.SPASTICITY, ())),
        musculoskeletal=musculoskeletal,
        red_flags=tuple(red_flags),
        findings=MappingProxyType({k: tuple(v) for k, v in found.items()}),
        meds=tuple(meds),
        age=_age(birth, today),
        egfr=_latest(egfr) if egfr else None,
        pain_documented=back_pain_and_scores,
    )


def _retag(evidence: Evidence, concept: str, display: str) -> Evidence:
    return new_evidence(
        evidence.resource, concept, evidence.system, evidence.code, display, evidence.date
    )


__all__ = ["Findings", "Reading", "build_profile"]

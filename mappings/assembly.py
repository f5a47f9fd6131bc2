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
        self._closure = term.closure
        self._seen: set[tuple[str, str]] = set()

    def add(
        self, concept: str, resource: str, system: str, code: str, display: str, when: date | None
    ) -> None:
        """Evidence for `concept` and each concept it implies, built only where it is new."""
        seen = self._seen
        implies = self._closure.get(concept)
        for implied in (concept,) if implies is None else implies:
            key = (implied, resource)
            if key in seen:
                continue
            seen.add(key)
            evidence = new_evidence(resource, implied, system, code, display, when)
            found = self.by_concept.get(implied)
            if found is None:
                self.by_concept[implied] = [evidence]
            else:
                found.append(evidence)


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
            findings.add(C.NEUROPATHIC, *_retagged(med))
        if ANTISPASTICITY_CLASS in med.classes:
            findings.add(C.SPASTICITY, *_retagged(med))

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


def _retagged(med: Medication) -> tuple[str, str, str, str, date | None]:
    """The evidence fields a medication lends to the concept its class implies."""
    e = med.evidence
    return e.resource, e.system, e.code, med.display, e.date


__all__ = ["Findings", "Reading", "build_profile"]

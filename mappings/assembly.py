"""From what the classifier found to the `PainProfile`: evidence per concept, derived facts.

The classifier's readers fill a `Findings` (evidence per concept, implied concepts included) and
collect medications and measurements; `build_profile` turns them into the immutable profile once
per call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from types import MappingProxyType

from mappings import concepts as C
from mappings.profile import (
    Duration,
    Evidence,
    Kidney,
    Measurement,
    Medication,
    PainProfile,
    Pregnancy,
    RedFlag,
    new_evidence,
)
from mappings.terminology import Terminology
from mappings.thresholds import THRESHOLDS as T

SUBTYPES = {"ms_spms": "SPMS", "ms_ppms": "PPMS", "ms_rrms": "RRMS"}
NEUROPATHIC_DRUG_CLASSES = frozenset({"tca", "gabapentinoid", "neuropathic_anticonvulsant"})
# A drug given for one of these (its reasonCode or reasonReference) is given for pain.
PAIN_REASONS = frozenset({C.BACK_PAIN, C.NEUROPATHIC})
# The race-free CKD-EPI 2021 eGFR (observations.csv), preferred over others of the same day.
EGFR_RACE_FREE = "egfr_race_free"
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
    dated = [(e[0], e) for e in entries if e[0] is not None]
    if dated:
        latest = max(dated, key=lambda d: d[0])[1]
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
    pain_scores: list[tuple[Evidence, float | None]],
    patient_id: str | None,
    birth: date | None,
    today: date,
    *,
    deceased: bool = False,
    deliveries: list[tuple[date, Evidence]] | None = None,
) -> PainProfile:
    found = findings.by_concept
    # Conditions that say pain, before drugs lend their evidence to the pain components.
    pain_conditions = tuple(
        e for c in (C.BACK_PAIN, C.NEUROPATHIC) for e in found.get(c, ()) if _is_condition(e)
    )
    systemic = [m for m in meds if m.route == "systemic"]
    med_findings = term.knowledge.medication_findings
    for med in systemic:
        if med.classes & NEUROPATHIC_DRUG_CLASSES and _given_for_pain(term, med, found):
            findings.add(C.NEUROPATHIC, *_retagged(med))
        if ANTISPASTICITY_CLASS in med.classes:
            findings.add(C.SPASTICITY, *_retagged(med))
        for rule in med_findings:  # a steroid course, an immunosuppressive MS drug
            if rule.drug.matches(med.ingredients, med.classes):
                findings.add(rule.concept, *_retagged(med))
    for med in meds:
        if med.route == "intrathecal" and ANTISPASTICITY_CLASS in med.classes:
            findings.add(C.SPASTICITY, *_retagged(med))  # a pump is there for spasticity

    back_pain = tuple(found.get(C.BACK_PAIN, ()))
    onset_dates = [
        e.date for e in back_pain if e.date is not None and e.resource.startswith("Condition/")
    ]
    onset = min(onset_dates) if onset_dates else None
    if onset is None:
        duration = Duration.UNKNOWN
    elif (today - onset).days < T.chronic_after_days:
        duration = Duration.ACUTE
    else:
        duration = Duration.SUBACUTE_CHRONIC

    musculoskeletal = back_pain
    if other := found.get(C.MUSCULOSKELETAL):
        shown = {b.resource for b in back_pain}
        musculoskeletal += tuple(e for e in other if e.resource not in shown)
    scores = sorted(pain_scores, key=lambda s: s[0].date or today, reverse=True)
    in_pain = tuple(e for e, value in scores if value is None or value > 0)
    shown = {e.resource for e in back_pain}
    pain_documented = back_pain + tuple(e for e in pain_conditions if e.resource not in shown)
    pain_documented += in_pain

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

    egfr = measurements.get("egfr", []) + measurements.get(EGFR_RACE_FREE, [])
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
        meds=tuple(systemic),
        age=_age(birth, today),
        egfr=_egfr(egfr) if egfr else None,
        pain_documented=pain_documented,
        pain_assessed=tuple(e for e, _ in scores),
        other_route_meds=tuple(m for m in meds if m.route != "systemic"),
        kidney=_kidney(term, found),
        pregnancy=_pregnancy(found, measurements, deliveries or [], today),
        lactation=tuple(
            e for e in found.get(C.LACTATION, ()) if _within(e, today, T.lactation_window_days)
        ),
        deceased=deceased,
        as_of=today,
    )


def _is_condition(e: Evidence) -> bool:
    return e.resource.startswith("Condition/")


def _within(e: Evidence, today: date, days: int) -> bool:
    return e.date is None or (today - e.date).days <= days


def _given_for_pain(term: Terminology, med: Medication, found: dict[str, list[Evidence]]) -> bool:
    """Is a neuropathic-pain drug evidence of neuropathic pain? Its own reason says, else the
    chart must record none of its competing indications (indications.csv): carbamazepine for
    epilepsy is not a sign of neuropathic pain."""
    if med.reasons & PAIN_REASONS:
        return True
    if med.reasons:
        return False  # given for something else (epilepsy, depression, migraine ...)
    competing = {
        i.competing
        for i in term.knowledge.indications
        if i.drug.matches(med.ingredients, med.classes)
    }
    return not any(_active(found.get(c, ())) for c in competing)


def _active(evidence: Iterable[Evidence]) -> bool:
    return any(_is_condition(e) for e in evidence)


def _egfr(entries: list[Reading]) -> Measurement | None:
    """The eGFR of the latest day: the race-free CKD-EPI 2021 result when there is one, else the
    lowest (race-specific results of one sample disagree; the lower is the safer)."""
    dated = [(e[0], e) for e in entries if e[0] is not None]
    if not dated:
        return _latest(entries)
    day = max(d for d, _ in dated)
    same_day = [e for d, e in dated if d == day]
    preferred = [e for e in same_day if e[4] == EGFR_RACE_FREE] or same_day
    return _latest([min(preferred, key=lambda e: e[1])])


def _kidney(term: Terminology, found: dict[str, list[Evidence]]) -> Kidney | None:
    """The strictest kidney state the chart's codes record (kidney_codes.csv), if any."""
    best: Kidney | None = None
    for row in term.knowledge.kidney_codes:
        evidence = found.get(row.concept)
        if not evidence:
            continue
        if best is None or (row.egfr_below, not row.overrides) < (
            best.egfr_below,
            not best.overrides,
        ):
            best = Kidney(row.egfr_below, row.overrides, row.label, tuple(evidence))
    return best


def _pregnancy(
    found: dict[str, list[Evidence]],
    measurements: dict[str, list[Reading]],
    deliveries: list[tuple[date, Evidence]],
    today: date,
) -> Pregnancy | None:
    """A current pregnancy, with today's weeks of gestation when any record gives them.

    Weeks come from a Z3A code (weeks at its date), a gestational-age Observation (weeks or days)
    or an expected delivery date (40 weeks on that day), each carried forward to today. A record
    that would put today beyond 42 weeks is an old pregnancy, not a current one.
    """
    limit = T.pregnancy_max_weeks
    dated: list[tuple[float, Evidence]] = []  # (weeks today, evidence)
    for e in found.get(C.WEEKS_OF_GESTATION, ()):
        weeks = _z3a_weeks(e.code)
        if weeks is not None and e.date is not None:
            dated.append((weeks + (today - e.date).days / 7, e))
    for when, value, unit, ref, concept, system, code, display in measurements.get(
        C.GESTATIONAL_AGE, ()
    ):
        if when is None:
            continue
        weeks = value / 7 if unit.strip().lower() in ("d", "day", "days") else value
        evidence = new_evidence(ref, concept, system, code, display, when)
        dated.append((weeks + (today - when).days / 7, evidence))
    for due, evidence in deliveries:
        dated.append((40 - (due - today).days / 7, evidence))
    current = [(w, e) for w, e in dated if 0 <= w <= limit]
    stated = [e for e in found.get(C.PREGNANCY, ()) if _within(e, today, int(limit * 7))]
    if current:
        weeks, evidence = max(current, key=lambda pair: pair[1].date or date.min)
        return Pregnancy(round(weeks, 1), (evidence, *stated))
    if stated and not dated:
        return Pregnancy(None, tuple(stated))
    return None


def _z3a_weeks(code: str) -> float | None:
    """Weeks from an ICD-10-CM Z3A code: Z3A.32 is 32 weeks; Z3A.01 (under 8 weeks) counts as 4,
    Z3A.00 and Z3A.49 (unspecified, over 42) give none."""
    digits = code.upper().replace(".", "").removeprefix("Z3A")
    if not digits.isdigit():
        return None
    weeks = int(digits)
    if weeks == 1:
        return 4.0
    return float(weeks) if 8 <= weeks <= 42 else None


def _retagged(med: Medication) -> tuple[str, str, str, str, date | None]:
    """The evidence fields a medication lends to the concept its class implies."""
    e = med.evidence
    return e.resource, e.system, e.code, med.display, e.date


__all__ = ["Findings", "Reading", "build_profile"]

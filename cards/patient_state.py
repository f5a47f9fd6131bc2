"""Does a patient-state condition of the safety tables hold for this patient, and on what evidence?

The tables (`mappings/data/medication_safety/`) name states such as `age>=65`, `egfr<30`,
`pregnant`, `pregnancy_weeks>=30`, `lactating` or a concept id (`gi_bleed`). This module answers
each for one profile, with the words and evidence a card quotes. Kidney function is read from a
recent eGFR first, else from the CKD stage or dialysis recorded (docs/safety-rules.md); an unknown
value never makes a state hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cards.content import FACTS
from mappings import short_names
from mappings.knowledge import Condition
from mappings.profile import Evidence, PainProfile


@dataclass(frozen=True, slots=True)
class Fact:
    """A state that holds: how to say it on a card, and why it is believed."""

    text: str
    evidence: tuple[Evidence, ...] = ()


def egfr_text(p: PainProfile) -> str:
    """ "eGFR 38 mL/min/1.73 m² (2026-10-01)": rounded as reported, with a readable unit
    (`mappings.short_names`)."""
    e = p.egfr
    if e is None:
        return ""
    _, value, unit = short_names.measurement(e)
    if e.date:
        return FACTS["egfr_dated"].format(value=value, unit=unit, date=e.date.isoformat())
    return FACTS["egfr"].format(value=value, unit=unit)


def egfr_evidence(p: PainProfile) -> Evidence | None:
    """The eGFR's evidence, displayed as its result ("eGFR 38 mL/min/1.73 m²") rather than the
    code's long name: what a card quotes under "Why this card"."""
    e = p.egfr
    if e is None:
        return None
    return replace(e.evidence, display=short_names.measured(e))


def kidney_fact(p: PainProfile) -> tuple[float, Fact] | None:
    """(the eGFR to compare with a limit, how to say it) from what the chart records, or None.

    A recorded dialysis or end-stage disease holds whatever a measured eGFR says; a CKD stage
    stands in for a missing eGFR (stage 4: below 30); else the recent eGFR.
    """
    try:
        remembered: tuple[float, Fact] | None = p.memo[kidney_fact]
        return remembered
    except KeyError:
        found = p.memo[kidney_fact] = _kidney_fact(p)
        return found


def _kidney_fact(p: PainProfile) -> tuple[float, Fact] | None:
    k, e = p.kidney, p.egfr
    if k is not None and (k.overrides or e is None):
        shown = k.evidence[0]
        when = f", {shown.date.isoformat()}" if shown.date else ""
        missing = "" if e is not None else f"; {FACTS['no_egfr']}"
        text = FACTS["kidney"].format(label=k.label, shown=f"{shown.display}{when}{missing}")
        # Below the bound: compare as the bound minus a little, so "egfr<30" holds for stage 4.
        return k.egfr_below - 0.5, Fact(text, k.evidence)
    if e is not None:
        measured = egfr_evidence(p)
        return e.value, Fact(egfr_text(p), (e.evidence,) if measured is None else (measured,))
    return None


def kidney_unknown(p: PainProfile) -> bool:
    """No recent eGFR and no kidney diagnosis: the chart cannot tell."""
    return p.egfr is None and p.kidney is None


def holds(condition: Condition, p: PainProfile) -> Fact | None:
    """The fact that makes `condition` hold for this patient, or None (also when unknown);
    worked out once per profile."""
    memo, key = p.memo, id(condition)  # conditions live as long as the tables
    try:
        remembered: Fact | None = memo[key]
        return remembered
    except KeyError:
        found = memo[key] = _holds(condition, p)
        return found


def _holds(condition: Condition, p: PainProfile) -> Fact | None:
    name, op, value = condition.name, condition.op, condition.value
    if name == "age":
        if p.age is None or not _compare(p.age, op, value):
            return None
        return Fact(FACTS["age"].format(age=p.age))
    if name == "egfr":
        found = kidney_fact(p)
        if found is None or not _compare(found[0], op, value):
            return None
        return found[1]
    if name == "pregnant":
        return _pregnancy_fact(p) if p.pregnancy is not None else None
    if name == "pregnancy_weeks":
        weeks = p.pregnancy.weeks if p.pregnancy is not None else None
        if weeks is None or not _compare(weeks, op, value):
            return None
        return _pregnancy_fact(p)
    if name == "lactating":
        return Fact(FACTS["lactating"], p.lactation) if p.lactation else None
    if name == "dialysis":
        k = p.kidney
        return Fact(k.label, k.evidence) if k is not None and k.overrides else None
    found_evidence = p.findings.get(name)
    if not found_evidence:
        return None
    return Fact(found_evidence[0].display, found_evidence)


def known(p: PainProfile) -> frozenset[str]:
    """The state names this patient has a value for (age, eGFR, pregnancy, recorded concepts):
    a condition on any other name cannot hold. Worked out once per profile."""
    found: frozenset[str] | None = p.memo.get(known)
    if found is None:
        names = set(p.findings)
        if p.age is not None:
            names.add("age")
        if p.egfr is not None or p.kidney is not None:
            names.add("egfr")
        if p.kidney is not None and p.kidney.overrides:
            names.add("dialysis")
        if p.pregnancy is not None:
            names.update(("pregnant", "pregnancy_weeks"))
        if p.lactation:
            names.add("lactating")
        found = p.memo[known] = frozenset(names)
    return found


def all_hold(conditions: tuple[Condition, ...], p: PainProfile) -> Fact | None:
    """One fact for several conditions joined by "&" (None unless every one holds)."""
    if len(conditions) == 1:
        return holds(conditions[0], p)
    facts = []
    for condition in conditions:
        fact = holds(condition, p)
        if fact is None:
            return None
        facts.append(fact)
    if not facts:
        return Fact("")
    return Fact(", ".join(f.text for f in facts), tuple(e for f in facts for e in f.evidence))


def _pregnancy_fact(p: PainProfile) -> Fact:
    assert p.pregnancy is not None
    weeks = p.pregnancy.weeks
    if weeks is None:
        return Fact(FACTS["pregnant"], p.pregnancy.evidence)
    text = FACTS["pregnant_weeks"].format(weeks=f"{weeks:.0f}")
    return Fact(text, p.pregnancy.evidence)


def _compare(left: float, op: str, right: float) -> bool:
    return left < right if op == "<" else left >= right

"""Medication-safety checks (clinical rules section 5): the tables of `mappings.knowledge`, applied.

One set of checks serves both what the service suggests and what the clinician orders, so a
suggestion never earns a warning once ordered. Every check reads systemic products only (local and
intrathecal products are in `PainProfile.other_route_meds`), runs whichever drug of a pair is
being checked, and returns `Concern`s that carry their severity, wording and evidence. The facts
(which pairs, which states, which limits) are rows of the data files; this module holds no drug
names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cards.content import CONCERNS, SEVERITY_WORDS
from cards.patient_state import all_hold, kidney_unknown
from mappings.knowledge import DoseLimit, Knowledge
from mappings.loader import load_terminology
from mappings.profile import Evidence, Medication, PainProfile

SEVERITY_RANK = {"contraindicated": 0, "avoid": 1, "caution": 2}
BLOCKING = frozenset({"contraindicated", "avoid"})  # never suggested


@dataclass(frozen=True, slots=True)
class Drug:
    """What a check is about: a suggestion's product, a draft order or an active medication."""

    ingredients: tuple[str, ...]
    classes: frozenset[str]
    resource: str = ""  # the medication's own reference, so it is never paired with itself


@dataclass(frozen=True, slots=True)
class Concern:
    key: str  # "interaction", "state", "cumulative", "route"
    text: str
    severity: str = "caution"  # contraindicated, avoid or caution
    evidence: tuple[Evidence, ...] = ()
    card: str = ""  # for a contraindicated pair: the card that reports it
    partner: Medication | None = None  # the other drug of an interacting pair

    @property
    def blocks(self) -> bool:
        return self.severity in BLOCKING


def knowledge() -> Knowledge:
    return load_terminology().knowledge


def drug_of(med: Medication) -> Drug:
    return Drug(med.ingredients, med.classes, med.resource)


def product(ingredient: str) -> Drug:
    """A product the cards may suggest, as the tables see it (its ingredient's classes)."""
    return Drug((ingredient,), load_terminology().ingredient_classes.get(ingredient, frozenset()))


class MedIndex:
    """Medications by ingredient and by class, built once per call, so that checking every
    order against every other costs the matches, not the product of the two lists."""

    def __init__(self, meds: Iterable[Medication]) -> None:
        self.by_key: dict[tuple[str, str], list[Medication]] = {}
        for med in meds:
            if not med.systemic:
                continue
            for ingredient in med.ingredients:
                self.by_key.setdefault(("ingredient", ingredient), []).append(med)
            for drug_class in med.classes:
                self.by_key.setdefault(("class", drug_class), []).append(med)

    def get(self, kind: str, name: str) -> list[Medication]:
        return self.by_key.get((kind, name), [])


def interactions(drug: Drug, others: MedIndex) -> list[Concern]:
    """Every interaction row between `drug` and a medication of `others`, either way round."""
    found: dict[tuple[int, str], Concern] = {}
    for row, other_side in knowledge().interactions_for(drug.ingredients, drug.classes):
        for med in others.get(other_side.kind, other_side.name):
            if med.resource == drug.resource or set(med.ingredients) & set(drug.ingredients):
                continue  # the same drug: a renewal or dose change, not an interaction
            if row.not_if is not None and row.not_if.matches(med.ingredients, med.classes):
                continue
            key = (row.row.line, med.resource)
            if key in found:
                continue
            text = CONCERNS["interaction"].format(
                severity=SEVERITY_WORDS[row.severity], what=med.display, effect=row.effect
            )
            found[key] = Concern(
                "interaction", text, row.severity, (med.evidence,), row.card, partner=med
            )
    return sorted(found.values(), key=lambda c: SEVERITY_RANK[c.severity])


def state_concerns(drug: Drug, p: PainProfile) -> list[Concern]:
    """Every patient-state row that holds for `drug` (the most specific of a kind: at eGFR 24
    the eGFR-below-30 row, not the eGFR-below-60 one as well)."""
    chosen: dict[tuple[str, ...], tuple[tuple[int, float], Concern]] = {}
    for rule in knowledge().state_rules:
        if not rule.drug.matches(drug.ingredients, drug.classes):
            continue
        fact = all_hold(rule.state, p)
        if fact is None:
            continue
        kind = (str(rule.drug), *sorted(c.name for c in rule.state))
        strictness = sum(c.value if c.op == ">=" else -c.value for c in rule.state)
        rank = (SEVERITY_RANK[rule.severity], -strictness)
        text = CONCERNS["state"].format(
            severity=SEVERITY_WORDS[rule.severity], fact=fact.text, effect=rule.effect
        )
        concern = Concern("state", text, rule.severity, fact.evidence)
        if kind not in chosen or rank < chosen[kind][0]:
            chosen[kind] = (rank, concern)
    return sorted((c for _, c in chosen.values()), key=lambda c: SEVERITY_RANK[c.severity])


def concerns(drug: Drug, p: PainProfile, others: MedIndex) -> list[Concern]:
    """State and interaction concerns together, most severe first."""
    found = state_concerns(drug, p) + interactions(drug, others)
    return sorted(found, key=lambda c: SEVERITY_RANK[c.severity])


def blocking(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if c.blocks]


def cautions(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if not c.blocks]


def kidney_check(p: PainProfile, drug: Drug) -> str | None:
    """Say what is unknown: no eGFR in 12 months and no kidney diagnosis, for a drug whose
    safety depends on kidney function (any row of the tables reads its eGFR)."""
    if not kidney_unknown(p):
        return None
    k = knowledge()
    renal = any(
        r.drug.matches(drug.ingredients, drug.classes) and any(c.name == "egfr" for c in r.state)
        for r in k.state_rules
    ) or any(d.ingredient in drug.ingredients and d.state for d in k.dose_limits)
    return CONCERNS["kidney_unknown"] if renal else None


@dataclass(frozen=True, slots=True)
class Limit:
    ingredient: str
    max_mg: float
    row: DoseLimit
    why: str  # the state that sets it ("" for the adult maximum)


def daily_limit(ingredient: str, p: PainProfile) -> Limit | None:
    """The lowest daily maximum of `ingredient` whose state holds for this patient."""
    best: Limit | None = None
    for row in knowledge().dose_limits:
        if row.ingredient != ingredient:
            continue
        fact = all_hold(row.state, p)
        if fact is None:
            continue
        if best is None or row.max_mg_per_day < best.max_mg:
            best = Limit(ingredient, row.max_mg_per_day, row, fact.text)
    return best


@dataclass(frozen=True, slots=True)
class DoseProblem:
    """A daily total above the patient's maximum, with every source that adds to it."""

    ingredient: str
    total_mg: float
    limit: Limit
    sources: tuple[tuple[Medication, float, str], ...]  # (medication, mg a day, how)


def dose_problems(
    med: Medication, p: PainProfile, others: MedIndex
) -> tuple[list[DoseProblem], list[Concern]]:
    """(totals above the maximum, cautions where another source's dose cannot be computed).

    The total of an ingredient adds every active or co-ordered systemic source of it (an
    acetaminophen order on top of hydrocodone/acetaminophen), so the limit is for the patient,
    not for one product. A second order of the very same product is read as replacing the first.
    """
    problems: list[DoseProblem] = []
    unknown: list[Concern] = []
    if not med.systemic:
        return problems, unknown
    for ingredient in med.ingredients:
        limit = daily_limit(ingredient, p)
        if limit is None:
            continue
        sources: list[tuple[Medication, float, str]] = []
        own = med.daily is not None and ingredient in med.daily.mg
        if own:
            assert med.daily is not None
            sources.append((med, med.daily.mg[ingredient], med.daily.how))
        # Another product with the ingredient adds to the total; the same product again is a
        # renewal or a dose change, which replaces the active one rather than adding to it.
        also = [
            o
            for o in others.get("ingredient", ingredient)
            if o.resource != med.resource and o.ingredients != med.ingredients
        ]
        untold = False
        for other in also:
            if other.daily is not None and ingredient in other.daily.mg:
                sources.append((other, other.daily.mg[ingredient], other.daily.how))
            else:
                untold = True
        total = sum(mg for _, mg, _ in sources)
        if own and total > limit.max_mg:
            problems.append(DoseProblem(ingredient, total, limit, tuple(sources)))
        elif also and (untold or not own):
            what = ", ".join(dict.fromkeys(m.display for m in also))
            text = CONCERNS["cumulative"].format(
                ingredient=ingredient, what=what, limit=f"{limit.max_mg:,.0f}"
            )
            unknown.append(Concern("cumulative", text, "caution", tuple(m.evidence for m in also)))
    return problems, unknown

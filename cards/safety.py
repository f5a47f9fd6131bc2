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
from dataclasses import dataclass, replace

from cards.content import CONCERNS, SEVERITY_WORDS
from cards.patient_state import all_hold, kidney_unknown, known
from mappings.dosing import dose_of
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


def product(ingredient: str, tables: Knowledge | None = None) -> Drug:
    """A product the cards may suggest, as the tables see it (its ingredient's classes)."""
    tables = tables if tables is not None else knowledge()
    found = _products.get((id(tables), ingredient))
    if found is None or found[0] is not tables:
        drug = Drug((ingredient,), tables.classes_of.get(ingredient, frozenset()))
        found = _products[(id(tables), ingredient)] = (tables, drug)
    return found[1]


# The products the cards propose, as Drugs: a handful, made once per set of tables.
_products: dict[tuple[int, str], tuple[Knowledge, Drug]] = {}


class MedIndex:
    """Medications by ingredient and by class, built once per call, so that checking every
    order against every other costs the matches, not the product of the two lists. It carries
    the tables, looked up once."""

    def __init__(self, meds: Iterable[Medication], tables: Knowledge | None = None) -> None:
        self.knowledge = tables if tables is not None else knowledge()
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


def index_of(p: PainProfile) -> MedIndex:
    """The patient's own medications, indexed once per profile."""
    found = p.memo.get(MedIndex)
    if found is None:
        found = p.memo[MedIndex] = MedIndex(p.meds)
    return found  # type: ignore[return-value]


def interactions(drug: Drug, others: MedIndex) -> list[Concern]:
    """Every interaction row between `drug` and a medication of `others`, either way round."""
    partners = others.knowledge.partners_of(drug.ingredients, drug.classes)
    by_key = others.by_key
    if len(partners) > len(by_key):  # walk the shorter side: usually the patient's few drugs
        pairs = [(rows, by_key[k]) for k, rows in ((k, partners.get(k)) for k in by_key) if rows]
    else:
        pairs = [(rows, by_key[k]) for k, rows in partners.items() if k in by_key]
    if not pairs:
        return []
    found: dict[tuple[int, str], Concern] = {}
    for rows, meds in pairs:
        for row in rows:
            for med in meds:
                if med.resource == drug.resource or any(
                    i in med.ingredients for i in drug.ingredients
                ):
                    continue  # the same drug: a renewal or dose change, not an interaction
                if row.not_if is not None and row.not_if.matches(med.ingredients, med.classes):
                    continue
                key = (row.row.line, med.display)  # two requests of one drug: one line
                same = found.get(key)
                if same is not None:
                    found[key] = replace(same, evidence=(*same.evidence, med.evidence))
                    continue
                text = CONCERNS["interaction"].format(
                    severity=SEVERITY_WORDS[row.severity], what=med.display, effect=row.effect
                )
                found[key] = Concern(
                    "interaction", text, row.severity, (med.evidence,), row.card, partner=med
                )
    ordered = [found[k] for k in sorted(found)]  # file order, then the drug
    return _by_severity(ordered)


def _by_severity(found: list[Concern]) -> list[Concern]:
    if len(found) > 1:
        found.sort(key=lambda c: SEVERITY_RANK[c.severity])
    return found


def state_concerns(drug: Drug, p: PainProfile, tables: Knowledge | None = None) -> list[Concern]:
    """Every patient-state row that holds for `drug` (the most specific of a kind: at eGFR 24
    the eGFR-below-30 row, not the eGFR-below-60 one as well); worked out once per profile."""
    key = ("state", drug.ingredients, drug.classes)
    found = p.memo.get(key)
    if found is None:
        found = p.memo[key] = _state_concerns(drug, p, tables or index_of(p).knowledge)
    return found  # type: ignore[return-value]


def _state_concerns(drug: Drug, p: PainProfile, tables: Knowledge) -> list[Concern]:
    chosen: dict[tuple[str, ...], tuple[tuple[int, float], Concern]] = {}
    present = known(p)
    for rule in tables.state_rules_for(drug.ingredients, drug.classes):
        if not rule.names <= present:
            continue  # the chart records nothing this row reads
        fact = all_hold(rule.state, p)
        if fact is None:
            continue
        rank = (SEVERITY_RANK[rule.severity], -rule.strictness)
        if rule.kind in chosen and rank >= chosen[rule.kind][0]:
            continue
        text = CONCERNS["state"].format(
            severity=SEVERITY_WORDS[rule.severity], fact=fact.text, effect=rule.effect
        )
        chosen[rule.kind] = (rank, Concern("state", text, rule.severity, fact.evidence))
    return _by_severity([c for _, c in chosen.values()])


def concerns(drug: Drug, p: PainProfile, others: MedIndex) -> list[Concern]:
    """State and interaction concerns together, most severe first."""
    return _by_severity(state_concerns(drug, p, others.knowledge) + interactions(drug, others))


def blocking(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if c.blocks]


def cautions(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if not c.blocks]


def kidney_check(p: PainProfile, drug: Drug) -> str | None:
    """Say what is unknown: no eGFR in 12 months and no kidney diagnosis, for a drug whose
    safety depends on kidney function (any row of the tables reads its eGFR)."""
    if not kidney_unknown(p):
        return None
    k = index_of(p).knowledge
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
    for row in index_of(p).knowledge.limits_for(ingredient):
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
        daily = dose_of(med)
        own = daily is not None and ingredient in daily.mg
        if daily is not None and own:
            sources.append((med, daily.mg[ingredient], daily.how))
        # Another product with the ingredient adds to the total; the same product again is a
        # renewal or a dose change, which replaces the active one rather than adding to it.
        also = [
            o
            for o in others.get("ingredient", ingredient)
            if o.resource != med.resource and o.ingredients != med.ingredients
        ]
        untold = False
        for other in also:
            other_daily = dose_of(other)
            if other_daily is not None and ingredient in other_daily.mg:
                sources.append((other, other_daily.mg[ingredient], other_daily.how))
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

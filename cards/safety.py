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
from typing import Any

import orjson

from cards.content import CONCERNS, SEVERITY_WORDS
from cards.patient_state import all_hold, kidney_unknown, known
from mappings.dosing import dose_of
from mappings.knowledge import DoseLimit, Interaction, Knowledge
from mappings.loader import load_terminology
from mappings.profile import DailyDose, Evidence, Medication, PainProfile

SEVERITY_RANK = {"contraindicated": 0, "avoid": 1, "caution": 2}
BLOCKING = frozenset({"contraindicated", "avoid"})  # never suggested

# What the checks of a medication read of it (`MedIndex.shape`): ingredients, classes, route,
# whether it has a dosage, its own reference where another drug shares it, and its daily dose
# (mg per ingredient, and how that was worked out).
Shape = tuple[
    tuple[str, ...],
    frozenset[str],
    str,
    bool,
    tuple[str, ...],
    tuple[tuple[tuple[str, float], ...], str] | None,
]


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
    # An interaction's other drug: each request of it quoted (the first names it).
    partners: tuple[Medication, ...] = ()

    @property
    def blocks(self) -> bool:
        return self.severity in BLOCKING

    @property
    def partner(self) -> Medication | None:
        return self.partners[0] if self.partners else None


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


# A concern quotes at most this many draft orders of one interaction row, and this many of the
# patient's medications; a dose check lists as many of each of the other sources of an ingredient
# (its total adds them all): however many drafts a call carries, or medications a chart lists,
# each check, and the card that shows it, stays this size.
MAX_QUOTED = 10
DRAFT = "draft"  # the status of a draft order's medication (mappings.orders)


_UNSET = object()


class MedIndex:
    """Medications by ingredient and by class, built once per call, so that checking every
    order against every other costs the matches, not the product of the two lists. It carries
    the tables, looked up once, and remembers each drug's answers: a call with thousands of
    drafts of a few drugs checks each drug once."""

    def __init__(self, meds: Iterable[Medication], tables: Knowledge | None = None) -> None:
        self.knowledge = tables if tables is not None else knowledge()
        self.by_key: dict[tuple[str, str], list[Medication]] = {}
        # The ingredients of the medications at each reference: a drug is never paired with its
        # own request, which matters only where one reference holds two different drugs.
        self.at: dict[str, set[tuple[str, ...]]] = {}
        # Answers by key; each key's first item names the answer, whose type its readers state.
        self.memo: dict[tuple[object, ...], Any] = {}
        for med in meds:
            if not med.systemic:
                continue
            self.at.setdefault(med.resource, set()).add(med.ingredients)
            for ingredient in med.ingredients:
                self.by_key.setdefault(("ingredient", ingredient), []).append(med)
            for drug_class in med.classes:
                self.by_key.setdefault(("class", drug_class), []).append(med)

    def get(self, kind: str, name: str) -> list[Medication]:
        return self.by_key.get((kind, name), [])

    def own(self, ingredients: tuple[str, ...], resource: str) -> tuple[str, ...]:
        """What a drug's answers depend on besides its ingredients and classes: its reference,
        when another drug shares it (else the ingredients already tell its own request)."""
        at = self.at.get(resource)
        return () if at is None or (ingredients and at == {ingredients}) else (resource,)

    def dose(self, med: Medication) -> DailyDose | None:
        """`dose_of(med)`, worked out once per call for each product and dosage (an order set
        repeats a few of them many times)."""
        if not med.dosage:
            return None
        mine = ("dose-of", id(med))  # the same drug asked again
        known: tuple[Medication, DailyDose | None] | None = self.memo.get(mine)
        if known is not None and known[0] is med:
            return known[1]
        try:
            written = orjson.dumps(med.dosage)
        except TypeError:  # not JSON as read: worked out each time
            return dose_of(med)
        key = ("dose", med.product, med.ingredients, med.dose_form, written)
        found: Any = self.memo.get(key, _UNSET)
        if found is _UNSET:
            found = self.memo[key] = dose_of(med, self.memo)
        self.memo[mine] = (med, found)
        answer: DailyDose | None = found
        return answer

    def shape(self, med: Medication) -> Shape:
        """What the checks of `med` against this index read of it, as a key: its drug, route,
        reference (where another drug shares it) and daily dose, not the words that gave the
        dose. Drafts of one shape have the same concerns."""
        key = ("shape", id(med))
        found: tuple[Medication, Shape] | None = self.memo.get(key)
        if found is None or found[0] is not med:
            daily = self.dose(med)
            dose = None if daily is None else (tuple(daily.mg.items()), daily.how)
            own = self.own(med.ingredients, med.resource)
            shape = (med.ingredients, med.classes, med.route, bool(med.dosage), own, dose)
            found = self.memo[key] = (med, shape)
        return found[1]


def index_of(p: PainProfile) -> MedIndex:
    """The patient's own medications, indexed once per profile."""
    found: MedIndex | None = p.memo.get(MedIndex)
    if found is None:
        found = p.memo[MedIndex] = MedIndex(p.meds)
    return found


def interactions(drug: Drug, others: MedIndex, without: Medication | None = None) -> list[Concern]:
    """Every interaction row between `drug` and a medication of `others` (`without` one of
    them: what stays once that order is removed), either way round; worked out once per drug
    and call."""
    own = others.own(drug.ingredients, drug.resource)
    key = ("interactions", drug.ingredients, drug.classes, own)
    found: list[Concern] | None = others.memo.get(key)
    if found is None:
        found = others.memo[key] = _interactions(drug, others)
    if without is None:
        return found
    return _without(found, without)


def _interactions(drug: Drug, others: MedIndex) -> list[Concern]:
    partners = others.knowledge.partners_of(drug.ingredients, drug.classes)
    by_key = others.by_key
    if len(partners) > len(by_key):  # walk the shorter side: usually the patient's few drugs
        pairs = [(rows, by_key[k]) for k, rows in ((k, partners.get(k)) for k in by_key) if rows]
    else:
        pairs = [(rows, by_key[k]) for k, rows in partners.items() if k in by_key]
    if not pairs:
        return []
    found: dict[tuple[int, str], tuple[Interaction, list[Medication]]] = {}
    own = set(drug.ingredients)
    for rows, meds in pairs:
        for row in rows:
            quoted = [0, 0]  # of the patient's medications, of the drafts
            for med in meds:
                draft = med.status == DRAFT
                if quoted[draft] == MAX_QUOTED:
                    continue  # this row has quoted enough of these
                if med.resource == drug.resource or not own.isdisjoint(med.ingredients):
                    continue  # the same drug: a renewal or dose change, not an interaction
                if row.not_if is not None and row.not_if.matches(med.ingredients, med.classes):
                    continue
                quoted[draft] += 1
                key = (row.row.line, med.display)  # two requests of one drug: one line
                found.setdefault(key, (row, []))[1].append(med)
    ordered = []
    for key in sorted(found):  # file order, then the drug
        row, meds = found[key]
        text = CONCERNS["interaction"].format(
            severity=SEVERITY_WORDS[row.severity], what=meds[0].display, effect=row.effect
        )
        evidence = tuple(m.evidence for m in meds)
        ordered.append(Concern("interaction", text, row.severity, evidence, row.card, tuple(meds)))
    return _by_severity(ordered)


def _without(found: list[Concern], med: Medication) -> list[Concern]:
    """The concerns less those of `med`: each keeps its other requests, if any."""
    out = []
    for c in found:
        if not any(m is med for m in c.partners):
            out.append(c)
        elif kept := tuple(m for m in c.partners if m is not med):
            out.append(replace(c, evidence=tuple(m.evidence for m in kept), partners=kept))
    return out


def _by_severity(found: list[Concern]) -> list[Concern]:
    if len(found) > 1:
        found.sort(key=lambda c: SEVERITY_RANK[c.severity])
    return found


def state_concerns(drug: Drug, p: PainProfile, tables: Knowledge | None = None) -> list[Concern]:
    """Every patient-state row that holds for `drug` (the most specific of a kind: at eGFR 24
    the eGFR-below-30 row, not the eGFR-below-60 one as well); worked out once per profile."""
    key = ("state", drug.ingredients, drug.classes)
    found: list[Concern] | None = p.memo.get(key)
    if found is None:
        found = p.memo[key] = _state_concerns(drug, p, tables or index_of(p).knowledge)
    return found


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


def concerns(
    drug: Drug, p: PainProfile, others: MedIndex, without: Medication | None = None
) -> list[Concern]:
    """State and interaction concerns together, most severe first (`without`: as for
    `interactions`)."""
    found = state_concerns(drug, p, others.knowledge) + interactions(drug, others, without)
    return _by_severity(found)


def blocking(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if c.blocks]


def cautions(found: Sequence[Concern]) -> list[Concern]:
    return [c for c in found if not c.blocks]


def kidney_check(p: PainProfile, drug: Drug) -> str | None:
    """Say what is unknown: no eGFR in 12 months and no kidney diagnosis, for a drug whose
    safety depends on kidney function (any row of the tables reads its eGFR)."""
    if not kidney_unknown(p):
        return None
    key = ("renal", drug.ingredients, drug.classes)
    renal: bool | None = p.memo.get(key)
    if renal is None:
        k = index_of(p).knowledge
        renal = p.memo[key] = any(
            r.drug.matches(drug.ingredients, drug.classes)
            and any(c.name == "egfr" for c in r.state)
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
    """The lowest daily maximum of `ingredient` whose state holds for this patient; worked out
    once per profile."""
    key = ("limit", ingredient)
    if key in p.memo:
        remembered: Limit | None = p.memo[key]
        return remembered
    best: Limit | None = None
    for row in index_of(p).knowledge.limits_for(ingredient):
        fact = all_hold(row.state, p)
        if fact is None:
            continue
        if best is None or row.max_mg_per_day < best.max_mg:
            best = Limit(ingredient, row.max_mg_per_day, row, fact.text)
    p.memo[key] = best
    return best


@dataclass(frozen=True, slots=True)
class DoseProblem:
    """A daily total above the patient's maximum, with the sources that add to it."""

    ingredient: str
    total_mg: float
    limit: Limit
    # (medication, mg a day, how): the order, then the others (up to MAX_QUOTED drafts)
    sources: tuple[tuple[Medication, float, str], ...]
    unlisted: int = 0  # further sources, in the total but not listed
    unlisted_mg: float = 0.0  # what they add a day


@dataclass(frozen=True, slots=True)
class _Pool:
    """The other sources of an ingredient for one product, added up once per call."""

    sources: tuple[tuple[Medication, float, str], ...]  # those listed, with their dose
    unlisted: int  # sources past MAX_QUOTED with a dose: in the total, not listed
    unlisted_mg: float
    also: tuple[Medication, ...]  # those listed, whether or not their dose is known
    untold: bool  # the dose of one of them cannot be computed


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
        pool = _pool(ingredient, med, others)
        daily = others.dose(med)
        sources = (
            [(med, daily.mg[ingredient], daily.how), *pool.sources]
            if daily is not None and ingredient in daily.mg
            else []
        )
        own = bool(sources)  # the order's own dose is known: it is the first source
        total = sum(mg for _, mg, _ in sources)
        if pool.unlisted:
            total += pool.unlisted_mg
        if own and total > limit.max_mg:
            found = (ingredient, total, limit, tuple(sources), pool.unlisted, pool.unlisted_mg)
            problems.append(DoseProblem(*found))
        elif pool.also and (pool.untold or not own):
            what = ", ".join(dict.fromkeys(m.display for m in pool.also))
            text = CONCERNS["cumulative"].format(
                ingredient=ingredient, what=what, limit=f"{limit.max_mg:,.0f}"
            )
            evidence = tuple(m.evidence for m in pool.also)
            unknown.append(Concern("cumulative", text, "caution", evidence))
    return problems, unknown


def _pool(ingredient: str, med: Medication, others: MedIndex) -> _Pool:
    """Every other source of `ingredient` in `others`: another product with it adds to the
    total; the same product again is a renewal or a dose change, which replaces the active one
    rather than adding to it."""
    key = ("pool", ingredient, med.ingredients, others.own(med.ingredients, med.resource))
    found: _Pool | None = others.memo.get(key)
    if found is not None:
        return found
    sources: list[tuple[Medication, float, str]] = []
    also: list[Medication] = []
    quoted = [0, 0]  # of the patient's medications, of the drafts
    unlisted, unlisted_mg, untold = 0, 0.0, False
    for other in others.get("ingredient", ingredient):
        if other.resource == med.resource or other.ingredients == med.ingredients:
            continue
        draft = other.status == DRAFT
        listed = quoted[draft] < MAX_QUOTED
        quoted[draft] += 1
        if listed:
            also.append(other)
        daily = others.dose(other)
        if daily is None or ingredient not in daily.mg:
            untold = True
        elif listed:
            sources.append((other, daily.mg[ingredient], daily.how))
        else:
            unlisted += 1
            unlisted_mg += daily.mg[ingredient]
    found = _Pool(tuple(sources), unlisted, unlisted_mg, tuple(also), untold)
    others.memo[key] = found
    return found

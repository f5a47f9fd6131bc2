"""Card `dose-above-maximum`: the daily dose is above the maximum for this patient.

When: a focused draft of a systemic drug whose daily dose can be computed (dose x frequency,
    or its text; as needed counts as its stated maximum) and, added to every other active or
    co-ordered source of the same ingredient (another product; the same product again replaces
    it), is above the lowest maximum whose state holds for the patient (adult, kidney, liver and
    age bands). One card per ingredient over its limit.
Then: a warning card: the total, the ingredient and the limit (and the state that sets it, and
    the row's source); each source with its dose (past `cards.safety.MAX_QUOTED` other drafts,
    how many more and what they add); reduce the dose or frequency, or stop another source.
    Proposes nothing.
Source: drug labels via mappings/data/medication_safety/dose_limits.csv (source column quoted).
Reads: the draft's medication and dosage (`dosageInstruction`, mappings.dosing); active and
    co-ordered medications of the same ingredient; dose_limits.csv with the states it names
    (profile `age`, `egfr`, `kidney`, findings; kidney_codes.csv).
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, plain
from cards.content import CARDS, CONCERNS
from cards.rules._order import Context, draft, med
from cards.rules._shared import sentence
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder, Medication

KINDS = ("dose-above-maximum",)


def dose_above_maximum(ctx: Context, o: DraftOrder) -> list[Draft]:
    m = med(o)
    if m is None or not m.dosage:
        return []
    problems, _ = safety.dose_problems(m, ctx.profile, ctx.index)
    found = []
    text = CARDS["dose-above-maximum"]
    for problem in problems:
        limit = problem.limit
        total, most = f"{problem.total_mg:,.0f}", f"{limit.max_mg:,.0f}"
        summary = fit_summary(
            text.summaries["default"],
            order=short_names.order_names(o),
            total=total,
            ingredient=problem.ingredient,
            limit=most,
        )
        d = draft("dose-above-maximum", summary, o)
        d.id_extra = (o.reference, problem.ingredient)
        why = f", {limit.why}" if limit.why else ""
        dose = CONCERNS["dose"].format(
            ingredient=problem.ingredient, total=total, limit=most, why=why
        )
        d.cautions.append(
            text.cautions["dose"].format(dose=sentence(dose), source=limit.row.row.source)
        )
        for source, mg, how in problem.sources:
            d.notes.append(_source(ctx, source, mg, how))
            if source is not m:
                d.evidence.append(source.evidence)
        if problem.unlisted:
            added = f"{problem.unlisted_mg:,.0f}"
            more = text.notes["more"]
            line = more.format(more=problem.unlisted, ingredient=problem.ingredient, mg=added)
            d.notes.append(line)
        d.do = [text.advice["reduce"]]
        found.append(d)
    return found


def _source(ctx: Context, source: Medication, mg: float, how: str) -> str:
    """A source's line: the same for every order it adds to, so written once per call."""
    key = (_source, id(source), mg, how)
    found: tuple[Medication, str] | None = ctx.index.memo.get(key)
    if found is None or found[0] is not source:
        text = CARDS["dose-above-maximum"].notes["source"]
        line = text.format(drug=plain(source.display, 100), how=plain(how, 120), mg=f"{mg:,.0f}")
        found = ctx.index.memo[key] = (source, line)
    return found[1]

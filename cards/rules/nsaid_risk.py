"""Card `nsaid-risk`: an NSAID carries risks for this patient.

When: a focused draft MedicationRequest of a systemic NSAID (class `nsaid`) with at least one
    concern of the safety tables: age, kidney function (eGFR, CKD stage, dialysis), GI
    bleeding, cardiovascular or liver disease, pregnancy, an interacting drug, another source of
    the same ingredient. With no recent eGFR alone there is no card (the first-line card says
    to check it).
Then: a warning card; critical when a concern is a contraindication (from 30 weeks of
    pregnancy); information when all are cautions. Lists the concerns (and an unknown kidney
    function). When a concern blocks: switch to acetaminophen, suggesting "switch" (recommended):
    delete the draft and propose acetaminophen 500 mg (unless acetaminophen is taken or
    co-ordered). Otherwise: weigh the cautions, lowest dose for the shortest time.
Source: drug labels and geriatric prescribing criteria via the safety tables
    (docs/safety-rules.md).
Reads: the draft's medication (ingredients, classes, route, daily dose); active and co-ordered
    medications (class `acetaminophen` too); profile `back_pain`, `egfr`, `kidney`, `age`,
    `pregnancy`, findings; mappings/data/medication_safety/interactions.csv,
    contraindications.csv, dose_limits.csv, kidney_codes.csv.
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, suggestion
from cards.content import CARDS
from cards.rules._order import Context, concerns, draft, med, propose, remove, with_concerns
from cards.rules._shared import brief, sentence
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder

KINDS = ("nsaid-risk",)


def nsaid_risk(ctx: Context, o: DraftOrder) -> Draft | None:
    m = med(o)
    if m is None or "nsaid" not in m.classes:
        return None
    p = ctx.profile
    found = concerns(ctx, m)
    if not found:
        return None  # with no recent eGFR alone, the first-line card already says to check it
    text = CARDS["nsaid-risk"]
    summary = fit_summary(
        text.summaries["default"], order=short_names.order_names(o), risk=brief(found[0])
    )
    d = draft("nsaid-risk", summary, o)
    with_concerns(ctx, d, found)
    if unknown := safety.kidney_check(p, safety.drug_of(m)):
        d.cautions.append(sentence(unknown))
    if any(c.blocks for c in found):
        d.do.append(text.advice["switch"])
        actions = remove(o)
        if "acetaminophen" not in ctx.classes:  # taken or co-ordered
            actions.append(propose("acetaminophen", ctx, list(p.back_pain)))
        if actions:
            d.suggestions.append(suggestion("switch", text.labels["switch"], actions, True))
    else:
        d.do.append(text.advice["check"])
    return d

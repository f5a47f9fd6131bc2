"""Card `drug-caution`: cautions for any other ordered drug and this patient.

When: a focused draft of a systemic drug that is not an opioid or NSAID (those have their own
    card, with the same concerns) with at least one concern of the safety tables: an interaction
    with an active or co-ordered drug (either being the order; contraindicated pairs have their
    own critical card), a patient-state row (kidney, liver, age, pregnancy, breastfeeding),
    another source of the same ingredient whose dose cannot be added up, the same drug as an
    intrathecal pump (oral baclofen on a baclofen pump).
Then: a warning card; critical when a concern is a contraindication; information when all are
    cautions. The summary names the first concern (and how many more); lists every concern;
    review the order; for a TCA that is unsafe, gabapentin is the alternative. Proposes nothing.
Source: drug labels and geriatric prescribing criteria via the safety tables
    (docs/safety-rules.md).
Reads: the draft's medication (ingredients, classes, route, daily dose); active and co-ordered
    medications, intrathecal ones too; profile `age`, `egfr`, `kidney`, `pregnancy`,
    `lactation`, findings; mappings/data/medication_safety/interactions.csv,
    contraindications.csv, dose_limits.csv, kidney_codes.csv.
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft
from cards.content import CARDS
from cards.rules._order import Context, concerns, draft, med, with_concerns
from cards.rules._shared import brief
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder

KINDS = ("drug-caution",)


def drug_caution(ctx: Context, o: DraftOrder) -> Draft | None:
    m = med(o)
    if m is None or m.classes & {"opioid", "nsaid"}:
        return None  # those orders have their own card, which lists the same concerns
    found = concerns(ctx, m)
    if not found:
        return None
    text = CARDS["drug-caution"]
    variant, more = ("more", str(len(found) - 1)) if len(found) > 1 else ("default", "")
    summary = fit_summary(
        text.summaries[variant],
        order=short_names.order_names(o),
        caution=brief(found[0]),
        more=more,
    )
    d = draft("drug-caution", summary, o)
    with_concerns(ctx, d, found)
    d.do = [text.advice["review"]]
    if "tca" in m.classes and safety.blocking(found):
        d.do.append(text.advice["tca"])
    return d

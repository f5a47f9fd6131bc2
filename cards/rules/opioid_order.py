"""Card `opioid-order`: try non-opioid and MS-specific treatment first.

When: a focused draft MedicationRequest of a systemic opioid (class `opioid`).
Then: a warning card (critical when a concern is a contraindication): NSAID or acetaminophen,
    activity, physiotherapy and spasticity or neuropathic treatment first; names CNS depressants
    taken or co-ordered with it; lists the order's concerns from the safety tables. Suggests
    removing the draft (when it has an id).
Source: the MS back-pain treatment guide; drug labels via the safety tables
    (docs/safety-rules.md).
Reads: the draft's medication (ingredients, classes, route, daily dose); active and co-ordered
    medications; mappings/data/medication_safety/interactions.csv, contraindications.csv,
    dose_limits.csv, kidney_codes.csv; intrathecal medications of the same ingredient.
"""

from __future__ import annotations

from cards.build import Draft, suggestion
from cards.content import CARDS
from cards.rules._order import Context, concerns, draft, med, remove, with_concerns
from cards.rules._shared import short
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder

KINDS = ("opioid-order",)


def opioid_order(ctx: Context, o: DraftOrder) -> Draft | None:
    m = med(o)
    if m is None or "opioid" not in m.classes:
        return None
    text = CARDS["opioid-order"]
    found = concerns(ctx, m)
    partners = [c.partner for c in found if c.partner is not None]
    names = ", ".join(dict.fromkeys(x.display for x in partners))
    variant = "cns" if partners else "default"
    summary = fit_summary(
        text.summaries[variant], order=short_names.order_names(o), others=short(partners)
    )
    d = draft("opioid-order", summary, o)
    d.do = [text.advice["first"]]
    if partners:
        d.do.append(text.advice["cns"].format(others=names))
    with_concerns(ctx, d, found, downgrade=False)
    if actions := remove(o):
        d.suggestions.append(suggestion("remove", text.labels["remove"], actions))
    return d

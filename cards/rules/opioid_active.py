"""Card `opioid-active`: reserve opioids for severe disabling pain; review CNS depressants.

When: an active systemic opioid (any age, also while a red flag stands).
Then: a warning card: review need, dose and duration, and that first-line and MS-specific
    treatment was tried; with CNS depressants taken together (the opioid's interaction rows),
    names them and the sedation and breathing risk. Proposes nothing.
Source: the MS back-pain treatment guide; drug labels via
    mappings/data/medication_safety/interactions.csv (docs/safety-rules.md).
Reads: active medications of class `opioid`; interactions.csv rows of each opioid with the
    patient's other systemic medications (partners that are not opioids).
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import names, short
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("opioid-active",)


def opioid_active(p: PainProfile, pid: str) -> Card | None:
    opioids = p.meds_in("opioid")
    if not opioids:
        return None
    text = CARDS["opioid-active"]
    index = safety.index_of(p)
    pairs = [c for m in opioids for c in safety.interactions(safety.drug_of(m), index)]
    others = tuple(
        {
            c.partner.resource: c.partner
            for c in pairs
            if c.partner is not None and "opioid" not in c.partner.classes
        }.values()
    )
    d = Draft("opioid-active", "")
    d.do = [text.advice["review"]]
    d.evidence = [m.evidence for m in opioids + others]
    if others:
        d.summary = fit_summary(text.summaries["cns"], drugs=short(opioids), others=short(others))
        d.cautions.append(text.advice["cns"].format(others=names(others)))
    else:
        d.summary = fit_summary(text.summaries["default"], drugs=short(opioids))
    return finish(d, pid)

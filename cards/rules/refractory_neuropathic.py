"""Card `refractory-neuropathic`: second-line options when neuropathic pain persists.

When: neuropathic pain, on a gabapentinoid and a TCA or SNRI, back pain for
    {chronic_after_days} days or more, no hard red flag, age {adult_age} or older.
Then: an info card: lamotrigine, oxcarbazepine or carbamazepine; an SNRI instead of a TCA (not
    both); cannabinoids not yet settled. Proposes nothing.
Source: the MS back-pain treatment guide.
Reads: profile `neuropathic`, `duration`; active medications of classes `gabapentinoid`, `tca`
    and `snri`.
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import short
from cards.summary import fit_summary
from mappings.profile import Duration, PainProfile

KINDS = ("refractory-neuropathic",)


def refractory_neuropathic(p: PainProfile, pid: str) -> Card | None:
    gaba, other = p.meds_in("gabapentinoid"), p.meds_in("tca") + p.meds_in("snri")
    if not (p.neuropathic and gaba and other and p.duration is Duration.SUBACUTE_CHRONIC):
        return None
    text = CARDS["refractory-neuropathic"]
    drugs = short(gaba + other)
    d = Draft("refractory-neuropathic", fit_summary(text.summaries["default"], drugs=drugs))
    d.do = list(text.advice.values())
    d.evidence = list(p.neuropathic) + [m.evidence for m in gaba + other]
    return finish(d, pid)

"""Card `refractory-spasticity`: advanced treatment when spasticity persists on oral drugs.

When: spasticity, on oral baclofen and/or tizanidine, back pain for {chronic_after_days} days
    or more, no intrathecal pump already (the spasticity card reviews the pump then), no hard
    red flag, age {adult_age} or older.
Then: an info card: botulinum toxin for focal spasticity, intrathecal baclofen for severe
    spasticity unresponsive to oral drugs. Proposes a spasticity-service referral for one or the
    other (ServiceRequest, at-most-one).
Source: the MS back-pain treatment guide.
Reads: profile `spasticity`, `back_pain`, `duration`; active medications of class
    `antispasticity` with ingredient baclofen or tizanidine; intrathecal medications (route from
    mappings/data/medication_safety/routes.csv).
"""

from __future__ import annotations

from cards.build import Draft, finish, suggestion
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import alternatives, short
from cards.summary import fit_summary
from mappings.profile import Duration, PainProfile

KINDS = ("refractory-spasticity",)


def refractory_spasticity(p: PainProfile, pid: str) -> Card | None:
    oral = tuple(
        m for m in p.meds_in("antispasticity") if {"baclofen", "tizanidine"} & set(m.ingredients)
    )
    if not (p.spasticity and oral and p.duration is Duration.SUBACUTE_CHRONIC):
        return None
    if p.by_route("intrathecal"):
        return None  # already on a pump: the spasticity card says to review it
    text = CARDS["refractory-spasticity"]
    d = Draft("refractory-spasticity", fit_summary(text.summaries["default"], drugs=short(oral)))
    d.do = list(text.advice.values())
    d.evidence = list(p.spasticity) + [m.evidence for m in oral] + list(p.back_pain)
    actions = alternatives(("botulinum_toxin", "intrathecal_baclofen"), pid, list(p.spasticity))
    d.suggestions = [
        suggestion("botox", text.labels["botox"], [actions["botulinum_toxin"]]),
        suggestion("itb", text.labels["itb"], [actions["intrathecal_baclofen"]]),
    ]
    d.selection = "at-most-one"
    return finish(d, pid)

"""Card `dmt-injection-pain`: injection-related pain from MS therapy can be reduced.

When: an active injectable MS therapy (class `dmt_injectable`: interferon beta, glatiramer)
    and pain documented (any age, also while a red flag stands).
Then: an info card: review injection technique, rotate sites, cool the site. Proposes nothing.
Source: the MS back-pain treatment guide (injection-site pain of interferon beta and glatiramer).
Reads: active medications of class `dmt_injectable`; profile `pain_documented`, `back_pain`.
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import short
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("dmt-injection-pain",)


def dmt_injection_pain(p: PainProfile, pid: str) -> Card | None:
    dmts = p.meds_in("dmt_injectable")
    if not dmts or not (p.pain_documented or p.has_back_pain):
        return None
    text = CARDS["dmt-injection-pain"]
    d = Draft("dmt-injection-pain", fit_summary(text.summaries["default"], drugs=short(dmts)))
    d.do = [text.advice["technique"]]
    d.evidence = [m.evidence for m in dmts] + list(p.pain_documented or p.back_pain)
    return finish(d, pid)

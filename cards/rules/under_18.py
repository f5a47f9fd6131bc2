"""Card `under-18`: this service's treatment advice and doses are for adults.

When: back pain or documented pain in a patient under {adult_age} (age from
    `Patient.birthDate`) and no hard red flag.
Then: an info card in place of every treatment card (first-line, spasticity, neuropathic,
    chronic care, refractory): use paediatric MS guidance and specialist input; red flags and the
    order checks still apply. Proposes nothing; says the age.
Source: the MS back-pain treatment guide; the service's scope, adult doses only
    (docs/clinical-sources.md).
Reads: profile `age`, `back_pain`, `pain_documented`; `adult_age` of mappings/thresholds.py (the
    dispatcher, `cards.patient_view`, compares it).
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from mappings.profile import PainProfile

KINDS = ("under-18",)


def under_18(p: PainProfile, pid: str) -> Card | None:
    if not (p.has_back_pain or p.pain_documented):
        return None
    text = CARDS["under-18"]
    d = Draft("under-18", text.summaries["default"])
    d.do = [text.advice["paediatric"]]
    d.evidence = list(p.back_pain or p.pain_documented)
    d.notes = [text.notes["age"].format(age=p.age)]
    return finish(d, pid)

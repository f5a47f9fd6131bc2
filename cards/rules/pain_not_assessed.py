"""Card `pain-not-assessed`: ask about pain; people with MS often don't mention it.

When: MS, no back pain or other pain recorded, and no pain score (of any value) in the last
    {observation_max_age_days} days.
Then: an info card: ask specifically about back, neuropathic and spasticity pain and pain from
    posture or aids; record a pain score. Proposes nothing.
Source: the MS back-pain treatment guide.
Reads: profile `ms`, `back_pain`, `pain_documented`, `pain_assessed` (pain-score LOINC codes of
    mappings/data/concepts.csv, within `observation_max_age_days` of mappings/thresholds.py).
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from mappings.profile import PainProfile

KINDS = ("pain-not-assessed",)


def pain_not_assessed(p: PainProfile, pid: str) -> Card | None:
    if p.has_back_pain or p.pain_documented or p.pain_assessed:
        return None
    text = CARDS["pain-not-assessed"]
    d = Draft("pain-not-assessed", text.summaries["default"])
    d.do = [text.advice["ask"], text.advice["record"]]
    d.evidence = list(p.ms)
    d.notes = [text.notes["none"]]
    return finish(d, pid)

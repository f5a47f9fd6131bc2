"""Card `chronic-care`: non-drug treatments for back pain beyond the acute phase.

When: back pain whose earliest dated Condition began {chronic_after_days} days ago or more
    (duration subacute/chronic), no hard red flag, age {adult_age} or older.
Then: an info card: structured exercise therapy, CBT, yoga or massage, acupuncture or spinal
    manipulation. Proposes exercise-therapy and CBT referrals (ServiceRequest, selectionBehavior
    any). Says since when the back pain is recorded.
Source: ACP 2017 low back pain guideline (non-drug treatments for chronic low back pain); the
    MS back-pain treatment guide.
Reads: profile `back_pain`, `duration` and `onset` (from `chronic_after_days` of
    mappings/thresholds.py).
"""

from __future__ import annotations

from cards.build import Draft, finish, suggestion
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import alternatives
from mappings.profile import Duration, PainProfile

KINDS = ("chronic-care",)


def chronic_care(p: PainProfile, pid: str) -> Card | None:
    if p.duration is not Duration.SUBACUTE_CHRONIC or not p.has_back_pain:
        return None
    text = CARDS["chronic-care"]
    d = Draft("chronic-care", text.summaries["default"])
    d.do = list(text.advice.values())
    d.evidence = list(p.back_pain)
    if p.onset:
        d.notes = [text.notes["since"].format(date=p.onset.isoformat())]
    keys = ("exercise_therapy", "cbt")
    actions = alternatives(keys, pid, d.evidence)
    d.suggestions = [suggestion(key, text.labels[key], [actions[key]]) for key in keys]
    return finish(d, pid)

"""Card `ms-relapse`: back pain with a possible MS relapse or pseudo-relapse.

When: back pain (or documented pain) with new or worse neurological symptoms recorded within
    the `ms_relapse` window of mappings/data/context.csv, or an MS Condition whose clinical
    status is relapse or recurrence (any age, also while a red flag stands).
Then: a warning card: exclude infection first (a urinary infection or fever causes
    pseudo-relapses; named in the summary when recorded), then neurology review; steroid courses
    raise fracture and infection risk. Proposes nothing.
Source: the MS back-pain treatment guide; the relapse window and statuses of
    mappings/data/context.csv (the project's clinical rules for reading charts in context,
    docs/clinical-sources.md).
Reads: concepts `ms_relapse`, `urinary_infection`, `fever` (mappings/data/concepts.csv, with the
    windows and `on_relapse` statuses of context.csv); profile `back_pain`, `pain_documented`.
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("ms-relapse",)

# Infections that cause an MS pseudo-relapse (concept ids of mappings/data/concepts.csv).
_INFECTIONS = ("urinary_infection", "fever")


def ms_relapse(p: PainProfile, pid: str) -> Card | None:
    relapse = p.evidence_for("ms_relapse")
    if not relapse or not (p.has_back_pain or p.pain_documented):
        return None
    text = CARDS["ms-relapse"]
    infection = [e for c in _INFECTIONS for e in p.evidence_for(c)]
    if infection:
        summary = fit_summary(text.summaries["infection"], infection=infection[0].display)
    else:
        summary = text.summaries["default"]
    d = Draft("ms-relapse", summary)
    d.do = [text.advice["infection"], text.advice["neurology"], text.advice["steroids"]]
    d.evidence = list(relapse) + infection + list(p.back_pain or p.pain_documented)
    return finish(d, pid)

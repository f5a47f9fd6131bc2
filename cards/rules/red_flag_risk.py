"""Card `red-flag-risk`: rule out serious causes before routine back-pain treatment.

When: back pain with red-flag risk factors only (history of cancer, malignancy elsewhere,
    unexplained weight loss, fever, IV drug use, long-term or repeated steroids,
    immunosuppression, osteoporosis, a recent urinary infection) and no hard red flag.
Then: a warning card: ask about and examine for infection, malignancy and fracture; imaging is
    appropriate if the assessment raises concern. Says that bladder, gait and weakness findings
    alone are not red flags in MS. Proposes nothing; treatment cards still show.
Source: the MS back-pain treatment guide; ACP 2017 (linked); the risk factors, and the MS findings
    that are not red flags alone, as the project's clinical rules list them
    (docs/clinical-sources.md).
Reads: profile `back_pain`, `risk_factors` (risk-factor concepts: codes of
    mappings/data/red_flags.csv, words of concepts.csv, statuses and windows of context.csv,
    drugs of medication_safety/medication_findings.csv); findings of
    `mappings.concepts.MS_COMMON_FINDINGS` for the MS nuance.
"""

from __future__ import annotations

from cards.build import Draft, finish
from cards.content import CARDS
from cards.model import Card
from cards.red_flags import ms_nuance
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("red-flag-risk",)


def red_flag_risk(p: PainProfile, pid: str) -> Card | None:
    if not p.has_back_pain or not p.risk_factors:
        return None
    text = CARDS["red-flag-risk"]
    labels = list(dict.fromkeys(f.label for f in p.risk_factors))
    d = Draft("red-flag-risk", fit_summary(text.summaries["default"], flags=labels))
    d.do = [text.advice["assess"], text.advice["imaging"]]
    if nuance := ms_nuance(p):
        d.cautions.append(nuance)
    d.evidence = [f.evidence for f in p.risk_factors] + list(p.back_pain)
    return finish(d, pid)

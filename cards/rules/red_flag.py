"""Card `red-flag`: evaluate urgently before treating back pain.

When: a hard red flag is recorded (cauda equina, cord compression or conus syndrome, spinal
    infection, spinal malignancy, a new vertebral fracture, a progressive neurological deficit),
    or cauda equina is inferred from back pain with a new bladder change (retention or
    incontinence) and a new saddle or bowel sign.
Then: a critical card: assess today (same-day emergency assessment for cauda equina, cord
    compression or a progressive deficit); imaging is appropriate; treatment cards are held back
    (the dispatcher, `cards.patient_view`). Proposes an urgent MRI of the spine (ServiceRequest,
    priority urgent). Risk factors also recorded are listed; no MS nuance (on a critical card it
    reads as reassurance).
Source: the MS back-pain treatment guide; ACP 2017 (linked); the hard red flags as the project's
    clinical rules list them (docs/clinical-sources.md).
Reads: profile `red_flags` (hard), `risk_factors`, `back_pain`; findings `urinary_retention`,
    `urinary_incontinence`, `saddle_anaesthesia`, `bowel_incontinence` when new
    (`new_within_days` of mappings/data/context.csv); red-flag concepts (codes of
    mappings/data/red_flags.csv, words of concepts.csv, statuses and windows of context.csv).
"""

from __future__ import annotations

from cards.build import Draft, finish, suggestion
from cards.content import CARDS
from cards.model import Card
from cards.rules._shared import propose
from cards.summary import fit_summary
from mappings.profile import PainProfile, RedFlag

KINDS = ("red-flag",)

# Red flags that need same-day emergency assessment, not only urgent imaging.
_EMERGENCIES = ("cauda_equina", "cord_compression", "progressive_deficit")


def red_flag(p: PainProfile, pid: str, flags: tuple[RedFlag, ...]) -> Card:
    text = CARDS["red-flag"]
    labels = list(dict.fromkeys(f.label for f in flags))
    d = Draft("red-flag", fit_summary(text.summaries["default"], flags=labels))
    d.do = [text.advice["evaluate"]]
    if any(f.category in _EMERGENCIES for f in flags):
        d.do.append(text.advice["emergency"])
    d.do += [text.advice["imaging"], text.advice["held"]]
    if p.risk_factors:
        d.cautions.append(
            text.cautions["also"].format(labels=", ".join(f.label for f in p.risk_factors))
        )
    d.evidence = [f.evidence for f in flags] + [f.evidence for f in p.risk_factors]
    reasons = [f.evidence for f in flags] + list(p.back_pain)
    d.suggestions.append(
        suggestion(
            "spine-mri", text.labels["mri"], [propose("spine_mri_urgent", pid, reasons)], True
        )
    )
    return finish(d, pid)

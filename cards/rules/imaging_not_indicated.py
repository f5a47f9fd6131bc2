"""Card `imaging-not-indicated`: routine spine imaging is not indicated without red flags.

When: a focused draft ServiceRequest of spine imaging (MRI, CT or X-ray of the lumbar, thoracic
    or whole spine) for back pain (back pain recorded, or the order's reason), no red flag or
    risk factor recorded or given as the order's reason, and back pain for under
    {imaging_after_days} days or of unknown duration. Silent for brain imaging and for imaging
    whose reason is MS (disease monitoring) without back pain.
Then: a warning card: imaging is for red flags or a surgical candidate after 4 to 6 weeks;
    first-line treatment instead; record MS as the reason if it is monitoring. Suggests
    "cancel imaging; refer to physiotherapy" (recommended): delete the draft (when it has an id)
    and propose a physiotherapy referral (unless one is co-ordered).
Source: ACP 2017 low back pain guideline (no routine imaging); the MS back-pain treatment guide.
Reads: the draft's kind `spine_imaging` (codes of mappings/data/orders.csv, words of
    concepts.csv) and reason concepts (`ms`, `back_pain`); profile `red_flags`, `back_pain`,
    `onset`; the other drafts' kinds (`physiotherapy`); `imaging_after_days` of
    mappings/thresholds.py; the call's date.
"""

from __future__ import annotations

from cards.build import Draft, suggestion
from cards.content import CARDS
from cards.red_flags import hard_flags, reason_flags
from cards.rules._order import Context, draft, propose, remove
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder
from mappings.thresholds import THRESHOLDS as T

KINDS = ("imaging-not-indicated",)


def imaging_not_indicated(ctx: Context, o: DraftOrder) -> Draft | None:
    p = ctx.profile
    if "spine_imaging" not in o.kinds or p.red_flags or hard_flags(p) or reason_flags(o):
        return None
    if "ms" in o.reason_concepts and "back_pain" not in o.reason_concepts:
        return None  # MS disease monitoring
    if not (p.has_back_pain or "back_pain" in o.reason_concepts):
        return None  # spine MRI in MS without back pain is monitoring, not back-pain imaging
    days = (ctx.today - p.onset).days if p.onset else None
    if days is not None and days >= T.imaging_after_days:
        return None
    text = CARDS["imaging-not-indicated"]
    summary = fit_summary(text.summaries["default"], order=short_names.order_names(o))
    d = draft("imaging-not-indicated", summary, o)
    d.do = [text.advice["why"], text.advice["instead"], text.advice["ms"]]
    d.evidence = list(p.back_pain) + d.evidence
    # The chart's back pain is quoted: the order's reason, when it is the same, is not again.
    quoted = {e.concept for e in p.back_pain}
    d.stated += tuple(e for e in o.evidence if e.concept in quoted and e.concept not in o.kinds)
    if days is not None:
        d.notes.append(text.notes["days"].format(days=days))
    else:
        d.notes.append(text.notes["unknown"])
    actions = remove(o)
    if "physiotherapy" not in ctx.kinds:  # co-ordered
        actions.append(propose("physiotherapy", ctx, list(p.back_pain)))
    if actions:
        d.suggestions.append(suggestion("replace", text.labels["replace"], actions, True))
    return d

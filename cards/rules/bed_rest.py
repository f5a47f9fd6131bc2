"""Card `bed-rest`: avoid bed rest for back pain.

When: a focused draft order or instruction for bed rest (kind `bed_rest`: codes of
    mappings/data/orders.csv, words of concepts.csv).
Then: a warning card: stay active, avoid bed rest. Suggests removing the draft (recommended;
    when it has an id).
Source: ACP 2017 low back pain guideline (stay active); the MS back-pain treatment guide.
Reads: the draft's kinds and display.
"""

from __future__ import annotations

from cards.build import Draft, suggestion
from cards.content import CARDS
from cards.rules._order import Context, draft, remove
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder

KINDS = ("bed-rest",)


def bed_rest(ctx: Context, o: DraftOrder) -> Draft | None:
    if "bed_rest" not in o.kinds:
        return None
    text = CARDS["bed-rest"]
    d = draft(
        "bed-rest", fit_summary(text.summaries["default"], order=short_names.order_names(o)), o
    )
    d.do = [text.advice["active"]]
    if actions := remove(o):
        d.suggestions.append(suggestion("remove", text.labels["remove"], actions, True))
    return d

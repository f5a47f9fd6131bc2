"""Helpers the order rules share: the call's context, the order's card draft, removal and
proposal actions, and the concerns of an ordered drug.

The focused drafts (`DraftOrder.selected`) are checked; every draft, focused or not, counts as
co-ordered for interactions. Every medication check runs whichever drug of a pair is the order,
reads systemic products only, and takes its facts from the safety tables (`cards.safety`).
Drafts are often incomplete: a rule reads what is there and says nothing when what it needs is
missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards import safety
from cards.build import ActionSpec, Draft, create, delete, plain
from cards.content import ACTIONS, CONCERNS, NOTES
from cards.products import DRUGS, SERVICES
from cards.resources import proposal
from cards.rules._shared import sentence
from mappings.profile import DraftOrder, Medication, PainProfile


@dataclass(frozen=True, slots=True)
class Context:
    """One order-hook call, as every order rule reads it."""

    profile: PainProfile
    patient_id: str
    orders: tuple[DraftOrder, ...]
    today: date
    # Active medications and every draft's medication, indexed once for the whole call.
    index: safety.MedIndex


def draft(kind: str, summary: str, order: DraftOrder) -> Draft:
    """A card about `order`: it names the order first in "Why this card"."""
    d = Draft(kind, summary)
    d.notes = [
        NOTES["order"].format(order=plain(order.display, 120), ref=plain(order.reference, 80))
    ]
    d.evidence = list(order.evidence)
    d.id_extra = (order.reference,)
    return d


def remove(order: DraftOrder) -> list[ActionSpec]:
    """The action deleting the draft (none for a draft without an id: it cannot be targeted)."""
    if not order.id:
        return []
    return [
        delete(ACTIONS["remove_draft"].format(order=plain(order.display, 100)), order.reference)
    ]


def propose(key: str, ctx: Context, reasons) -> ActionSpec:
    label = DRUGS[key].display if key in DRUGS else SERVICES[key].text
    return create(ACTIONS["propose"].format(what=label), proposal(key, ctx.patient_id, reasons))


def med(o: DraftOrder) -> Medication | None:
    """The draft's medication when the systemic checks apply to it."""
    m = o.medication
    return m if m is not None and m.ingredients and m.systemic else None


def concerns(ctx: Context, m: Medication) -> list[safety.Concern]:
    """State, interaction and cumulative-dose concerns of an order, contraindicated pairs left
    to their own critical card."""
    found = safety.concerns(safety.drug_of(m), ctx.profile, ctx.index)
    found = [c for c in found if not (c.key == "interaction" and c.card)]
    found += safety.dose_problems(m, ctx.profile, ctx.index)[1]
    same = [
        x for x in ctx.profile.by_route("intrathecal") if set(x.ingredients) & set(m.ingredients)
    ]
    if same:
        names = ", ".join(dict.fromkeys(x.display for x in same))
        text = CONCERNS["intrathecal"].format(what=names)
        found.append(safety.Concern("route", text, "caution", tuple(x.evidence for x in same)))
    return found


def with_concerns(d: Draft, found: list[safety.Concern], *, downgrade: bool = True) -> None:
    """List the concerns; a contraindication makes the card critical, and (`downgrade`) a card
    of cautions only is information, so that what the service itself suggests (with its
    cautions shown) never comes back as a warning once ordered."""
    d.cautions += [sentence(c.text) for c in found]
    d.evidence += [e for c in found for e in c.evidence]
    if any(c.severity == "contraindicated" for c in found):
        d.indicator = "critical"
    elif downgrade and not any(c.blocks for c in found):
        d.indicator = "info"

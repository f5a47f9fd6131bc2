"""Helpers the order rules share: the call's context, the order's card draft, removal and
proposal actions, and the concerns of an ordered drug.

The focused drafts (`DraftOrder.selected`) are checked; every draft, focused or not, counts as
co-ordered for interactions. Every medication check runs whichever drug of a pair is the order,
reads systemic products only, and takes its facts from the safety tables (`cards.safety`).
Drafts are often incomplete: a rule reads what is there and says nothing when what it needs is
missing. An order rule returns its card's `Draft`; `cards.orders` finishes the cards it shows
(of thousands of drafts, most cards are folded, so most drafts are never finished).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from cards import safety
from cards.build import ActionSpec, Draft, create, delete, plain, quote
from cards.content import ACTIONS, CONCERNS, NOTES
from cards.products import DRUGS, SERVICES
from cards.resources import proposal
from cards.rules._shared import sentence
from mappings.profile import DraftOrder, Evidence, Medication, PainProfile


@dataclass(frozen=True, slots=True)
class Context:
    """One order-hook call, as every order rule reads it."""

    profile: PainProfile
    patient_id: str
    orders: tuple[DraftOrder, ...]
    today: date
    # Active medications and every draft's medication, indexed once for the whole call.
    index: safety.MedIndex
    # What is taken or co-ordered, gathered once so that no rule reads every draft per order:
    # the classes of every active medication and draft, the kinds of every draft, and the
    # intrathecal medications.
    classes: frozenset[str]
    kinds: frozenset[str]
    intrathecal: tuple[Medication, ...]

    @classmethod
    def of(
        cls, profile: PainProfile, patient_id: str, orders: tuple[DraftOrder, ...], today: date
    ) -> Context:
        """The call's context, everything in it gathered once."""
        drafts = [o.medication for o in orders if o.medication is not None]
        return cls(
            profile,
            patient_id,
            orders,
            today,
            safety.MedIndex([*profile.meds, *drafts]),
            frozenset(c for m in (*profile.meds, *drafts) for c in m.classes),
            frozenset(k for o in orders for k in o.kinds),
            profile.by_route("intrathecal"),
        )


def draft(kind: str, summary: str, order: DraftOrder) -> Draft:
    """A card about `order`: it names the order first in "Why this card" (with its code, so
    the order's own evidence is not quoted again)."""
    d = Draft(kind, summary)
    d.stated = _named(order)
    d.notes = [order_note(order, d.stated)]
    d.evidence = list(order.evidence)
    d.id_extra = (order.reference,)
    return d


def order_note(order: DraftOrder, named: tuple[Evidence, ...] | None = None) -> str:
    """The line naming the order: its display, the code it was recognised by (of `named`, its
    own evidence the line states), its reference."""
    name, ref = plain(order.display, 120), plain(order.reference, _REFERENCE)
    named = _named(order) if named is None else named
    coded = next((e for e in named if e.system != "text"), None)
    if coded is None:
        return NOTES["order_uncoded"].format(order=name, ref=ref)
    return NOTES["order"].format(order=name, code=plain(coded.coding(), 120), ref=ref)


def together_note(other: Medication) -> str:
    """A pair card's line naming the other drug: its evidence line."""
    return NOTES["together"].format(other=quote(other.evidence))


# A reference is quoted whole: FHIR ids are at most 64 characters.
_REFERENCE = 256


def _named(order: DraftOrder) -> tuple[Evidence, ...]:
    """The order's own evidence its note states: the first code that made it an order of its
    kinds, and words matched in its text when they are its name."""
    own = [e for e in order.evidence if e.resource == order.reference and e.concept in order.kinds]
    coded = [e for e in own if e.system != "text"][:1]
    return (*coded, *(e for e in own if e.system == "text" and e.display == order.display))


def remove(order: DraftOrder) -> list[ActionSpec]:
    """The action deleting the draft (none for a draft without an id: it cannot be targeted)."""
    if not order.id:
        return []
    return [
        delete(ACTIONS["remove_draft"].format(order=plain(order.display, 100)), order.reference)
    ]


def propose(key: str, ctx: Context, reasons: Iterable[Evidence]) -> ActionSpec:
    label = DRUGS[key].display if key in DRUGS else SERVICES[key].text
    return create(ACTIONS["propose"].format(what=label), proposal(key, ctx.patient_id, reasons))


def med(o: DraftOrder) -> Medication | None:
    """The draft's medication when the systemic checks apply to it."""
    m = o.medication
    return m if m is not None and m.ingredients and m.route == "systemic" else None


def concerns(ctx: Context, m: Medication) -> list[safety.Concern]:
    """State, interaction and cumulative-dose concerns of an order, contraindicated pairs left
    to their own critical card; worked out once per call for each shape of order (the same drug
    and daily dose), so the list is shared: read it, do not change it."""
    key = (concerns, ctx.index.shape(m))
    found: list[safety.Concern] | None = ctx.index.memo.get(key)
    if found is None:
        found = ctx.index.memo[key] = _concerns(ctx, m)
    return found


def _concerns(ctx: Context, m: Medication) -> list[safety.Concern]:
    found = safety.concerns(safety.drug_of(m), ctx.profile, ctx.index)
    found = [c for c in found if not (c.key == "interaction" and c.card)]
    found += safety.dose_problems(m, ctx.profile, ctx.index)[1]
    same = [x for x in ctx.intrathecal if set(x.ingredients) & set(m.ingredients)]
    if same:
        names = ", ".join(dict.fromkeys(x.display for x in same))
        text = CONCERNS["intrathecal"].format(what=names)
        found.append(safety.Concern("route", text, "caution", tuple(x.evidence for x in same)))
    return found


def with_concerns(
    ctx: Context, d: Draft, found: list[safety.Concern], *, downgrade: bool = True
) -> None:
    """List the concerns; a contraindication makes the card critical, and (`downgrade`) a card
    of cautions only is information, so that what the service itself suggests (with its
    cautions shown) never comes back as a warning once ordered."""
    lines, evidence, critical, blocks = _listed(ctx, found)
    d.cautions += lines
    d.evidence += evidence
    if critical:
        d.indicator = "critical"
    elif downgrade and not blocks:
        d.indicator = "info"


# (caution lines, their evidence, any contraindication, any blocking concern)
_Listed = tuple[list[str], list[Evidence], bool, bool]


def _listed(ctx: Context, found: list[safety.Concern]) -> _Listed:
    """(caution lines, their evidence, any contraindication, any blocking concern): worked out
    once for the concerns every order of one shape shares (`concerns`)."""
    key = (_listed, id(found))
    memo: tuple[list[safety.Concern], _Listed] | None = ctx.index.memo.get(key)
    if memo is None or memo[0] is not found:
        listed = (
            [sentence(c.text) for c in found],
            [e for c in found for e in c.evidence],
            any(c.severity == "contraindicated" for c in found),
            any(c.blocks for c in found),
        )
        memo = ctx.index.memo[key] = (found, listed)
    return memo[1]

"""order-select / order-sign (clinical rules sections 5-6): the checks on the draft orders.

Each card kind is one rule of `cards.rules` (its module's header says when it applies and what
it proposes); this module runs every rule on every focused draft (`DraftOrder.selected`) and
keeps each card once (an interaction pair found from both of its drafts is one card). Every
draft, focused or not, counts as co-ordered for interactions.

An order set of thousands of drafts must not make thousands of cards: past
`MAX_CARDS_PER_KIND` cards of one kind, the most severe are shown (the first drafts first) and
the rest are folded into one card of that kind that says how many more drafts raise the same
concern. Drafts alike (`_likeness`: the same drug, daily dose, kinds and reasons) earn cards of
the same kinds and indicators, so once `_BUILT_PER_LIKENESS` of them have been checked, a
further one is only counted: its cards could only be folded (that many alike drafts come first,
with cards as severe). A folded card costs no more than its line on the folded card.

Drafts not alike are each checked in full, and a call may hold thousands of them (each of a
different drug or dose): past `MAX_CHECKED_ORDERS` checks the call is refused whole
(`TooManyOrders`) rather than answered from some of its orders, which could leave a dangerous
one unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.build import Draft, finish
from cards.content import CARDS, TOO_MANY_ORDERS
from cards.model import INDICATOR_ORDER, Card
from cards.rules._order import Context, order_note
from cards.rules.bed_rest import bed_rest
from cards.rules.contraindicated_pair import contraindicated_pair
from cards.rules.dose_above_maximum import dose_above_maximum
from cards.rules.drug_caution import drug_caution
from cards.rules.imaging_not_indicated import imaging_not_indicated
from cards.rules.nsaid_risk import nsaid_risk
from cards.rules.opioid_order import opioid_order
from cards.safety import MAX_QUOTED, Shape
from cards.summary import fit_summary
from mappings.errors import TooCostly
from mappings.profile import DraftOrder, PainProfile

__all__ = ["MAX_CARDS_PER_KIND", "MAX_CHECKED_ORDERS", "TooManyOrders", "order_cards"]

# Cards of one kind shown in full per call (the most severe first); the rest are counted on one
# folded card of the kind, which names at most this many of their orders too.
MAX_CARDS_PER_KIND = 10

# Draft orders checked in full per call: far more than an order set holds different orders
# (docs/security.md); alike drafts past the first few are counted, not checked.
MAX_CHECKED_ORDERS = 500

_RULES = (imaging_not_indicated, bed_rest, opioid_order, nsaid_risk, drug_caution)
_MULTI = (contraindicated_pair, dose_above_maximum)  # rules that may make several cards
# Alike drafts checked in full: more than a kind shows, and more than a check quotes of one drug
# (the first drafts of a drug may be another's quoted partner, which changes their pair cards).
_BUILT_PER_LIKENESS = max(MAX_CARDS_PER_KIND, MAX_QUOTED) + 1

# What the rules read of an order besides its name and reference (`_likeness`): its resource
# type, whether it has an id, its kinds, its reasons' concepts and its medication's shape.
_Likeness = tuple[str, bool, frozenset[str], frozenset[str], Shape | tuple[()]]
# A card's evidence as its uuid counts it: (resource, concept, system, code) of each.
_EvidenceKey = frozenset[tuple[str, str, str, str]]
# Cards found, by (kind, id_extra): the first one's draft, then the evidence of each found.
_Seen = dict[tuple[str, tuple[str, ...]], Draft | set[_EvidenceKey]]


class TooManyOrders(TooCostly):
    """The call's draft orders differ more than one call may check."""

    def __init__(self, most: int) -> None:
        super().__init__(TOO_MANY_ORDERS.format(most=most, alike=_BUILT_PER_LIKENESS))
        self.most = most


@dataclass(slots=True)
class _Found:
    """A card an order earns: its draft, or None for an order only counted (see above), whose
    draft is the `nth` of what the rules give it."""

    order: DraftOrder
    nth: int
    kind: str
    rank: int  # INDICATOR_ORDER of its indicator
    draft: Draft | None


def order_cards(
    profile: PainProfile, patient_id: str, orders: tuple[DraftOrder, ...], today: date
) -> list[Card]:
    """Cards about the focused draft orders, one per (rule, order), interaction pairs once;
    at most `MAX_CARDS_PER_KIND` of a kind, then one card folding the rest."""
    ctx = Context.of(profile, patient_id, tuple(orders), today)
    found = _found(ctx)
    by_kind: dict[str, list[_Found]] = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f)
    folded: set[int] = set()  # by id
    summaries = []
    for kind, group in by_kind.items():
        if len(group) > MAX_CARDS_PER_KIND:
            group.sort(key=lambda f: f.rank)  # stable: the first drafts first
            rest = group[MAX_CARDS_PER_KIND:]
            folded.update(map(id, rest))
            summaries.append(_folded(kind, rest))
    shown = [_draft(ctx, f) for f in found if id(f) not in folded]
    return [finish(d, patient_id) for d in [*shown, *summaries]]


def _found(ctx: Context) -> list[_Found]:
    """Every card the focused orders earn, each once, in the order found."""
    found: list[_Found] = []
    # A card's uuid is over its kind, `id_extra` and evidence (cards.build.card_uuid): drafts
    # alike in the first two (a pair found from both of its drafts) are compared on the third.
    seen: _Seen = {}
    # For each likeness: how many were checked and the (kind, rank) of the cards each earned;
    # None once two of them earned different ones (then each is checked).
    alike: dict[_Likeness, tuple[int, list[tuple[str, int]]] | None] = {}
    references: set[str] = set()
    checked = 0
    for order in ctx.orders:
        if not order.selected:
            continue
        # The same reference twice may be one card twice: such an order is always checked.
        key = None if order.reference in references else _likeness(ctx, order)
        references.add(order.reference)
        known = alike.get(key) if key is not None else None
        if known is not None and known[0] >= _BUILT_PER_LIKENESS:
            found += [_Found(order, n, kind, rank, None) for n, (kind, rank) in enumerate(known[1])]
            continue
        if checked == MAX_CHECKED_ORDERS:
            raise TooManyOrders(MAX_CHECKED_ORDERS)
        checked += 1
        drafts = _rules(ctx, order)
        kinds = [(d.kind, _rank(d)) for d in drafts]
        if key is not None and key not in alike:
            alike[key] = (1, kinds)
        elif key is not None and known is not None:
            alike[key] = (known[0] + 1, kinds) if known[1] == kinds else None
        for n, d in enumerate(drafts):
            if _first(seen, d):
                found.append(_Found(order, n, d.kind, kinds[n][1], d))
    return found


def _rules(ctx: Context, order: DraftOrder) -> list[Draft]:
    drafts = [d for rule in _RULES if (d := rule(ctx, order)) is not None]
    for multi in _MULTI:
        drafts += multi(ctx, order)
    return drafts


def _likeness(ctx: Context, order: DraftOrder) -> _Likeness:
    """What the rules read of an order besides its name and reference."""
    m = order.medication
    shape = ctx.index.shape(m) if m is not None else ()
    return (order.resource_type, bool(order.id), order.kinds, order.reason_concepts, shape)


def _first(seen: _Seen, d: Draft) -> bool:
    """Is `d` a card not found before (and now remembered)?"""
    key = (d.kind, d.id_extra)
    first = seen.get(key)
    if first is None:
        seen[key] = d
        return True
    if isinstance(first, Draft):
        first = seen[key] = {_evidence(first)}
    evidence = _evidence(d)
    if evidence in first:
        return False
    first.add(evidence)
    return True


def _evidence(d: Draft) -> _EvidenceKey:
    return frozenset((e.resource, e.concept, e.system, e.code) for e in d.evidence)


def _rank(d: Draft) -> int:
    return INDICATOR_ORDER[d.indicator or CARDS[d.kind].indicator]


def _draft(ctx: Context, f: _Found) -> Draft:
    """The card's draft: an order only counted is checked now (not reached as the fold keeps
    the first drafts of each likeness)."""
    return f.draft if f.draft is not None else _rules(ctx, f.order)[f.nth]


def _folded(kind: str, rest: list[_Found]) -> Draft:
    """One card of `kind` for the cards folded away: how many orders they are about, the first
    few of those, and the most severe indicator among them (`rest` is most severe first)."""
    orders = list({id(f.order): f.order for f in rest}.values())
    text = CARDS[kind]
    summary = text.summaries["folded_one" if len(orders) == 1 else "folded"]
    card = Draft(kind, fit_summary(summary, more=str(len(orders)), kind=kind.replace("-", " ")))
    card.indicator = next(k for k, rank in INDICATOR_ORDER.items() if rank == rest[0].rank)
    card.do = [text.advice["folded"].format(shown=MAX_CARDS_PER_KIND)]
    card.notes = [order_note(o) for o in orders[:MAX_CARDS_PER_KIND]]
    more = len(orders) - MAX_CARDS_PER_KIND
    if more > 0:
        line = text.notes["folded_one" if more == 1 else "folded"]
        card.notes.append(line.format(more=more))
    # The same orders folded give the same card.
    card.id_extra = tuple(sorted({o.reference for o in orders}))
    return card

"""order-select / order-sign (clinical rules sections 5-6): the checks on the draft orders.

Each card kind is one rule of `cards.rules` (its module's header says when it applies and what
it proposes); this module runs every rule on every focused draft (`DraftOrder.selected`) and
keeps each card once (an interaction pair found from both of its drafts is one card). Every
draft, focused or not, counts as co-ordered for interactions.
"""

from __future__ import annotations

from datetime import date

from cards import safety
from cards.model import Card
from cards.rules._order import Context
from cards.rules.bed_rest import bed_rest
from cards.rules.contraindicated_pair import contraindicated_pair
from cards.rules.dose_above_maximum import dose_above_maximum
from cards.rules.drug_caution import drug_caution
from cards.rules.imaging_not_indicated import imaging_not_indicated
from cards.rules.nsaid_risk import nsaid_risk
from cards.rules.opioid_order import opioid_order
from mappings.profile import DraftOrder, PainProfile

__all__ = ["order_cards"]

_RULES = (imaging_not_indicated, bed_rest, opioid_order, nsaid_risk, drug_caution)
_MULTI = (contraindicated_pair, dose_above_maximum)  # rules that may make several cards


def order_cards(
    profile: PainProfile, patient_id: str, orders: tuple[DraftOrder, ...], today: date
) -> list[Card]:
    """Cards about the focused draft orders, one per (rule, order); interaction pairs once."""
    drafts = [o.medication for o in orders if o.medication is not None]
    index = safety.MedIndex([*profile.meds, *drafts])
    ctx = Context(profile, patient_id, tuple(orders), today, index)
    cards: dict[str, Card] = {}
    for order in ctx.orders:
        if not order.selected:
            continue
        found: list[Card | None] = [rule(ctx, order) for rule in _RULES]
        for multi in _MULTI:
            found += multi(ctx, order)
        for card in found:
            if card is not None and card.uuid not in cards:
                cards[card.uuid] = card
    return list(cards.values())

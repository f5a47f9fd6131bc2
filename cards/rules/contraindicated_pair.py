"""Cards `tizanidine-interaction` and `drug-interaction`: a contraindicated pair, one rule.

Both kinds come from one rule: a row of mappings/data/medication_safety/interactions.csv with
severity contraindicated names the card that reports it, and this rule makes that card.

Card: tizanidine-interaction
When: a focused draft of systemic tizanidine with systemic ciprofloxacin or fluvoxamine, or of
    one of those with tizanidine, active or co-ordered (interactions.csv rows naming this card).
Then: a critical card: do not combine; remove the order or choose another drug. When the order
    is tizanidine and baclofen passes every check (reduced dose with a kidney caution), says
    baclofen is the alternative, with its cautions. Suggests removing the draft (recommended),
    and proposing baclofen when it is the alternative.
Source: tizanidine labelling (CYP1A2: ciprofloxacin and fluvoxamine contraindicated), linked.
Reads: the draft's medication and every active or co-ordered systemic medication;
    interactions.csv (card column); for the alternative, contraindications.csv, interactions.csv
    and kidney_codes.csv rows for baclofen; profile `spasticity` (the proposal's reasons).

Card: drug-interaction
When: a focused draft that forms a contraindicated pair with an active or co-ordered systemic
    drug, either being the order (interactions.csv rows naming this card: for example an MAOI
    with a serotonergic drug).
Then: a critical card: do not combine; remove the order or stop the other drug first (washout).
    Suggests removing the draft (recommended).
Source: drug labelling via interactions.csv (docs/safety-rules.md).
Reads: the draft's medication and every active or co-ordered systemic medication;
    interactions.csv (card column).
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, suggestion
from cards.content import CARDS
from cards.products import DRUGS
from cards.rules._order import Context, draft, med, propose, remove, together_note
from cards.rules._shared import sentence
from cards.summary import fit_summary
from mappings import short_names
from mappings.profile import DraftOrder, Medication

KINDS = ("tizanidine-interaction", "drug-interaction")

# What a critical pair card proposes instead of its own drug (cards.products keys).
ALTERNATIVES = {"tizanidine-interaction": "baclofen"}


def contraindicated_pair(ctx: Context, o: DraftOrder) -> list[Draft]:
    """A critical card per contraindicated pair (interactions.csv), whichever drug is the order."""
    m = med(o)
    if m is None:
        return []
    cards = []
    for c in safety.interactions(safety.drug_of(m), ctx.index):
        if not c.card or c.partner is None:
            continue
        cards.append(_pair_card(ctx, o, m, c))
    return cards


def _pair_card(ctx: Context, o: DraftOrder, m: Medication, c: safety.Concern) -> Draft:
    partner = c.partner
    assert partner is not None
    text = CARDS[c.card]
    effect = c.text.split(": ", 1)[-1]
    order, other = short_names.order_names(o), short_names.medication_names(partner)
    summary = fit_summary(
        text.summaries["default"],
        order=order,
        other=other,
        inhibitor=other,
        remove=order,
        effect=effect,
    )
    d = draft(c.card, summary, o)
    d.id_extra = tuple(sorted({o.reference, partner.resource}))
    d.do = [text.advice["remove"]]
    d.cautions = [sentence(c.text)]
    d.evidence = [m.evidence, partner.evidence]  # same pair, same uuid
    d.notes.append(together_note(partner))
    d.stated += (partner.evidence,)
    actions = remove(o)
    # The alternative replaces the order: it is checked against everything but the order.
    alternative = _alternative(ctx, c, m)
    if alternative:
        d.do.append(text.advice["alternative"])
        product = safety.product(DRUGS[alternative].ingredient, ctx.index.knowledge)
        for caution in safety.concerns(product, ctx.profile, ctx.index, without=m):
            line = text.cautions["alternative"]
            d.cautions.append(line.format(drug=DRUGS[alternative].label, concern=caution.text))
            d.evidence += caution.evidence
        actions.append(propose(alternative, ctx, list(ctx.profile.spasticity)))
    if actions:
        label = text.labels["alternative" if alternative else "remove"]
        d.suggestions.append(suggestion("remove", label, actions, True))
    return d


def _alternative(ctx: Context, c: safety.Concern, m: Medication) -> str | None:
    """The product a card kind offers instead of the order (the tizanidine card: baclofen, for
    spasticity), when the order is that card's drug and the alternative passes every check
    against the active medications and the other drafts (what stays once `m` is removed)."""
    key = ALTERNATIVES.get(c.card)
    if key is None or c.partner is None:
        return None
    product = DRUGS[key]
    if product.ingredient in m.ingredients or ctx.profile.takes(product.ingredient):
        return None
    if not _is_card_drug(ctx, c, m):
        return None
    candidate = safety.product(product.ingredient, ctx.index.knowledge)
    found = safety.concerns(candidate, ctx.profile, ctx.index, without=m)
    if safety.blocking(found):
        return None
    # A state caution (kidney function) means the reduced-dose product, where there is one.
    reduced = f"{key}_renal"
    if safety.cautions(safety.state_concerns(candidate, ctx.profile)) and reduced in DRUGS:
        return reduced
    return key


def _is_card_drug(ctx: Context, c: safety.Concern, m: Medication) -> bool:
    """Is the order the drug the card is about (the first drug of its interactions.csv row)?"""
    for row, _, _ in ctx.index.knowledge.interactions_for(m.ingredients, m.classes):
        if row.card == c.card and row.a.matches(m.ingredients, m.classes):
            return True
    return False

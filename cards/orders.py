"""order-select / order-sign rules (clinical rules sections 5-6): checks on the draft orders.

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
from cards.build import ActionSpec, Draft, create, delete, finish, fit_summary, plain, suggestion
from cards.content import CARDS, CONCERNS
from cards.model import Card
from cards.products import DRUGS, SERVICES
from cards.red_flags import hard_flags
from cards.resources import proposal
from mappings.profile import DraftOrder, Medication, PainProfile
from mappings.thresholds import THRESHOLDS as T


@dataclass(frozen=True, slots=True)
class _Context:
    profile: PainProfile
    patient_id: str
    orders: tuple[DraftOrder, ...]
    today: date
    # Active medications and every draft's medication, indexed once for the whole call.
    index: safety.MedIndex


def _named(order: DraftOrder) -> str:
    return f"Order: **{plain(order.display, 120)}** ({plain(order.reference, 80)})"


def _draft(kind: str, summary: str, order: DraftOrder) -> Draft:
    d = Draft(kind, summary)
    d.notes = [_named(order)]
    d.evidence = list(order.evidence)
    d.id_extra = (order.reference,)
    return d


def _remove(order: DraftOrder) -> list[ActionSpec]:
    if not order.id:
        return []  # a draft without an id cannot be targeted by a delete action
    return [delete(f"Remove the draft order: {plain(order.display, 100)}", order.reference)]


def _propose(key: str, ctx: _Context, reasons) -> ActionSpec:
    label = DRUGS[key].display if key in DRUGS else SERVICES[key].text
    return create(f"Propose {label}", proposal(key, ctx.patient_id, reasons))


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "." if text else text


def _med(o: DraftOrder) -> Medication | None:
    """The draft's medication when the systemic checks apply to it."""
    m = o.medication
    return m if m is not None and m.ingredients and m.systemic else None


def _concerns(ctx: _Context, m: Medication) -> list[safety.Concern]:
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


def _with_concerns(d: Draft, found: list[safety.Concern], *, downgrade: bool = True) -> None:
    """List the concerns; a contraindication makes the card critical, and (`downgrade`) a card
    of cautions only is information, so that what the service itself suggests (with its
    cautions shown) never comes back as a warning once ordered."""
    d.cautions += [_sentence(c.text) for c in found]
    d.evidence += [e for c in found for e in c.evidence]
    if any(c.severity == "contraindicated" for c in found):
        d.indicator = "critical"
    elif downgrade and not any(c.blocks for c in found):
        d.indicator = "info"


def imaging(ctx: _Context, o: DraftOrder) -> Card | None:
    p = ctx.profile
    if "spine_imaging" not in o.kinds or p.red_flags or hard_flags(p):
        return None
    if "ms" in o.reason_concepts and "back_pain" not in o.reason_concepts:
        return None  # MS disease monitoring
    if not (p.has_back_pain or "back_pain" in o.reason_concepts):
        return None  # spine MRI in MS without back pain is monitoring, not back-pain imaging
    days = (ctx.today - p.onset).days if p.onset else None
    if days is not None and days >= T.imaging_after_days:
        return None
    text = CARDS["imaging-not-indicated"]
    d = _draft("imaging-not-indicated", fit_summary(text.summaries["default"], order=o.display), o)
    d.do = [text.advice["why"], text.advice["instead"], text.advice["ms"]]
    d.evidence = list(p.back_pain) + d.evidence
    d.notes.append(
        "No red flag recorded; back pain "
        + (f"for {days} days." if days is not None else "of unknown duration.")
    )
    actions = _remove(o)
    if not any("physiotherapy" in other.kinds for other in ctx.orders):
        actions.append(_propose("physiotherapy", ctx, list(p.back_pain)))
    if actions:
        d.suggestions.append(
            suggestion("replace", "Cancel imaging; refer to physiotherapy", actions, True)
        )
    return finish(d, ctx.patient_id)


def bed_rest(ctx: _Context, o: DraftOrder) -> Card | None:
    if "bed_rest" not in o.kinds:
        return None
    text = CARDS["bed-rest"]
    d = _draft("bed-rest", fit_summary(text.summaries["default"], order=o.display), o)
    d.do = [text.advice["active"]]
    if actions := _remove(o):
        d.suggestions.append(suggestion("remove", "Remove the bed-rest order", actions, True))
    return finish(d, ctx.patient_id)


def opioid_order(ctx: _Context, o: DraftOrder) -> Card | None:
    m = _med(o)
    if m is None or "opioid" not in m.classes:
        return None
    text = CARDS["opioid-order"]
    found = _concerns(ctx, m)
    partners = [c.partner for c in found if c.partner is not None]
    names = ", ".join(dict.fromkeys(x.display for x in partners))
    variant = "cns" if partners else "default"
    d = _draft(
        "opioid-order", fit_summary(text.summaries[variant], order=o.display, others=names), o
    )
    d.do = [text.advice["first"]]
    if partners:
        d.do.append(text.advice["cns"].format(others=names))
    _with_concerns(d, found, downgrade=False)
    if actions := _remove(o):
        d.suggestions.append(suggestion("remove", "Remove the opioid order", actions))
    return finish(d, ctx.patient_id)


def nsaid_risk(ctx: _Context, o: DraftOrder) -> Card | None:
    m = _med(o)
    if m is None or "nsaid" not in m.classes:
        return None
    p = ctx.profile
    found = _concerns(ctx, m)
    if not found:
        return None  # with no recent eGFR alone, the first-line card already says to check it
    text = CARDS["nsaid-risk"]
    d = _draft(
        "nsaid-risk", fit_summary(text.summaries["default"], order=o.display, risk=found[0].text), o
    )
    _with_concerns(d, found)
    if unknown := safety.kidney_check(p, safety.drug_of(m)):
        d.cautions.append(_sentence(unknown))
    if any(c.blocks for c in found):
        d.do.append(text.advice["switch"])
        actions = _remove(o)
        if not p.on("acetaminophen") and not any(
            x.medication and "acetaminophen" in x.medication.classes for x in ctx.orders
        ):
            actions.append(_propose("acetaminophen", ctx, list(p.back_pain)))
        if actions:
            d.suggestions.append(suggestion("switch", "Switch to acetaminophen", actions, True))
    else:
        d.do.append(text.advice["check"])
    return finish(d, ctx.patient_id)


def contraindicated_pair(ctx: _Context, o: DraftOrder) -> list[Card]:
    """A critical card per contraindicated pair (interactions.csv), whichever drug is the order."""
    m = _med(o)
    if m is None:
        return []
    cards = []
    for c in safety.interactions(safety.drug_of(m), ctx.index):
        if not c.card or c.partner is None:
            continue
        cards.append(_pair_card(ctx, o, m, c))
    return cards


def _pair_card(ctx: _Context, o: DraftOrder, m: Medication, c: safety.Concern) -> Card:
    partner = c.partner
    assert partner is not None
    text = CARDS[c.card]
    effect = c.text.split(": ", 1)[-1]
    summary = fit_summary(
        text.summaries["default"],
        order=o.display,
        other=partner.display,
        inhibitor=partner.display,
        remove=o.display,
        effect=effect,
    )
    d = _draft(c.card, summary, o)
    d.id_extra = tuple(sorted({o.reference, partner.resource}))
    d.do = [text.advice["remove"]]
    d.cautions = [_sentence(c.text)]
    d.evidence = [m.evidence, partner.evidence]  # same pair, same uuid
    d.notes.append(f"Together with: {plain(partner.display, 120)} ({plain(partner.resource, 80)})")
    actions = _remove(o)
    alternative = _alternative(ctx, c, m)
    if alternative:
        d.do.append(text.advice["alternative"])
        product = safety.product(DRUGS[alternative].ingredient, ctx.index.knowledge)
        for caution in safety.concerns(product, ctx.profile, ctx.index):
            d.cautions.append(f"{DRUGS[alternative].label}: {caution.text}.")
            d.evidence += caution.evidence
        actions.append(_propose(alternative, ctx, list(ctx.profile.spasticity)))
    if actions:
        label = "Remove this order" + ("; propose the alternative" if alternative else "")
        d.suggestions.append(suggestion("remove", label, actions, True))
    return finish(d, ctx.patient_id)


def _alternative(ctx: _Context, c: safety.Concern, m: Medication) -> str | None:
    """The product a card kind offers instead of the order (the tizanidine card: baclofen, for
    spasticity), when the order is that card's drug and the alternative passes every check."""
    key = ALTERNATIVES.get(c.card)
    if key is None or c.partner is None:
        return None
    product = DRUGS[key]
    if product.ingredient in m.ingredients or ctx.profile.takes(product.ingredient):
        return None
    if not _is_card_drug(ctx, c, m):
        return None
    candidate = safety.product(product.ingredient, ctx.index.knowledge)
    found = safety.concerns(candidate, ctx.profile, ctx.index)
    if safety.blocking(found):
        return None
    # A state caution (kidney function) means the reduced-dose product, where there is one.
    reduced = f"{key}_renal"
    if safety.cautions(safety.state_concerns(candidate, ctx.profile)) and reduced in DRUGS:
        return reduced
    return key


def _is_card_drug(ctx: _Context, c: safety.Concern, m: Medication) -> bool:
    """Is the order the drug the card is about (the first drug of its interactions.csv row)?"""
    for row, _, _ in ctx.index.knowledge.interactions_for(m.ingredients, m.classes):
        if row.card == c.card and row.a.matches(m.ingredients, m.classes):
            return True
    return False


# What a critical pair card proposes instead of its own drug (cards.products keys).
ALTERNATIVES = {"tizanidine-interaction": "baclofen"}


def drug_caution(ctx: _Context, o: DraftOrder) -> Card | None:
    m = _med(o)
    if m is None or m.classes & {"opioid", "nsaid"}:
        return None  # those orders have their own card, which lists the same concerns
    found = _concerns(ctx, m)
    if not found:
        return None
    text = CARDS["drug-caution"]
    first = found[0].text + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
    d = _draft(
        "drug-caution", fit_summary(text.summaries["default"], order=o.display, caution=first), o
    )
    _with_concerns(d, found)
    d.do = [text.advice["review"]]
    if "tca" in m.classes and safety.blocking(found):
        d.do.append(text.advice["tca"])
    return finish(d, ctx.patient_id)


def dose_above_maximum(ctx: _Context, o: DraftOrder) -> list[Card]:
    m = _med(o)
    if m is None or not (m.daily or m.dosage):
        return []
    problems, _ = safety.dose_problems(m, ctx.profile, ctx.index)
    cards = []
    text = CARDS["dose-above-maximum"]
    for problem in problems:
        limit = problem.limit
        summary = fit_summary(
            text.summaries["default"],
            order=o.display,
            total=f"{problem.total_mg:,.0f}",
            ingredient=problem.ingredient,
            limit=f"{limit.max_mg:,.0f}",
        )
        d = _draft("dose-above-maximum", summary, o)
        d.id_extra = (o.reference, problem.ingredient)
        why = f", {limit.why}" if limit.why else ""
        d.cautions.append(
            _sentence(
                CONCERNS["dose"].format(
                    ingredient=problem.ingredient,
                    total=f"{problem.total_mg:,.0f}",
                    limit=f"{limit.max_mg:,.0f}",
                    why=why,
                )
            )
            + f" Source: {limit.row.row.source}."
        )
        for med, mg, how in problem.sources:
            d.notes.append(f"{plain(med.display, 100)}: {plain(how, 120)} ({mg:,.0f} mg a day)")
            if med is not m:
                d.evidence.append(med.evidence)
        d.do = [text.advice["reduce"]]
        cards.append(finish(d, ctx.patient_id))
    return cards


_RULES = (imaging, bed_rest, opioid_order, nsaid_risk, drug_caution)
_MULTI = (contraindicated_pair, dose_above_maximum)


def order_cards(
    profile: PainProfile, patient_id: str, orders: tuple[DraftOrder, ...], today: date
) -> list[Card]:
    """Cards about the focused draft orders, one per (rule, order); interaction pairs once."""
    drafts = [o.medication for o in orders if o.medication is not None]
    index = safety.MedIndex([*profile.meds, *drafts])
    ctx = _Context(profile, patient_id, tuple(orders), today, index)
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

"""order-select / order-sign rules (clinical rules sections 5-6): checks on the draft orders.

The focused drafts (`DraftOrder.selected`) are checked; every draft, focused or not, counts as
co-ordered for interactions. Drafts are often incomplete: a rule reads what is there and says
nothing when what it needs is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards import safety
from cards.build import ActionSpec, Draft, create, delete, finish, fit_summary, plain, suggestion
from cards.content import CARDS
from cards.model import Card
from cards.products import DRUGS, SERVICES
from cards.red_flags import hard_flags
from cards.resources import proposal
from mappings.concepts import TIZANIDINE_CONTRAINDICATED_WITH
from mappings.profile import DraftOrder, Medication, PainProfile
from mappings.thresholds import THRESHOLDS as T


@dataclass(frozen=True, slots=True)
class _Context:
    profile: PainProfile
    patient_id: str
    orders: tuple[DraftOrder, ...]
    today: date

    def meds_besides(self, order: DraftOrder) -> tuple[Medication, ...]:
        """Active medications plus every other draft's medication (co-ordered)."""
        drafts = tuple(
            o.medication for o in self.orders if o.medication is not None and o is not order
        )
        return self.profile.meds + drafts


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
    m = o.medication
    if m is None or "opioid" not in m.classes:
        return None
    text = CARDS["opioid-order"]
    others = tuple(
        x for x in safety.cns_depressants(ctx.meds_besides(o)) if "opioid" not in x.classes
    )
    names = ", ".join(dict.fromkeys(x.display for x in others))
    variant = "cns" if others else "default"
    d = _draft(
        "opioid-order", fit_summary(text.summaries[variant], order=o.display, others=names), o
    )
    d.do = [text.advice["first"]]
    if others:
        d.cautions.append(text.advice["cns"].format(others=names))
        d.evidence += [x.evidence for x in others]
    current = ctx.profile.meds_in("opioid")
    if current:
        d.cautions.append("Already on an opioid: " + ", ".join(x.display for x in current) + ".")
        d.evidence += [x.evidence for x in current]
    if actions := _remove(o):
        d.suggestions.append(suggestion("remove", "Remove the opioid order", actions))
    return finish(d, ctx.patient_id)


def nsaid_risk(ctx: _Context, o: DraftOrder) -> Card | None:
    m = o.medication
    if m is None or "nsaid" not in m.classes:
        return None
    p = ctx.profile
    risks = safety.nsaid_concerns(p, ctx.meds_besides(o))
    if not risks:
        return None
    text = CARDS["nsaid-risk"]
    d = _draft(
        "nsaid-risk", fit_summary(text.summaries["default"], order=o.display, risk=risks[0].text), o
    )
    d.cautions = [c.text[0].upper() + c.text[1:] + "." for c in risks]
    d.evidence += [e for c in risks for e in c.evidence]
    if safety.egfr_below(p, T.egfr_severe):
        d.do.append(text.advice["severe"])
    d.do.append(text.advice["switch"])
    actions = _remove(o)
    if liver := safety.hepatic(p):
        d.cautions.append(
            f"{liver.text}: acetaminophen at a reduced maximum; check liver function."
        )
    if not p.on("acetaminophen") and not any(
        x.medication and "acetaminophen" in x.medication.classes for x in ctx.orders
    ):
        actions.append(_propose("acetaminophen", ctx, list(p.back_pain)))
    if actions:
        d.suggestions.append(suggestion("switch", "Switch to acetaminophen", actions, True))
    return finish(d, ctx.patient_id)


def _is_inhibitor(m: Medication) -> bool:
    return any(i in TIZANIDINE_CONTRAINDICATED_WITH for i in m.ingredients)


def tizanidine_interaction(ctx: _Context, o: DraftOrder) -> Card | None:
    m = o.medication
    if m is None:
        return None
    others = ctx.meds_besides(o)
    if "tizanidine" in m.ingredients:
        partners = tuple(x for x in others if _is_inhibitor(x))
    elif _is_inhibitor(m):
        partners = tuple(x for x in others if "tizanidine" in x.ingredients)
    else:
        return None
    if not partners:
        return None
    text = CARDS["tizanidine-interaction"]
    inhibitor = partners[0].display if "tizanidine" in m.ingredients else o.display
    d = _draft(
        "tizanidine-interaction",
        fit_summary(text.summaries["default"], inhibitor=inhibitor, remove=o.display),
        o,
    )
    d.id_extra = tuple(sorted({o.reference, *(x.resource for x in partners)}))
    d.do = [text.advice["remove"]]
    d.evidence = [m.evidence] + [x.evidence for x in partners]  # same pair, same uuid
    d.notes += [
        f"Together with: {plain(x.display, 120)} ({plain(x.resource, 80)})" for x in partners
    ]
    actions = _remove(o)
    p = ctx.profile
    if "tizanidine" in m.ingredients:
        d.do.append(text.advice["baclofen"])
        if not p.takes("baclofen") and not safety.egfr_below(p, T.egfr_severe):
            renal = safety.baclofen_renal(p)
            if renal:
                d.cautions.append(f"{renal.text}: baclofen at a reduced dose.")
                d.evidence.append(renal.evidence[0])
            key = "baclofen_renal" if renal else "baclofen"
            actions.append(_propose(key, ctx, list(p.spasticity)))
    if actions:
        label = "Remove tizanidine" if "tizanidine" in m.ingredients else "Remove this order"
        if len(actions) > 1:
            label += "; propose baclofen"
        d.suggestions.append(suggestion("remove", label, actions, True))
    return finish(d, ctx.patient_id)


def drug_caution(ctx: _Context, o: DraftOrder) -> Card | None:
    m = o.medication
    if m is None:
        return None
    p = ctx.profile
    others = ctx.meds_besides(o)
    concerns: list[safety.Concern] = []
    if "baclofen" in m.ingredients and (renal := safety.baclofen_renal(p)):
        advice = "avoid baclofen" if safety.egfr_below(p, T.egfr_severe) else "use a lower dose"
        concerns.append(safety.Concern(renal.key, f"{renal.text}: {advice}", renal.evidence))
    if "tca" in m.classes:
        concerns += safety.tca_concerns(p, others)
    if "gabapentinoid" in m.classes:
        for c in safety.gabapentinoid_concerns(p, others):
            extra = "" if c.key == "opioid" else ": renal dose"
            concerns.append(safety.Concern(c.key, c.text + extra, c.evidence))
    if "tizanidine" in m.ingredients:
        concerns += safety.tizanidine_blockers(p, others)[1]
    if "acetaminophen" in m.classes and (liver := safety.hepatic(p)):
        concerns.append(
            safety.Concern(liver.key, f"{liver.text}: reduce the maximum", liver.evidence)
        )
    dupes = safety.duplicates(m, others)
    if dupes:
        names = ", ".join(dict.fromkeys(x.display for x in dupes))
        concerns.append(
            safety.Concern(
                "duplicate", f"duplicate therapy with {names}", tuple(x.evidence for x in dupes)
            )
        )
    if not concerns:
        return None
    text = CARDS["drug-caution"]
    first = concerns[0].text + (f" (+{len(concerns) - 1} more)" if len(concerns) > 1 else "")
    d = _draft(
        "drug-caution", fit_summary(text.summaries["default"], order=o.display, caution=first), o
    )
    d.cautions = [c.text[0].upper() + c.text[1:] + "." for c in concerns]
    d.evidence += [e for c in concerns for e in c.evidence]
    d.do = [text.advice["review"]]
    if "tca" in m.classes:
        d.do.append(text.advice["tca"])
    return finish(d, ctx.patient_id)


_RULES = (imaging, bed_rest, opioid_order, nsaid_risk, tizanidine_interaction, drug_caution)


def order_cards(
    profile: PainProfile, patient_id: str, orders: tuple[DraftOrder, ...], today: date
) -> list[Card]:
    """Cards about the focused draft orders, one per (rule, order); interaction pairs once."""
    ctx = _Context(profile, patient_id, tuple(orders), today)
    cards: dict[str, Card] = {}
    for order in ctx.orders:
        if not order.selected:
            continue
        for rule in _RULES:
            card = rule(ctx, order)
            if card is not None and card.uuid not in cards:
                cards[card.uuid] = card
    return list(cards.values())

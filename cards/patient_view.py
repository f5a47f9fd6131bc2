"""patient-view rules (clinical rules sections 3-5): which cards a pain profile earns.

Each rule is a plain function of the profile returning a finished Card or None. Wording comes from
`cards.content`; safety decisions from `cards.safety`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cards import safety
from cards.build import ActionSpec, Draft, create, finish, fit_summary, suggestion
from cards.content import CARDS, CONCERNS, LEFT_OUT
from cards.model import Card
from cards.patient_state import kidney_fact
from cards.products import DRUGS, SERVICES
from cards.red_flags import hard_flags, ms_nuance, red_flag, red_flag_risk
from cards.resources import proposal, proposals
from mappings.profile import Duration, Evidence, Medication, PainProfile
from mappings.thresholds import THRESHOLDS as T


def _names(meds: tuple[Medication, ...]) -> str:
    return ", ".join(dict.fromkeys(m.display for m in meds))


def _left_out(drug: str, reasons: list[str]) -> str:
    return LEFT_OUT.format(drug=drug, reasons="; ".join(reasons))


def _text(concerns: tuple[safety.Concern, ...]) -> list[str]:
    return [c.text for c in concerns]


def _evidence(concerns: tuple[safety.Concern, ...]) -> list[Evidence]:
    return [e for c in concerns for e in c.evidence]


def _propose(key: str, patient_id: str, reasons: list[Evidence]) -> ActionSpec:
    """An action proposing product `key` (a drug or a service) for these reasons."""
    return create(_PROPOSE[key], proposal(key, patient_id, reasons))


def _alternatives(
    keys: Sequence[str], patient_id: str, reasons: list[Evidence]
) -> dict[str, ActionSpec]:
    """An action proposing each product of `keys`, for the same reasons (worked out once)."""
    resources = proposals(keys, patient_id, reasons)
    return {k: create(_PROPOSE[k], r) for k, r in zip(keys, resources, strict=True)}


_PROPOSE = {
    **{key: f"Propose {d.display}: {d.dosage}" for key, d in DRUGS.items()},
    **{key: f"Propose {s.text}" for key, s in SERVICES.items()},
}


def pain_not_assessed(p: PainProfile, pid: str) -> Card | None:
    if p.has_back_pain or p.pain_documented or p.pain_assessed:
        return None
    text = CARDS["pain-not-assessed"]
    d = Draft("pain-not-assessed", text.summaries["default"])
    d.do = [text.advice["ask"], text.advice["record"]]
    d.evidence = list(p.ms)
    d.notes = ["No back-pain condition and no pain score in the last 12 months."]
    return finish(d, pid)


def _check(p: PainProfile, ingredient: str) -> list[safety.Concern]:
    """The same checks an order of this product would get (its states and interactions)."""
    index = safety.index_of(p)
    return safety.concerns(safety.product(ingredient, index.knowledge), p, index)


def first_line(p: PainProfile, pid: str) -> Card:
    text = CARDS["first-line"]
    a = text.advice
    d = Draft("first-line", "")
    d.evidence = list(p.back_pain) + list(p.musculoskeletal)
    # aspirin is an NSAID, but taken as an antiplatelet it is a risk, not back-pain analgesia
    nsaids = tuple(m for m in p.meds_in("nsaid") if "antiplatelet" not in m.classes)
    apap = p.meds_in("acetaminophen")
    nsaid = DRUGS["ibuprofen"].ingredient
    found = _check(p, nsaid)
    risks = safety.blocking(found)
    variant = "none"
    if nsaids:
        d.do.append(a["on_analgesic"].format(drugs=_names(nsaids)))
        d.cautions.append(
            _left_out("a new NSAID", [CONCERNS["already_taken"].format(what=_names(nsaids))])
        )
        current = [c for m in nsaids for c in safety.concerns(safety.drug_of(m), p, _others(p, m))]
        if safety.blocking(current):
            d.indicator = "warning"  # an NSAID already taken that this patient should not take
            d.cautions.append(
                "The current NSAID carries risks for this patient ("
                + "; ".join(_text(safety.blocking(current)))
                + "): consider switching to acetaminophen."
            )
    elif risks:
        d.cautions.append(_left_out("NSAIDs (ibuprofen, naproxen)", _text(risks)))
        if apap:
            d.do.append(a["on_analgesic"].format(drugs=_names(apap)))
        else:
            variant = "acetaminophen"
            d.do.append(a["acetaminophen"])
            d.suggestions.append(
                suggestion(
                    "acetaminophen",
                    DRUGS["acetaminophen"].label,
                    [_propose("acetaminophen", pid, d.evidence)],
                )
            )
    else:
        variant = "nsaid"
        d.do.append(a["nsaid"])
        d.cautions += [c.text[0].upper() + c.text[1:] + "." for c in found]
        if unknown := safety.kidney_check(p, safety.product(nsaid, safety.index_of(p).knowledge)):
            d.cautions.append(unknown[0].upper() + unknown[1:] + ".")
        elif fact := kidney_fact(p):
            d.do.append(a["kidney"].format(egfr=fact[1].text))
        if apap:
            d.do.append(a["on_analgesic"].format(drugs=_names(apap)))
        d.suggestions.append(
            suggestion(
                "ibuprofen", DRUGS["ibuprofen"].label, [_propose("ibuprofen", pid, d.evidence)]
            )
        )
    if variant == "acetaminophen":
        for c in _check(p, DRUGS["acetaminophen"].ingredient):
            d.cautions.append(c.text[0].upper() + c.text[1:] + ".")
            d.evidence += c.evidence
    d.evidence += _evidence(tuple(found))
    d.do += [a["stay_active"], a["physiotherapy"]]
    if p.spasticity or p.neuropathic:
        d.do.append(a["components"])
    if p.risk_factors:
        d.cautions.insert(0, a["risk_factors"])
    if nuance := ms_nuance(p):
        d.cautions.append(nuance)
    d.suggestions.append(
        suggestion(
            "physiotherapy",
            "Refer to physiotherapy",
            [_propose("physiotherapy", pid, list(p.back_pain))],
        )
    )
    d.summary = _FIRST_LINE_SUMMARIES[variant]
    return finish(d, pid)


def _others(p: PainProfile, m: Medication) -> safety.MedIndex:
    return safety.MedIndex(x for x in p.meds if x is not m)


# The first-line summaries name no patient detail: filled in once, here.
_FIRST_LINE_SUMMARIES = {
    variant: fit_summary(template, drug="ibuprofen")
    for variant, template in CARDS["first-line"].summaries.items()
}


def spasticity(p: PainProfile, pid: str) -> Card | None:
    if not p.spasticity or not p.has_back_pain:
        return None
    text = CARDS["spasticity"]
    a = text.advice
    d = Draft("spasticity", "")
    d.evidence = list(p.spasticity) + list(p.back_pain)
    pump = tuple(m for m in p.by_route("intrathecal") if "antispasticity" in m.classes)
    if pump:
        d.summary = text.summaries["itb"]
        d.do = [a["itb"].format(drugs=_names(pump)), a["physiotherapy"]]
        return finish(d, pid)
    current = p.meds_in("antispasticity")
    if current:
        d.summary = fit_summary(text.summaries["titrate"], drug=_names(current))
        d.do = [a["titrate"].format(drugs=_names(current)), a["phasic"], a["physiotherapy"]]
        for m in current:
            for c in safety.concerns(safety.drug_of(m), p, _others(p, m)):
                d.cautions.append(f"{m.display}: {c.text}.")
                d.evidence += c.evidence
        return finish(d, pid)

    options: list[str] = []
    for key in ("baclofen", "tizanidine"):
        found = _check(p, DRUGS[key].ingredient)
        if blocked := safety.blocking(found):
            d.cautions.append(_left_out(DRUGS[key].ingredient, _text(tuple(blocked))))
            d.evidence += _evidence(tuple(blocked))
            continue
        drug = safety.product(DRUGS[key].ingredient, safety.index_of(p).knowledge)
        states = safety.cautions(safety.state_concerns(drug, p))
        if states and f"{key}_renal" in DRUGS:
            key = f"{key}_renal"
        d.do.append(a[key])
        for c in found:
            d.cautions.append(f"{DRUGS[key].ingredient.capitalize()}: {c.text}.")
            d.evidence += c.evidence
        options.append(key)
    d.do += [a["physiotherapy"], a["phasic"]]
    actions = _alternatives(options, pid, d.evidence[:3])
    for i, key in enumerate(options):
        d.suggestions.append(suggestion(key, DRUGS[key].label, [actions[key]], i == 0))
    d.selection = "at-most-one"
    if len(options) == 2:
        d.summary = text.summaries["both"]
    elif options:
        d.summary = fit_summary(text.summaries["one"], drug=DRUGS[options[0]].ingredient)
    else:
        d.summary = text.summaries["none"]
    return finish(d, pid)


def neuropathic(p: PainProfile, pid: str) -> Card | None:
    if not p.neuropathic or not (p.has_back_pain or p.pain_documented):
        return None
    on_gaba, on_tca, on_snri = p.meds_in("gabapentinoid"), p.meds_in("tca"), p.meds_in("snri")
    if on_gaba and (on_tca or on_snri):
        return None  # both mechanisms already used: nothing new to say (see refractory card)
    text = CARDS["neuropathic"]
    a = text.advice
    d = Draft("neuropathic", "")
    d.evidence = list(p.neuropathic) + list(p.back_pain or p.pain_documented)
    options: list[str] = []
    if on_tca or on_snri:
        d.cautions.append(
            _left_out(
                "amitriptyline", [CONCERNS["already_taken"].format(what=_names(on_tca + on_snri))]
            )
        )
    elif risks := safety.blocking(_check(p, DRUGS["amitriptyline"].ingredient)):
        d.cautions.append(_left_out("amitriptyline (TCA)", _text(tuple(risks))))
        d.evidence += _evidence(tuple(risks))
    else:
        d.do.append(a["amitriptyline"])
        options.append("amitriptyline")
    gabapentin = DRUGS["gabapentin"].ingredient
    if on_gaba:
        d.cautions.append(
            _left_out("gabapentin", [CONCERNS["already_taken"].format(what=_names(on_gaba))])
        )
    elif risks := safety.blocking(found := _check(p, gabapentin)):
        d.cautions.append(_left_out("gabapentin", _text(tuple(risks))))
        d.evidence += _evidence(tuple(risks))
    else:
        limit = safety.daily_limit(gabapentin, p)
        if limit is not None and limit.why:
            d.do.append(
                a["gabapentin_renal"].format(kidney=limit.why, limit=f"{limit.max_mg:,.0f}")
            )
            key = "gabapentin_renal"
        else:
            d.do.append(a["gabapentin"])
            key = "gabapentin"
        for c in found:
            d.cautions.append(f"Gabapentin {c.text}.")
            d.evidence += c.evidence
        options.append(key)
    d.do += [a["combine"], a["alternatives"]]
    actions = _alternatives(options, pid, d.evidence[:3])
    for i, key in enumerate(options):
        d.suggestions.append(suggestion(key, DRUGS[key].label, [actions[key]], i == 0))
    d.selection = "at-most-one"
    current = on_gaba + on_tca + on_snri
    if current and options:
        d.summary = fit_summary(
            text.summaries["add"], current=_names(current), drug=DRUGS[options[0]].ingredient
        )
    elif len(options) == 2:
        d.summary = text.summaries["both"]
    elif options:
        d.summary = text.summaries["gabapentin" if "amitriptyline" not in options else "both"]
    else:
        d.summary = text.summaries["none"]
    return finish(d, pid)


def chronic_care(p: PainProfile, pid: str) -> Card | None:
    if p.duration is not Duration.SUBACUTE_CHRONIC or not p.has_back_pain:
        return None
    text = CARDS["chronic-care"]
    d = Draft("chronic-care", text.summaries["default"])
    d.do = list(text.advice.values())
    d.evidence = list(p.back_pain)
    if p.onset:
        d.notes = [f"Back pain since {p.onset.isoformat()}."]
    actions = _alternatives(("exercise_therapy", "cbt"), pid, d.evidence)
    for key, label in (
        ("exercise_therapy", "Refer for exercise therapy"),
        ("cbt", "Refer for CBT"),
    ):
        d.suggestions.append(suggestion(key, label, [actions[key]]))
    return finish(d, pid)


def refractory_spasticity(p: PainProfile, pid: str) -> Card | None:
    oral = tuple(
        m for m in p.meds_in("antispasticity") if {"baclofen", "tizanidine"} & set(m.ingredients)
    )
    if not (p.spasticity and oral and p.duration is Duration.SUBACUTE_CHRONIC):
        return None
    if p.by_route("intrathecal"):
        return None  # already on a pump: the spasticity card says to review it
    text = CARDS["refractory-spasticity"]
    d = Draft("refractory-spasticity", fit_summary(text.summaries["default"], drugs=_names(oral)))
    d.do = list(text.advice.values())
    d.evidence = list(p.spasticity) + [m.evidence for m in oral] + list(p.back_pain)
    actions = _alternatives(("botulinum_toxin", "intrathecal_baclofen"), pid, list(p.spasticity))
    d.suggestions = [
        suggestion(
            "botox",
            "Refer for botulinum toxin (focal spasticity)",
            [actions["botulinum_toxin"]],
        ),
        suggestion(
            "itb",
            "Refer for intrathecal baclofen assessment",
            [actions["intrathecal_baclofen"]],
        ),
    ]
    d.selection = "at-most-one"
    return finish(d, pid)


def refractory_neuropathic(p: PainProfile, pid: str) -> Card | None:
    gaba, other = p.meds_in("gabapentinoid"), p.meds_in("tca") + p.meds_in("snri")
    if not (p.neuropathic and gaba and other and p.duration is Duration.SUBACUTE_CHRONIC):
        return None
    text = CARDS["refractory-neuropathic"]
    drugs = _names(gaba + other)
    d = Draft("refractory-neuropathic", fit_summary(text.summaries["default"], drugs=drugs))
    d.do = list(text.advice.values())
    d.evidence = list(p.neuropathic) + [m.evidence for m in gaba + other]
    return finish(d, pid)


def opioid_active(p: PainProfile, pid: str) -> Card | None:
    opioids = p.meds_in("opioid")
    if not opioids:
        return None
    text = CARDS["opioid-active"]
    index = safety.index_of(p)
    pairs = [c for m in opioids for c in safety.interactions(safety.drug_of(m), index)]
    others = tuple(
        {
            c.partner.resource: c.partner
            for c in pairs
            if c.partner is not None and "opioid" not in c.partner.classes
        }.values()
    )
    d = Draft("opioid-active", "")
    d.do = [text.advice["review"]]
    d.evidence = [m.evidence for m in opioids + others]
    if others:
        d.summary = fit_summary(text.summaries["cns"], drugs=_names(opioids), others=_names(others))
        d.cautions.append(text.advice["cns"].format(others=_names(others)))
    else:
        d.summary = fit_summary(text.summaries["default"], drugs=_names(opioids))
    return finish(d, pid)


def dmt_injection_pain(p: PainProfile, pid: str) -> Card | None:
    dmts = p.meds_in("dmt_injectable")
    if not dmts or not (p.pain_documented or p.has_back_pain):
        return None
    text = CARDS["dmt-injection-pain"]
    d = Draft("dmt-injection-pain", fit_summary(text.summaries["default"], drugs=_names(dmts)))
    d.do = [text.advice["technique"]]
    d.evidence = [m.evidence for m in dmts] + list(p.pain_documented or p.back_pain)
    return finish(d, pid)


_TREATMENT: tuple[Callable[[PainProfile, str], Card | None], ...] = (
    spasticity,
    neuropathic,
    chronic_care,
    refractory_spasticity,
    refractory_neuropathic,
)


def ms_relapse(p: PainProfile, pid: str) -> Card | None:
    relapse = p.evidence_for("ms_relapse")
    if not relapse or not (p.has_back_pain or p.pain_documented):
        return None
    text = CARDS["ms-relapse"]
    infection = [e for c in _INFECTIONS for e in p.evidence_for(c)]
    if infection:
        summary = fit_summary(text.summaries["infection"], infection=infection[0].display)
    else:
        summary = text.summaries["default"]
    d = Draft("ms-relapse", summary)
    d.do = [text.advice["infection"], text.advice["neurology"], text.advice["steroids"]]
    d.evidence = list(relapse) + infection + list(p.back_pain or p.pain_documented)
    return finish(d, pid)


# Infections that cause an MS pseudo-relapse (concept ids of mappings/data/concepts.csv).
_INFECTIONS = ("urinary_infection", "fever")


def under_18(p: PainProfile, pid: str) -> Card | None:
    if not (p.has_back_pain or p.pain_documented):
        return None
    text = CARDS["under-18"]
    d = Draft("under-18", text.summaries["default"])
    d.do = [text.advice["paediatric"]]
    d.evidence = list(p.back_pain or p.pain_documented)
    d.notes = [f"Age {p.age}."]
    return finish(d, pid)


def patient_view_cards(p: PainProfile, pid: str) -> list[Card]:
    """Every patient-view card the profile earns; treatment waits while a hard red flag stands,
    and is not offered under 18 (adult doses)."""
    cards: list[Card | None] = []
    flags = hard_flags(p)
    if flags:
        cards.append(red_flag(p, pid, flags))
    else:
        cards.append(red_flag_risk(p, pid))
    cards.append(pain_not_assessed(p, pid))
    cards.append(ms_relapse(p, pid))
    if p.age is not None and p.age < T.adult_age:
        if not flags:
            cards.append(under_18(p, pid))
    elif not flags:
        if p.has_back_pain:
            cards.append(first_line(p, pid))
        cards += [rule(p, pid) for rule in _TREATMENT]
    cards += [opioid_active(p, pid), dmt_injection_pain(p, pid)]
    return [c for c in cards if c is not None]

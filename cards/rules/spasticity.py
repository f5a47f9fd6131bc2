"""Card `spasticity`: antispasticity drugs and physiotherapy for spasticity-related back pain.

When: back pain with spasticity (a spasticity finding, or an antispasticity drug taken by mouth
    or by an intrathecal pump), no hard red flag, age {adult_age} or older.
Then: an info card in one of three forms. On intrathecal baclofen: review the pump with the
    spasticity service, no oral titration advice. Already on an oral antispasticity drug: titrate
    it to effect before adding another, with its cautions. Otherwise: baclofen or tizanidine
    (reduced-dose baclofen when a kidney caution holds), each left out when the safety tables
    block it; proposes the drugs that pass (at-most-one, the first recommended); physiotherapy;
    gabapentin or levetiracetam for phasic spasticity.
Source: the MS back-pain treatment guide (baclofen FDA-approved for MS spasticity; tizanidine
    dosing); drug labels via the safety tables (docs/safety-rules.md).
Reads: profile `spasticity`, `back_pain`; active medications of class `antispasticity` and
    intrathecal ones (route from mappings/data/medication_safety/routes.csv); the safety tables
    (interactions.csv, contraindications.csv, kidney_codes.csv) for baclofen, tizanidine and each
    antispasticity drug taken.
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, finish, suggestion
from cards.content import CARDS
from cards.model import Card
from cards.products import DRUGS
from cards.rules._shared import (
    alternatives,
    check,
    evidence_of,
    left_out,
    names,
    short,
    taken_concerns,
    texts,
)
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("spasticity",)


def spasticity(p: PainProfile, pid: str) -> Card | None:
    if not p.spasticity or not p.has_back_pain:
        return None
    text = CARDS["spasticity"]
    a, line = text.advice, text.cautions["drug"]
    d = Draft("spasticity", "")
    d.evidence = list(p.spasticity) + list(p.back_pain)
    pump = tuple(m for m in p.by_route("intrathecal") if "antispasticity" in m.classes)
    if pump:
        d.summary = text.summaries["itb"]
        d.do = [a["itb"].format(drugs=names(pump)), a["physiotherapy"]]
        return finish(d, pid)
    current = p.meds_in("antispasticity")
    if current:
        d.summary = fit_summary(text.summaries["titrate"], drug=short(current))
        d.do = [a["titrate"].format(drugs=names(current)), a["phasic"], a["physiotherapy"]]
        for m in current:
            for c in taken_concerns(p, m):
                d.cautions.append(line.format(drug=m.display, concern=c.text))
                d.evidence += c.evidence
        return finish(d, pid)

    options: list[str] = []
    for key in ("baclofen", "tizanidine"):
        found = check(p, DRUGS[key].ingredient)
        if blocked := safety.blocking(found):
            d.cautions.append(left_out(texts(blocked), drug=DRUGS[key].ingredient))
            d.evidence += evidence_of(blocked)
            continue
        drug = safety.product(DRUGS[key].ingredient, safety.index_of(p).knowledge)
        states = safety.cautions(safety.state_concerns(drug, p))
        if states and f"{key}_renal" in DRUGS:
            key = f"{key}_renal"
        d.do.append(a[key])
        for c in found:
            d.cautions.append(line.format(drug=DRUGS[key].ingredient.capitalize(), concern=c.text))
            d.evidence += c.evidence
        options.append(key)
    d.do += [a["physiotherapy"], a["phasic"]]
    actions = alternatives(options, pid, d.evidence[:3])
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

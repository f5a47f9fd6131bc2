"""Card `first-line`: analgesia, staying active and physiotherapy for back pain in MS.

When: back pain is recorded, no hard red flag stands, and the patient is
    {adult_age} or older (the dispatcher, `cards.patient_view`, holds the card back otherwise).
Then: an info card (a warning when an NSAID already taken is unsafe for this patient): an NSAID
    at the lowest dose for the shortest time, or acetaminophen when NSAIDs are left out by the
    safety tables, or keep the analgesic already taken; stay active; physiotherapy. Proposes
    ibuprofen 400 mg or acetaminophen 500 mg (never both, never when an analgesic of that kind
    is taken) and a physiotherapy referral (selectionBehavior any). Quotes each drug's cautions,
    what was left out and why, an unknown kidney function, and the MS nuance.
Source: ACP 2017 low back pain guideline (first line: NSAID, staying active); the MS back-pain
    treatment guide; drug labels via the safety tables (docs/safety-rules.md).
Reads: profile `back_pain`, `musculoskeletal`, `spasticity`, `neuropathic`, `risk_factors`,
    `egfr` and `kidney`; active medications of classes `nsaid` (not taken as an `antiplatelet`)
    and `acetaminophen`; the safety tables (mappings/data/medication_safety/interactions.csv,
    contraindications.csv, dose_limits.csv, kidney_codes.csv) for ibuprofen, acetaminophen and
    each NSAID taken; findings of `mappings.concepts.MS_COMMON_FINDINGS`.
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, finish, suggestion
from cards.content import CARDS, CONCERNS
from cards.model import Card
from cards.patient_state import kidney_fact
from cards.products import DRUGS
from cards.red_flags import ms_nuance
from cards.rules._shared import (
    check,
    evidence_of,
    left_out,
    names,
    propose,
    sentence,
    taken_concerns,
    texts,
)
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("first-line",)
_TEXT = CARDS["first-line"]


def first_line(p: PainProfile, pid: str) -> Card:
    a, cautions = _TEXT.advice, _TEXT.cautions
    d = Draft("first-line", "")
    d.evidence = list(p.back_pain) + list(p.musculoskeletal)
    # aspirin is an NSAID, but taken as an antiplatelet it is a risk, not back-pain analgesia
    nsaids = tuple(m for m in p.meds_in("nsaid") if "antiplatelet" not in m.classes)
    apap = p.meds_in("acetaminophen")
    nsaid = DRUGS["ibuprofen"].ingredient
    found = check(p, nsaid)
    risks = safety.blocking(found)
    variant = "none"
    if nsaids:
        d.do.append(a["on_analgesic"].format(drugs=names(nsaids)))
        taken = CONCERNS["already_taken"].format(what=names(nsaids))
        d.cautions.append(left_out([taken], cautions["nsaid_taken"]))
        current = [c for m in nsaids for c in taken_concerns(p, m)]
        if unsafe := safety.blocking(current):
            d.indicator = "warning"  # an NSAID already taken that this patient should not take
            d.cautions.append(cautions["nsaid_unsafe"].format(concerns="; ".join(texts(unsafe))))
    elif risks:
        d.cautions.append(left_out(texts(risks), cautions["nsaids_left_out"]))
        if apap:
            d.do.append(a["on_analgesic"].format(drugs=names(apap)))
        else:
            variant = "acetaminophen"
            d.do.append(a["acetaminophen"])
            action = propose("acetaminophen", pid, d.evidence)
            d.suggestions.append(
                suggestion("acetaminophen", DRUGS["acetaminophen"].label, [action])
            )
    else:
        variant = "nsaid"
        d.do.append(a["nsaid"])
        d.cautions += [sentence(c.text) for c in found]
        if unknown := safety.kidney_check(p, safety.product(nsaid, safety.index_of(p).knowledge)):
            d.cautions.append(sentence(unknown))
        elif fact := kidney_fact(p):
            d.do.append(a["kidney"].format(egfr=fact[1].text))
        if apap:
            d.do.append(a["on_analgesic"].format(drugs=names(apap)))
        action = propose("ibuprofen", pid, d.evidence)
        d.suggestions.append(suggestion("ibuprofen", DRUGS["ibuprofen"].label, [action]))
    if variant == "acetaminophen":
        for c in check(p, DRUGS["acetaminophen"].ingredient):
            d.cautions.append(sentence(c.text))
            d.evidence += c.evidence
    d.evidence += evidence_of(found)
    d.do += [a["stay_active"], a["physiotherapy"]]
    if p.spasticity or p.neuropathic:
        d.do.append(a["components"])
    if p.risk_factors:
        d.cautions.insert(0, a["risk_factors"])
    if nuance := ms_nuance(p):
        d.cautions.append(nuance)
    physio = propose("physiotherapy", pid, list(p.back_pain))
    d.suggestions.append(suggestion("physiotherapy", _TEXT.labels["physiotherapy"], [physio]))
    d.summary = _SUMMARIES[variant]
    return finish(d, pid)


# The first-line summaries name no patient detail: filled in once, here.
_SUMMARIES = {
    variant: fit_summary(template, drug=DRUGS["ibuprofen"].ingredient)
    for variant, template in _TEXT.summaries.items()
}

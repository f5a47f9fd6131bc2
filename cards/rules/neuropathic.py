"""Card `neuropathic`: an antidepressant or an anticonvulsant for MS neuropathic pain.

When: neuropathic features (a finding, or a TCA, gabapentinoid or neuropathic anticonvulsant
    given for pain, or with none of its competing indications recorded: indications.csv) with
    back pain or documented pain, no hard red flag, age {adult_age} or older, and not already on
    both a gabapentinoid and a TCA or SNRI (the refractory card speaks then).
Then: an info card: amitriptyline (first line) and gabapentin (a renal dose and ceiling when
    kidney function sets one), each left out when already taken or blocked by the safety tables;
    combine mechanisms; named alternatives (pregabalin, duloxetine, venlafaxine). Proposes the
    drugs that pass (at-most-one, the first recommended); on one mechanism, suggests adding the
    other.
Source: the MS back-pain treatment guide (burning dysesthesia; combining mechanisms);
    gabapentin label renal table (dose_limits.csv); drug labels via the safety tables
    (docs/safety-rules.md).
Reads: profile `neuropathic`, `back_pain`, `pain_documented`; active medications of classes
    `gabapentinoid`, `tca`, `snri`; the safety tables (interactions.csv, contraindications.csv,
    dose_limits.csv, kidney_codes.csv) for amitriptyline and gabapentin.
"""

from __future__ import annotations

from cards import safety
from cards.build import Draft, finish, suggestion
from cards.content import CARDS, CONCERNS
from cards.model import Card
from cards.products import DRUGS
from cards.rules._shared import alternatives, check, evidence_of, left_out, names, short, texts
from cards.summary import fit_summary
from mappings.profile import PainProfile

KINDS = ("neuropathic",)


def neuropathic(p: PainProfile, pid: str) -> Card | None:
    if not p.neuropathic or not (p.has_back_pain or p.pain_documented):
        return None
    on_gaba, on_tca, on_snri = p.meds_in("gabapentinoid"), p.meds_in("tca"), p.meds_in("snri")
    if on_gaba and (on_tca or on_snri):
        return None  # both mechanisms already used: nothing new to say (see refractory card)
    text = CARDS["neuropathic"]
    a, cautions, taken = text.advice, text.cautions, CONCERNS["already_taken"]
    d = Draft("neuropathic", "")
    d.evidence = list(p.neuropathic) + list(p.back_pain or p.pain_documented)
    options: list[str] = []
    if on_tca or on_snri:
        reason = taken.format(what=names(on_tca + on_snri))
        d.cautions.append(left_out([reason], cautions["amitriptyline_taken"]))
    elif risks := safety.blocking(check(p, DRUGS["amitriptyline"].ingredient)):
        d.cautions.append(left_out(texts(risks), cautions["amitriptyline_unsafe"]))
        d.evidence += evidence_of(risks)
    else:
        d.do.append(a["amitriptyline"])
        options.append("amitriptyline")
    gabapentin = DRUGS["gabapentin"].ingredient
    if on_gaba:
        reason = taken.format(what=names(on_gaba))
        d.cautions.append(left_out([reason], cautions["gabapentin_left_out"]))
    elif risks := safety.blocking(found := check(p, gabapentin)):
        d.cautions.append(left_out(texts(risks), cautions["gabapentin_left_out"]))
        d.evidence += evidence_of(risks)
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
            d.cautions.append(cautions["gabapentin"].format(concern=c.text))
            d.evidence += c.evidence
        options.append(key)
    d.do += [a["combine"], a["alternatives"]]
    actions = alternatives(options, pid, d.evidence[:3])
    for i, key in enumerate(options):
        d.suggestions.append(suggestion(key, DRUGS[key].label, [actions[key]], i == 0))
    d.selection = "at-most-one"
    current = on_gaba + on_tca + on_snri
    if current and options:
        d.summary = fit_summary(
            text.summaries["add"], current=short(current), drug=DRUGS[options[0]].ingredient
        )
    elif len(options) == 2:
        d.summary = text.summaries["both"]
    elif options:
        d.summary = text.summaries["gabapentin" if "amitriptyline" not in options else "both"]
    else:
        d.summary = text.summaries["none"]
    return finish(d, pid)

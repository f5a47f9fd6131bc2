"""Hand-built PainProfiles and DraftOrders for card tests (no mappings classifier involved).

Dates are relative to today so fixtures never rot.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date, timedelta

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.model import Card
from mappings.profile import (
    DraftOrder,
    Duration,
    Evidence,
    Measurement,
    Medication,
    PainProfile,
    RedFlag,
)

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TODAY = date.today()
PID = "pat-1"
CLINICIAN = "Practitioner/doc-1"


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def ev(
    concept: str,
    display: str,
    code: str = "x1",
    system: str = SNOMED,
    resource: str | None = None,
    days: int | None = 10,
) -> Evidence:
    return Evidence(
        resource=resource or f"Condition/{concept.replace('_', '-')}",
        concept=concept,
        system=system,
        code=code,
        display=display,
        date=ago(days) if days is not None else None,
    )


MS = ev("ms", "Relapsing-remitting multiple sclerosis", "426373005", resource="Condition/ms")
BACK = ev("back_pain", "Low back pain", "279039007", resource="Condition/lbp")

# class sets per ingredient, as mappings would resolve them
CLASSES = {
    "ibuprofen": {"nsaid"},
    "naproxen": {"nsaid"},
    "acetaminophen": {"acetaminophen"},
    "baclofen": {"antispasticity"},
    "tizanidine": {"antispasticity"},
    "cyclobenzaprine": {"muscle_relaxant_other"},
    "gabapentin": {"gabapentinoid"},
    "pregabalin": {"gabapentinoid"},
    "amitriptyline": {"tca", "serotonergic"},
    "duloxetine": {"snri", "serotonergic"},
    "sertraline": {"ssri", "serotonergic"},
    "oxycodone": {"opioid"},
    "tramadol": {"opioid", "serotonergic"},
    "diazepam": {"benzodiazepine"},
    "ciprofloxacin": {"cyp1a2_inhibitor"},
    "fluvoxamine": {"cyp1a2_inhibitor", "ssri", "serotonergic"},
    "mexiletine": {"cyp1a2_inhibitor"},
    "warfarin": {"anticoagulant"},
    "clopidogrel": {"antiplatelet"},
    "aspirin": {"antiplatelet", "nsaid"},
    "interferon beta-1a": {"dmt_injectable"},
    "glatiramer": {"dmt_injectable"},
}


def med(ingredient: str, resource: str | None = None, display: str | None = None) -> Medication:
    resource = resource or f"MedicationRequest/{ingredient.replace(' ', '-')}"
    display = display or f"{ingredient} tablet"
    return Medication(
        resource=resource,
        display=display,
        ingredients=(ingredient,),
        classes=frozenset(CLASSES[ingredient]),
        status="active",
        evidence=Evidence(resource, "medication", RXNORM, "1", display, ago(30)),
    )


def flag(category: str, label: str, hard: bool) -> RedFlag:
    return RedFlag(category, label, hard, ev(category, label))


def egfr(value: float) -> Measurement:
    return Measurement(
        value,
        "mL/min/1.73m2",
        ago(20),
        ev("egfr", "eGFR CKD-EPI 2021", "98979-8", "http://loinc.org", "Observation/egfr", 20),
    )


def profile(
    *,
    ms: bool = True,
    back_pain: bool = True,
    onset_days: int | None = 7,
    neuropathic: bool = False,
    spasticity: bool = False,
    red_flags: tuple[RedFlag, ...] = (),
    findings: dict[str, str] | None = None,
    meds: tuple[Medication, ...] = (),
    age: int | None = 45,
    egfr_value: float | None = None,
    pain_documented: bool | None = None,
) -> PainProfile:
    """A profile: MS + acute back pain by default; `findings` maps concept -> display."""
    onset = ago(onset_days) if back_pain and onset_days is not None else None
    if onset is None:
        duration = Duration.UNKNOWN
    elif onset_days >= 28:
        duration = Duration.SUBACUTE_CHRONIC
    else:
        duration = Duration.ACUTE
    back = (BACK,) if back_pain else ()
    documented = back if pain_documented is None else ((BACK,) if pain_documented else ())
    return PainProfile(
        patient_id=PID,
        ms=(MS,) if ms else (),
        ms_subtype="RRMS" if ms else None,
        back_pain=back,
        onset=onset,
        duration=duration,
        neuropathic=(ev("neuropathic", "Burning dysesthesia", "x2"),) if neuropathic else (),
        spasticity=(ev("spasticity", "Spasticity", "221360009"),) if spasticity else (),
        musculoskeletal=back,
        red_flags=red_flags,
        findings={k: (ev(k, v),) for k, v in (findings or {}).items()},
        meds=meds,
        age=age,
        egfr=egfr(egfr_value) if egfr_value is not None else None,
        pain_documented=documented,
    )


def order(
    kind: str,
    *,
    id: str | None = "draft-1",
    display: str = "MRI lumbar spine without contrast",
    rtype: str = "ServiceRequest",
    reasons: frozenset[str] = frozenset(),
    selected: bool = True,
    medication: Medication | None = None,
) -> DraftOrder:
    ref = f"{rtype}/{id}" if id else f"{rtype}/#1"
    return DraftOrder(
        reference=ref,
        resource_type=rtype,
        id=id,
        display=display,
        kinds=frozenset({kind}) if kind else frozenset(),
        medication=medication,
        reason_concepts=reasons,
        evidence=(Evidence(ref, kind or "order", "text", display, display, None),),
        selected=selected,
    )


def med_order(ingredient: str, id: str = "rx-1", selected: bool = True) -> DraftOrder:
    m = med(ingredient, resource=f"MedicationRequest/{id}", display=f"{ingredient} (draft)")
    return order(
        "medication",
        id=id,
        display=m.display,
        rtype="MedicationRequest",
        medication=m,
        selected=selected,
    )


_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!]")


def check(cards: list[Card]) -> list[Card]:
    """Protocol invariants every card must meet; returns the cards for chaining."""
    order_rank = {"critical": 0, "warning": 1, "info": 2}
    assert [order_rank[c.indicator] for c in cards] == sorted(
        order_rank[c.indicator] for c in cards
    )
    uuids = [c.uuid for c in cards] + [s.uuid for c in cards for s in c.suggestions]
    assert all(uuids) and len(uuids) == len(set(uuids)), uuids
    for c in cards:
        assert len(c.summary) < 140, c.summary
        assert c.detail and not _HTML.search(c.detail), c.detail
        assert "|" not in c.detail  # no tables
        assert "### Why this card" in c.detail
        assert c.source.label and c.source.url and c.source.url.startswith("https://")
        if c.indicator in ("warning", "critical"):
            assert c.overrideReasons and all(
                r.display and r.system and r.code for r in c.overrideReasons
            )
        for link in c.links:
            assert link.type == "absolute" and link.url.startswith("https://")
        if c.suggestions:
            assert c.selectionBehavior in ("any", "at-most-one")
        for s in c.suggestions:
            assert s.actions
            for a in s.actions:
                assert a.description
                if a.type == "create":
                    validate(a.resource)
                elif a.type == "delete":
                    assert re.match(r"^(ServiceRequest|MedicationRequest)/[^#/]+$", a.resourceId)
        c.dump()  # serialises
    return cards


def validate(resource: dict) -> None:
    model = {"MedicationRequest": MedicationRequest, "ServiceRequest": ServiceRequest}[
        resource["resourceType"]
    ]
    model.model_validate(resource)
    assert resource["status"] == "draft" and resource["intent"] == "proposal"
    assert resource["subject"]["reference"].startswith("Patient/")
    if resource["resourceType"] == "MedicationRequest":
        mcc = resource["medicationCodeableConcept"]
        assert mcc["text"] and mcc["coding"][0]["code"]
        assert mcc["coding"][0]["system"] == RXNORM and mcc["coding"][0]["display"]
        assert resource["dosageInstruction"][0]["text"]


def by_kind(cards: list[Card]) -> dict[str, Card]:
    """Cards keyed by kind, recognised by their catalogue lead line."""
    from cards.content import CARDS

    out = {}
    for c in cards:
        kinds = [k for k, t in CARDS.items() if c.detail.startswith(f"**{t.lead}**")]
        assert len(kinds) == 1, c.detail[:80]
        out[kinds[0]] = c
    return out


def created(card: Card) -> list[dict]:
    return [a.resource for s in card.suggestions for a in s.actions if a.type == "create"]


def codes(card: Card) -> list[str]:
    out = []
    for r in created(card):
        cc = r.get("medicationCodeableConcept") or r.get("code")
        out.append(cc["coding"][0]["code"])
    return out


def lines_run(call: Callable[[], object]) -> int:
    """How many Python lines `call()` runs: work counted, not timed."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        count += 1
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return count

"""The pain profile: what `mappings` learns about a patient, each fact with its evidence.

Immutable and free of FHIR parsing, so `cards` can reason on it and tests can build one by hand.
Concept ids (the strings in `findings`, `RedFlag.category`, `Medication.classes`,
`DraftOrder.kinds`) are defined by the data files in `mappings/data/`; the ones the rules rely on
are listed in `mappings/concepts.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a fact is believed: the resource, the coding (or text) that matched, and its date."""

    resource: str  # "Condition/123"
    concept: str  # the concept id that matched, e.g. "spasticity"
    system: str  # the coding system, or "text" when a display/text matched by words
    code: str  # the code, or the matched words for a text match
    display: str  # the human display of what matched
    date: date | None = None

    def describe(self, display: str | None = None) -> str:
        """One line for a card's "Why this card" list (`display`: the display as quoted, when
        the card shortens or sanitises it)."""
        when = f", {self.date.isoformat()}" if self.date else ""
        code = f" ({self.coding()})" if self.system != "text" else ""
        return f"{self.display if display is None else display}{code}{when} [{self.resource}]"

    def coding(self) -> str:
        """The code as a card names it ("RxNorm 1049621"); "" for words matched in text."""
        return "" if self.system == "text" else f"{_system_name(self.system)} {self.code}"


# A frozen dataclass's __init__ sets each field through object.__setattr__; the classifier builds
# dozens per call, so `new_evidence` sets the slots directly (docs/performance.md, figures behind
# the code).
_new = object.__new__
_set_resource, _set_concept, _set_system, _set_code, _set_display, _set_date = (
    getattr(Evidence, f.name).__set__ for f in fields(Evidence)
)


def new_evidence(
    resource: str, concept: str, system: str, code: str, display: str, when: date | None
) -> Evidence:
    """`Evidence(resource, concept, system, code, display, when)`, built faster."""
    evidence = _new(Evidence)
    _set_resource(evidence, resource)
    _set_concept(evidence, concept)
    _set_system(evidence, system)
    _set_code(evidence, code)
    _set_display(evidence, display)
    _set_date(evidence, when)
    return evidence


@dataclass(frozen=True, slots=True)
class DailyDose:
    """The most a medication's instructions allow a day, per ingredient, and how it was worked
    out (quoted on cards, so a clinician can check the arithmetic)."""

    mg: Mapping[str, float]  # ingredient -> mg a day
    how: str  # e.g. "16 mg 3 times a day = 48 mg/day"


@dataclass(frozen=True, slots=True)
class Medication:
    """An active medication (or a draft order's medication), resolved to ingredients and classes.

    `route` says whether the safety checks read it: "systemic" (the default when nothing says
    otherwise), "local" (eye, ear, skin, nose: no systemic check applies) or "intrathecal" (a
    baclofen pump: its own state).
    """

    resource: str  # "MedicationRequest/abc"
    display: str
    ingredients: tuple[str, ...]  # lower-case ingredient names, e.g. ("tizanidine",)
    classes: frozenset[str]  # e.g. {"antispasticity"}
    status: str
    evidence: Evidence
    route: str = "systemic"
    dose_form: str = ""  # RxNorm dose form when known, e.g. "Otic Solution"
    reasons: frozenset[str] = frozenset()  # concepts of reasonCode / reasonReference
    # What the daily dose is worked out from, when a check needs it: most charts' drugs never
    # meet a dose check, so it is not computed for every medication read.
    dosage: tuple[Mapping[str, object], ...] = ()
    product: str = ""  # the RxNorm product name (its strengths), or the display

    @property
    def systemic(self) -> bool:
        return self.route == "systemic"


@dataclass(frozen=True, slots=True)
class Measurement:
    """The latest usable Observation value for a quantity such as eGFR."""

    value: float
    unit: str
    date: date | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class RedFlag:
    """A red flag (hard: urgent evaluation) or a risk factor (soft: rule out first)."""

    category: str  # concept id, e.g. "cauda_equina"
    label: str  # e.g. "Cauda equina syndrome"
    hard: bool
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Pregnancy:
    """A current pregnancy; `weeks` of gestation today when the chart says (else None)."""

    weeks: float | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Kidney:
    """Kidney state from Conditions and procedures (CKD stage, end-stage disease, dialysis).

    `egfr_below` is the bound the codes put on eGFR (CKD stage 4: below 30); `overrides` is True
    when it holds whatever a measured eGFR says (dialysis, end-stage disease).
    """

    egfr_below: float
    overrides: bool
    label: str
    evidence: tuple[Evidence, ...]


class Duration(StrEnum):
    ACUTE = "acute"
    SUBACUTE_CHRONIC = "subacute_chronic"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """One draft order from `context.draftOrders`, classified for the order hooks."""

    reference: str  # "ServiceRequest/abc" (or "ServiceRequest/#2" when the draft has no id)
    resource_type: str  # "MedicationRequest" or "ServiceRequest"
    id: str | None
    display: str  # best human label, "unnamed order" when nothing is coded yet
    kinds: frozenset[str]  # e.g. {"spine_imaging"}, {"bed_rest"}, {"medication"}
    medication: Medication | None = None
    reason_concepts: frozenset[str] = frozenset()  # concepts in reasonCode, e.g. {"ms"}
    evidence: tuple[Evidence, ...] = ()
    # True for the orders the hook focuses on: order-select's `selections` (every draft when
    # that list is empty), every draft for order-sign. Unselected drafts still count as
    # "co-ordered" for interaction checks.
    selected: bool = True


_EMPTY: Mapping[str, tuple[Evidence, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PainProfile:
    """Everything the card rules need to know about one patient."""

    patient_id: str | None = None
    ms: tuple[Evidence, ...] = ()
    ms_subtype: str | None = None  # "RRMS", "SPMS", "PPMS" for display
    back_pain: tuple[Evidence, ...] = ()
    onset: date | None = None
    duration: Duration = Duration.UNKNOWN
    neuropathic: tuple[Evidence, ...] = ()
    spasticity: tuple[Evidence, ...] = ()
    musculoskeletal: tuple[Evidence, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()
    findings: Mapping[str, tuple[Evidence, ...]] = field(default_factory=lambda: _EMPTY)
    meds: tuple[Medication, ...] = ()
    age: int | None = None
    egfr: Measurement | None = None
    pain_documented: tuple[Evidence, ...] = ()
    # Pain scores of any value (0/10 included): pain was asked about, even if there is none.
    pain_assessed: tuple[Evidence, ...] = ()
    # Medications that no systemic check reads: local products and intrathecal baclofen.
    other_route_meds: tuple[Medication, ...] = ()
    kidney: Kidney | None = None
    pregnancy: Pregnancy | None = None
    lactation: tuple[Evidence, ...] = ()
    deceased: bool = False
    # The day the chart was read for: "new" and "recent" are measured from it, not the clock.
    as_of: date | None = None
    # Answers the card rules work out once per profile (patient-state facts, the medication
    # index): the rules ask the same questions for every drug they check. Not part of equality.
    # Each key's answer has the type the code making that key gives it, which its readers state.
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_ms(self) -> bool:
        return bool(self.ms)

    @property
    def has_back_pain(self) -> bool:
        return bool(self.back_pain)

    @property
    def hard_red_flags(self) -> tuple[RedFlag, ...]:
        return tuple(f for f in self.red_flags if f.hard)

    @property
    def risk_factors(self) -> tuple[RedFlag, ...]:
        return tuple(f for f in self.red_flags if not f.hard)

    def has(self, concept: str) -> bool:
        """True when an active Condition/Observation matched `concept` (see `findings`)."""
        return bool(self.findings.get(concept))

    def evidence_for(self, concept: str) -> tuple[Evidence, ...]:
        return self.findings.get(concept, ())

    def meds_in(self, drug_class: str) -> tuple[Medication, ...]:
        return tuple(m for m in self.meds if drug_class in m.classes)

    def on(self, drug_class: str) -> bool:
        return any(drug_class in m.classes for m in self.meds)

    def takes(self, ingredient: str) -> bool:
        return any(ingredient in m.ingredients for m in self.meds)

    def by_route(self, route: str) -> tuple[Medication, ...]:
        """Medications of a route other than systemic ("local", "intrathecal")."""
        return tuple(m for m in self.other_route_meds if m.route == route)


_SYSTEM_NAMES = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://loinc.org": "LOINC",
    "http://www.ama-assn.org/go/cpt": "CPT",
}


def _system_name(system: str) -> str:
    return _SYSTEM_NAMES.get(system, system)

"""The classifier: a patient's plain FHIR dicts -> an immutable `PainProfile` with evidence.

Pure and lenient: no I/O, no validation models, never raises on bad input (a resource that cannot
be read is skipped). Status rules follow the project's clinical rules (docs/clinical-sources.md),
with the statuses each concept counts in mappings/data/context.csv.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from mappings import concepts as C
from mappings.assembly import Findings, Reading, build_profile
from mappings.elements import OBSERVATION_VALUES
from mappings.fhir import (
    Decode,
    ResourceIndex,
    codings,
    concept_texts,
    dicts,
    first_date,
    parse_date,
    reference_of,
    resource_id,
    resource_list,
    split_reference,
    status_code,
    status_tokens,
    text_of,
)
from mappings.loader import load_terminology
from mappings.medications import recognised_medication
from mappings.profile import Evidence, Medication, PainProfile, new_evidence
from mappings.terminology import ConceptContext, Terminology
from mappings.text import bounded_text
from mappings.text_budget import TextBudgetExceeded
from mappings.thresholds import THRESHOLDS

ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
DORMANT_CLINICAL = frozenset({"remission", "inactive"})  # count only where context.csv says
RELAPSING = frozenset({"recurrence", "relapse"})
_INJURY_LATER = frozenset("DGKSPQR")  # ICD-10-CM 7th characters of later encounters, sequelae
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
ACTIVE_REQUEST = frozenset({"active", "on-hold"})
ACTIVE_STATEMENT = frozenset({"active", "intended"})
EXCLUDED_OBSERVATION = frozenset({"entered-in-error", "cancelled"})
EXCLUDED_PROCEDURE = frozenset({"entered-in-error", "not-done", "preparation", "stopped"})
PROCEDURE_DATE_PATHS = ("performedDateTime", "performedPeriod.end", "performedPeriod.start")
DELIVERY_DATE = "delivery_date"  # an Observation whose value is the expected date of delivery
CONDITION_DATE_PATHS = ("onsetDateTime", "onsetPeriod.start", "recordedDate")
OBSERVATION_DATE_PATHS = (
    "effectiveDateTime",
    "effectivePeriod.end",
    "effectivePeriod.start",
    "effectiveInstant",
    "issued",
)
# Concept categories a Condition or Observation can establish (orders are for draft orders).
_FINDING_CATEGORIES = frozenset(
    {"scope", "pain_component", "hard_red_flag", "risk_factor", "ms_common", "safety", "finding"}
)
_OBSERVATION_MAX_AGE = timedelta(days=THRESHOLDS.observation_max_age_days)
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def match_concepts(
    term: Terminology, concept: Any, *, categories: frozenset[str] | None = None
) -> list[tuple[str, str, str, str]]:
    """(concept, system, code, display) per match; free text is read only when no code is known.

    A display is the caller's text as far as it is read (`bounded_text`): the cards quote it, and
    what lies past the bound was never read.
    """
    hits: list[tuple[str, str, str, str]] = []
    found = concept.get("coding") if concept.__class__ is dict else None
    for coding in found if found.__class__ is list else codings(concept):
        if not isinstance(coding, dict):
            continue
        code = coding.get("code")
        entry = term.lookup(coding.get("system"), code)
        if entry is None:
            continue
        if categories is not None and term.concepts[entry.concept].category not in categories:
            continue
        code = code.strip() if code.__class__ is str else str(code).strip()
        display = coding.get("display")
        display = display.strip() if display.__class__ is str else text_of(display)
        hits.append((entry.concept, entry.system, code, bounded_text(display) or entry.display))
    if hits:
        if term.text_always is not None:  # a few concepts' words count beside any code
            for text in concept_texts(concept):
                for cid, words in term.text_always.find(text):
                    if categories is None or term.concepts[cid].category in categories:
                        hits.append((cid, "text", words, bounded_text(text)))
        return hits
    if term.text is None:
        return hits
    for text in concept_texts(concept):
        for cid, words in term.text.find(text):
            if categories is None or term.concepts[cid].category in categories:
                hits.append((cid, "text", words, bounded_text(text)))
    return hits


def _condition_status(resource: Mapping[str, Any]) -> str | None:
    """The clinical status a Condition is read with: "active" (or recurrence, relapse; "active"
    when none is recorded), "remission" or "inactive" (which count for lifelong concepts only,
    context.csv), or None when it does not count (resolved, abated, refuted, entered in error)."""
    value = resource.get("clinicalStatus")
    token = status_code(value)
    if token is not None:
        if token not in ACTIVE_CLINICAL and token not in DORMANT_CLINICAL:
            return None
    elif clinical := status_tokens(value):
        found = clinical & ACTIVE_CLINICAL or clinical & DORMANT_CLINICAL
        if not found:
            return None
        token = sorted(found)[0]
    elif resource.get("abatementDateTime") or resource.get("abatementPeriod"):
        return None  # R4: an abated condition without a status is not active
    else:
        token = "active"
    value = resource.get("verificationStatus")
    code = status_code(value)
    if code is not None:
        return None if code in EXCLUDED_VERIFICATION else token
    return None if status_tokens(value) & EXCLUDED_VERIFICATION else token


def _observation_counts(resource: Mapping[str, Any]) -> bool:
    value = resource.get("status")
    token = status_code(value)
    if token is not None:
        return token not in EXCLUDED_OBSERVATION
    return not status_tokens(value) & EXCLUDED_OBSERVATION


def _subject_matches(resource: Mapping[str, Any], patient_id: str | None, own: str) -> bool:
    """False only when the resource names a different Patient than the one asked about.

    `own` is "Patient/<patient_id>": nearly every resource says exactly that, so it is compared
    first and the reference is only taken apart (full URL, `_history`) when it says something else.
    """
    subject = resource.get("subject")
    if subject.__class__ is dict and subject.get("reference") == own and "patient" not in resource:
        return True
    if not patient_id:
        return True
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict):
            reference = ref.get("reference")
            if reference == own:
                continue
            kind, rid = split_reference(reference)
            if kind == "Patient" and rid is not None and rid != patient_id:
                return False
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        digits = value.strip().lstrip("<>=≤≥ ").rstrip("+ ")
        try:
            return float(digits)
        except ValueError:
            return None
    return None


def _observation_value(resource: Mapping[str, Any]) -> tuple[float | None, str, bool]:
    """(numeric value, unit, has any value) of an Observation, components included."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict):
        written: Any = quantity.get("value")  # any JSON value
        kind = written.__class__  # a JSON number is a float or an int (not a bool): no call
        value = float(written) if kind is float or kind is int else _number(written)
        if value is not None:
            unit = quantity.get("unit")
            unit = unit.strip() if unit.__class__ is str else text_of(unit)
            return value, unit or text_of(quantity.get("code")), True
    for key in ("valueInteger", "valueDecimal", "valueString"):
        value = _number(resource.get(key))
        if value is not None:
            return value, "", True
    has_any = any(resource.get(k) not in (None, "", {}) for k in OBSERVATION_VALUES)
    if not has_any:
        has_any = any(
            any(k.startswith("value") for k in component)
            for component in dicts(resource.get("component"))
        )
    return None, "", has_any


class _Read:
    """What the resources read so far say: evidence, medications, measurements, the birth date."""

    __slots__ = (
        "birth",
        "deceased",
        "deliveries",
        "findings",
        "measurements",
        "meds",
        "pain_scores",
        "patient_seen",
        "today",
    )

    def __init__(self, term: Terminology, today: date) -> None:
        self.today = today
        self.findings = Findings(term)
        self.meds: list[Medication] = []
        self.measurements: dict[str, list[Reading]] = {}
        self.pain_scores: list[tuple[Evidence, float | None]] = []
        self.deliveries: list[tuple[date, Evidence]] = []  # expected delivery dates recorded
        self.birth: date | None = None
        self.deceased = False
        self.patient_seen = False


def classify(
    resources: Iterable[Any] | Mapping[str, Any] | None,
    *,
    today: date,
    patient_id: str | None = None,
    terminology: Terminology | None = None,
    consume: bool = False,
    decode: Decode | None = None,
) -> PainProfile:
    """Build the pain profile from a patient's FHIR resources (prefetch, resolved).

    `consume=True` hands a list over: classify empties it as it reads, so that each resource
    can be freed as soon as it has been read, while it is still in the CPU's caches. Freed
    after the whole chart instead, a large chart (more objects than the caches hold) is fetched
    from memory a second time (docs/performance.md, figures behind the code).

    `decode` is called on each item of the list that is not a dict (`mappings.fhir.Decode`): a
    caller that leaves resources encoded has each decoded only when it is read, so that it is
    decoded, read and freed while in the caches.
    """
    term = terminology or load_terminology()
    if isinstance(today, datetime):
        today = today.date()
    window_start = today - _OBSERVATION_MAX_AGE
    read = _Read(term, today)
    if resources.__class__ is list:
        # Nearly always a plain list of resource dicts, read as it is; from the first item that
        # is anything else (a Bundle, a bare entry, junk) on, the list is read flattened.
        indexes = (
            ResourceIndex(resources, "Medication", decode),
            ResourceIndex(resources, "Condition", decode),
        )
        stopped = _read(read, term, resources, indexes, patient_id, window_start, consume, decode)
        if stopped is not None:
            rest = resource_list(resources[stopped:], decode)
            _read(read, term, rest, indexes, patient_id, window_start, False, flat=True)
        if consume:
            resources.clear()
    else:
        items = resource_list(resources if resources is not None else ())
        indexes = (ResourceIndex(items, "Medication"), ResourceIndex(items, "Condition"))
        _read(read, term, items, indexes, patient_id, window_start, False, flat=True)
    return build_profile(
        term,
        read.findings,
        read.meds,
        read.measurements,
        read.pain_scores,
        patient_id,
        read.birth,
        today,
        deceased=read.deceased,
        deliveries=read.deliveries,
    )


def _read(
    read: _Read,
    term: Terminology,
    items: list[Any],
    indexes: tuple[ResourceIndex, ResourceIndex],
    patient_id: str | None,
    window_start: date,
    consume: bool,
    decode: Decode | None = None,
    *,
    flat: bool = False,
) -> int | None:
    """Add what `items` say to `read`; the index of the first item that needs flattening (when
    `items` is not `flat`), or None when all were read.

    With `consume`, each item read is dropped from `items` (Medications stay: `medications`
    indexes them on first use). With `decode`, an item that is not a dict is decoded in place.
    """
    findings, meds = read.findings, read.meds
    own = f"Patient/{patient_id}"
    medications, conditions = indexes

    for i in range(len(items)):
        resource = items[i]
        if resource.__class__ is not dict and decode is not None:
            resource = items[i] = decode(resource)
        if resource.__class__ is not dict and not flat:
            return i
        kind = resource.get("resourceType")
        if (kind.__class__ is not str or kind == "Bundle") and not flat:
            return i
        if consume and kind != "Medication":
            items[i] = None
        try:
            if kind == "Patient":
                rid = resource_id(resource)
                if patient_id and rid is not None and rid != patient_id:
                    continue
                if not read.patient_seen:
                    read.patient_seen = True
                    read.birth = first_date(resource, "birthDate")
                    read.deceased = resource.get("deceasedBoolean") is True or bool(
                        resource.get("deceasedDateTime")
                    )
            # The status first: most resources end there, and a 5,000-resource chart does not
            # fit in the CPU's caches, so every element not read is memory not fetched.
            elif kind == "Condition":
                status = _condition_status(resource)
                if status is not None and _subject_matches(resource, patient_id, own):
                    _read_condition(term, resource, findings, status, read.today)
            elif kind == "Observation":
                if _observation_counts(resource) and _subject_matches(resource, patient_id, own):
                    _read_observation(term, resource, read, window_start)
            elif kind == "MedicationRequest" or kind == "MedicationStatement":
                status = _medication_status(resource, kind)
                if status is not None and _subject_matches(resource, patient_id, own):
                    reasons = (
                        reason_concepts(term, resource, conditions)
                        if "reasonCode" in resource or "reasonReference" in resource
                        else frozenset()
                    )
                    med = recognised_medication(
                        resource, term, medications, status=status, reasons=reasons
                    )
                    if med is not None:
                        meds.append(med)
            elif (
                kind == "Procedure"
                and _procedure_counts(resource)
                and _subject_matches(resource, patient_id, own)
            ):
                _read_procedure(term, resource, findings, window_start)
        except TextBudgetExceeded:
            raise  # the call, not this resource, is refused
        except Exception:
            continue
    return None


def _read_condition(
    term: Terminology, resource: dict[str, Any], findings: Findings, status: str, today: date
) -> None:
    hits = match_concepts(term, resource.get("code"), categories=_FINDING_CATEGORIES)
    if not hits:
        return  # most of a chart's problems are outside the value sets
    ref = reference_of(resource)
    # The first path is nearly always there: read it before walking them all.
    when = parse_date(resource.get("onsetDateTime")) or first_date(resource, *CONDITION_DATE_PATHS)
    context = term.context
    for concept, system, code, display in hits:
        rules = context.get(concept)
        if rules is None:
            if status in ACTIVE_CLINICAL:
                findings.add(concept, ref, system, code, display, when)
            continue
        if not _reads(rules, status, system, code, when, today):
            continue
        findings.add(concept, ref, system, code, display, when)
        if rules.on_relapse is not None and status in RELAPSING:
            findings.add(rules.on_relapse, ref, system, code, f"{display} (relapse)", None)


def _reads(
    rules: ConceptContext, status: str, system: str, code: str, when: date | None, today: date
) -> bool:
    """Does a finding count, read in context (context.csv): its status, the ICD-10-CM 7th
    character of an injury, its recency?"""
    if status not in (rules.statuses or ACTIVE_CLINICAL):
        return False
    if rules.initial_encounter and system == ICD10CM:
        plain = code.replace(".", "").strip().upper()
        if len(plain) == 7 and plain[-1] in _INJURY_LATER:
            return False  # a healed or old injury: history, not a new fracture
    window = rules.window_days
    return window is None or when is None or (today - when).days <= window


def _read_observation(
    term: Terminology, resource: dict[str, Any], read: _Read, window_start: date
) -> None:
    findings, measurements, pain_scores = read.findings, read.measurements, read.pain_scores
    hits = match_concepts(term, resource.get("code"))
    coded_value = resource.get("valueCodeableConcept")
    if not hits and coded_value is None:
        return  # most Observations (vitals, other labs) stop here
    ref = reference_of(resource)
    when = parse_date(resource.get("effectiveDateTime")) or first_date(
        resource, *OBSERVATION_DATE_PATHS
    )
    recent = when is None or when >= window_start
    value, unit, has_value = _observation_value(resource)
    for concept, system, code, display in hits:
        category = term.concepts[concept].category
        if category == "observation":
            if not has_value:
                continue
            if concept == "pain_score" and when is not None and recent:
                found = new_evidence(ref, concept, system, code, display, when)
                pain_scores.append((found, value))
            elif concept == DELIVERY_DATE and recent:
                due = parse_date(resource.get("valueDateTime"))
                if due is not None:
                    found = new_evidence(ref, concept, system, code, display, when)
                    read.deliveries.append((due, found))
            elif concept == "spasticity_scale" and recent and value is not None and value > 0:
                findings.add(C.SPASTICITY, ref, system, code, display, when)
            if value is not None and (when is None or recent):
                reading = (when, value, unit, ref, concept, system, code, display)
                measurements.setdefault(concept, []).append(reading)
        elif category in _FINDING_CATEGORIES and recent:
            rules = term.context.get(concept)
            if rules is None or _reads(rules, "active", system, code, when, read.today):
                findings.add(concept, ref, system, code, display, when)
    if recent and coded_value is not None:
        for concept, system, code, display in match_concepts(
            term, coded_value, categories=_FINDING_CATEGORIES
        ):
            findings.add(concept, ref, system, code, display, when)


def referenced_reasons(
    resource: Mapping[str, Any], conditions: Mapping[str, Mapping[str, Any]]
) -> list[Any]:
    """The codes of Conditions named in `reasonReference` (contained or prefetched), or their
    display when the Condition is not at hand."""
    found: list[Any] = []
    for ref in dicts(resource.get("reasonReference")):
        target = ref.get("reference")
        if isinstance(target, str) and target.startswith("#"):
            for contained in dicts(resource.get("contained")):
                if (
                    contained.get("resourceType") == "Condition"
                    and contained.get("id") == target[1:]
                ):
                    found.append(contained.get("code"))
            continue
        kind, rid = split_reference(target)
        if kind == "Condition" and rid is not None and rid in conditions:
            found.append(conditions[rid].get("code"))
        elif isinstance(ref.get("display"), str):
            found.append({"text": ref["display"]})
    return found


def reason_concepts(
    term: Terminology, resource: Mapping[str, Any], conditions: Mapping[str, Any]
) -> frozenset[str]:
    """The concepts (implied ones included) a medication is given for: its `reasonCode` and
    the Conditions its `reasonReference` names."""
    found: list[Any] = [
        *dicts(resource.get("reasonCode")),
        *referenced_reasons(resource, conditions),
    ]
    concepts: set[str] = set()
    for concept, *_ in match_concepts(term, found, categories=_FINDING_CATEGORIES):
        concepts.update(term.closure.get(concept, (concept,)))
    return frozenset(concepts)


def _procedure_counts(resource: Mapping[str, Any]) -> bool:
    token = status_code(resource.get("status"))
    return token not in EXCLUDED_PROCEDURE


def _read_procedure(
    term: Terminology, resource: dict[str, Any], findings: Findings, window_start: date
) -> None:
    """A procedure is a finding while it is recent (a dialysis session: on dialysis now)."""
    hits = match_concepts(term, resource.get("code"), categories=_FINDING_CATEGORIES)
    if not hits:
        return
    when = first_date(resource, *PROCEDURE_DATE_PATHS)
    if when is None or when < window_start:
        return
    ref = reference_of(resource)
    for concept, system, code, display in hits:
        findings.add(concept, ref, system, code, display, when)


def _medication_status(resource: dict[str, Any], kind: str) -> str | None:
    """The status token of an active request/statement; None when it does not count."""
    allowed = ACTIVE_REQUEST if kind == "MedicationRequest" else ACTIVE_STATEMENT
    value = resource.get("status")
    token = status_code(value)
    if token is None:
        tokens = status_tokens(value)
        if not tokens & allowed:
            return None
        token = sorted(tokens)[0]
    elif token not in allowed:
        return None
    if resource.get("doNotPerform") is True:
        return None
    return token


__all__ = ["classify", "match_concepts", "reason_concepts", "referenced_reasons"]

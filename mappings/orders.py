"""Draft orders (`context.draftOrders`) -> classified `DraftOrder`s for the order hooks.

Only MedicationRequest and ServiceRequest are read; anything else in the Bundle is skipped. Drafts
are often half-written (`coding: [{}]`, no intent, no id), so every field is optional here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from mappings.classifier import match_concepts, referenced_reasons
from mappings.fhir import (
    Decode,
    ResourceIndex,
    concept_texts,
    dicts,
    first_display,
    resource_id,
    resource_list,
    split_reference,
    text_of,
)
from mappings.loader import load_terminology
from mappings.medications import resolve_medication
from mappings.profile import DraftOrder, Evidence, new_evidence
from mappings.terminology import Terminology
from mappings.text_budget import TextBudgetExceeded

ORDER_TYPES = ("MedicationRequest", "ServiceRequest")
_ORDER_CATEGORIES = frozenset({"order_kind"})
_REASON_CATEGORIES = frozenset(
    {"scope", "pain_component", "hard_red_flag", "risk_factor", "ms_common", "safety", "finding"}
)
# Concepts found by words in instructions and notes, whatever the order's code says.
_INSTRUCTION_KINDS = frozenset({"bed_rest"})


def _entries(draft_orders: Any) -> list[Any]:
    """The items of a Bundle (or of a bare list), each a resource dict or junk."""
    if isinstance(draft_orders, dict):
        if draft_orders.get("resourceType") in ORDER_TYPES:
            return [draft_orders]
        entries = draft_orders.get("entry")
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            return []
        return [e.get("resource") if isinstance(e, dict) else None for e in entries]
    if isinstance(draft_orders, list | tuple):
        return [
            e.get("resource") if isinstance(e, dict) and "resourceType" not in e else e
            for e in draft_orders
        ]
    return []


def _selected_refs(selections: Any) -> set[str] | None:
    """Normalised "Type/id" selections; None means "every draft"."""
    if isinstance(selections, str):
        selections = [selections]
    if not isinstance(selections, list | tuple):
        return None
    refs: set[str] = set()
    for item in selections:
        kind, rid = split_reference(item)
        if kind and rid:
            refs.add(f"{kind}/{rid}")
    return refs or None


def _instruction_texts(resource: Mapping[str, Any]) -> list[str]:
    texts: list[str] = []
    instruction = resource.get("patientInstruction")
    if isinstance(instruction, str) and instruction.strip():
        texts.append(instruction.strip())
    notes, details = resource.get("note"), resource.get("orderDetail")
    for note in dicts(notes) if notes is not None else ():
        text = text_of(note.get("text"))
        if text:
            texts.append(text)
    if details is not None:
        texts.extend(concept_texts(details))
    for dosage in dicts(resource.get("dosageInstruction")):
        for key in ("text", "patientInstruction"):
            text = text_of(dosage.get(key))
            if text:
                texts.append(text)
    return texts


def classify_orders(
    draft_orders: Any,
    *,
    selections: Any,
    resources: Iterable[Any] | None = None,
    terminology: Terminology | None = None,
    decode: Decode | None = None,
) -> tuple[DraftOrder, ...]:
    """Every MedicationRequest/ServiceRequest draft, classified; `selected` marks the focus.

    `selections` is order-select's `context.selections` (None or empty: every draft is focused).
    `resources` (optional) is the prefetch, used to resolve `medicationReference` and
    `reasonReference`; `decode` as for `classify`.
    """
    term = terminology or load_terminology()
    # Read once (it may be a generator); indexed only when a draft follows a reference.
    prefetched = [] if resources is None else resources
    if prefetched.__class__ is not list:
        prefetched = resource_list(prefetched, decode)
    medications = ResourceIndex(prefetched, "Medication", decode)
    conditions = ResourceIndex(prefetched, "Condition", decode)
    chosen = _selected_refs(selections)
    orders: list[DraftOrder] = []
    for position, resource in enumerate(_entries(draft_orders)):
        if not isinstance(resource, dict) or resource.get("resourceType") not in ORDER_TYPES:
            continue
        try:
            orders.append(_classify_one(term, resource, position, chosen, medications, conditions))
        except TextBudgetExceeded:
            raise  # the call, not this draft, is refused
        except Exception:
            continue
    return tuple(orders)


def _classify_one(
    term: Terminology,
    resource: dict[str, Any],
    position: int,
    chosen: set[str] | None,
    medications: Mapping[str, Mapping[str, Any]],
    conditions: Mapping[str, Mapping[str, Any]],
) -> DraftOrder:
    kind = resource["resourceType"]
    rid = resource_id(resource)
    reference = f"{kind}/{rid}" if rid is not None else f"{kind}/#{position}"
    evidence: list[Evidence] = []
    kinds: set[str] = set()
    medication = None

    def note(concept: str, system: str, code: str, display: str) -> None:
        if concept not in kinds:
            kinds.add(concept)
            evidence.append(new_evidence(reference, concept, system, code, display, None))

    if kind == "MedicationRequest":
        medication = resolve_medication(resource, term, medications, status="draft")
        if medication.resource != reference:  # a draft without an id: name it by its position
            medication = replace(medication, resource=reference)
        note("medication", medication.evidence.system, medication.evidence.code, medication.display)
        display = medication.display if medication.display != "unnamed medication" else ""
    else:
        code = resource.get("code")
        for concept, system, found, shown in match_concepts(
            term, code, categories=_ORDER_CATEGORIES
        ):
            note(concept, system, found, shown)
        display = first_display(code) or next((e.display for e in evidence), "")
    instructions = term.text.only(_INSTRUCTION_KINDS) if term.text else None
    if instructions is not None:
        for text in _instruction_texts(resource):
            for concept, words in instructions.find(text):
                note(concept, "text", words, text)

    reasons: set[str] = set()
    reason_concepts = list(dicts(resource.get("reasonCode")))
    reason_concepts.extend(referenced_reasons(resource, conditions))
    matched = (
        match_concepts(term, reason_concepts, categories=_REASON_CATEGORIES)
        if reason_concepts
        else ()  # most drafts give no reason
    )
    for concept, system, found, shown in matched:
        for implied in term.closure.get(concept, (concept,)):
            reasons.add(implied)
        evidence.append(new_evidence(reference, concept, system, found, shown, None))

    return DraftOrder(
        reference=reference,
        resource_type=kind,
        id=rid,
        display=display or "unnamed order",
        kinds=frozenset(kinds),
        medication=medication,
        reason_concepts=frozenset(reasons),
        evidence=tuple(evidence),
        selected=chosen is None or reference in chosen,
    )

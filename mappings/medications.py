"""Medication resolution: a MedicationRequest/MedicationStatement -> ingredients and classes.

Codes first (any RxNorm coding: IN, PIN, SCD, SBD, BN, packs; a combination product counts for
each ingredient), then names in the displays and text when no code is known. The medication may
be inline, a contained `#id`, or a prefetched Medication resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings.fhir import (
    codings,
    concept_texts,
    dicts,
    first_date,
    first_display,
    parse_date,
    reference_of,
    split_reference,
    text_of,
)
from mappings.profile import Medication, new_evidence
from mappings.terminology import Terminology
from mappings.text import bounded_text

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

MEDICATION_DATE_PATHS = (
    "authoredOn",
    "effectiveDateTime",
    "effectivePeriod.start",
    "dateAsserted",
    "dispenseRequest.validityPeriod.start",
)


def medication_concept(
    resource: Mapping[str, Any], medications: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Any], str]:
    """The CodeableConcepts that name the drug, and a display from a reference, if any."""
    inline = resource.get("medicationCodeableConcept")
    if "medicationReference" not in resource and "medication" not in resource:
        return ([inline] if isinstance(inline, dict) else []), ""  # nearly every chart's drugs
    found: list[Any] = []
    ref_display = ""
    if isinstance(inline, dict):
        found.append(inline)
    reference = resource.get("medicationReference")
    r5 = resource.get("medication")  # R5 CodeableReference, seen in the wild
    if isinstance(r5, dict):
        if isinstance(r5.get("concept"), dict):
            found.append(r5["concept"])
        if isinstance(r5.get("reference"), dict) and not isinstance(reference, dict):
            reference = r5["reference"]
        if isinstance(r5.get("coding"), list) or isinstance(r5.get("text"), str):
            found.append(r5)
    if isinstance(reference, dict):
        ref_display = text_of(reference.get("display"))
        target = _referenced_medication(resource, reference.get("reference"), medications)
        if target is not None:
            code = target.get("code")
            if isinstance(code, dict):
                found.append(code)
            for ingredient in dicts(target.get("ingredient")):
                item = ingredient.get("itemCodeableConcept")
                if isinstance(item, dict):
                    found.append(item)
    return found, ref_display


def _referenced_medication(
    resource: Mapping[str, Any], ref: Any, medications: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    if not isinstance(ref, str) or not ref.strip():
        return None
    ref = ref.strip()
    if ref.startswith("#"):
        for contained in dicts(resource.get("contained")):
            if contained.get("resourceType") == "Medication" and contained.get("id") == ref[1:]:
                return contained
        return None
    kind, rid = split_reference(ref)
    if kind == "Medication" and rid is not None:
        return medications.get(rid)
    return None


# What the codes and names of a request/statement say: (the CodeableConcepts read, the display of
# a reference, ingredients, the first (system, code, display) that named one, names for the form,
# the RxNorm codes found). A plain tuple: most drugs are outside the value sets, and it is
# dropped at once.
_Match = tuple[list[Any], str, list[str], tuple[str, str, str] | None, list[str], list[str]]


def _match(
    resource: Mapping[str, Any], term: Terminology, medications: Mapping[str, Mapping[str, Any]]
) -> _Match:
    concepts, ref_display = medication_concept(resource, medications)
    ingredients: list[str] = []
    matched: tuple[str, str, str] | None = None
    names_for_form: list[str] = []
    rxcuis: list[str] = []
    # Nearly always one CodeableConcept: its coding list is walked as it is.
    listed = concepts[0].get("coding") if len(concepts) == 1 else None
    for coding in listed if listed.__class__ is list else codings(concepts):
        if not isinstance(coding, dict) or term.system_url(coding.get("system")) != RXNORM:
            continue
        code = coding.get("code")
        if code.__class__ is str:
            code = code.strip()
        else:
            code = (
                str(code).strip()
                if isinstance(code, str | int) and not isinstance(code, bool)
                else ""
            )
        known = term.product_ingredients.get(code)
        if not known:
            continue
        for ingredient in known:
            if ingredient not in ingredients:
                ingredients.append(ingredient)
        name = term.product_names.get(code, "")
        names_for_form.append(name)
        rxcuis.append(code)
        if matched is None:
            matched = (RXNORM, code, bounded_text(text_of(coding.get("display"))) or name)
    if not ingredients and term.drug_names is not None:
        texts = concept_texts(concepts[0] if len(concepts) == 1 else concepts)
        if ref_display:
            texts.append(ref_display)
        for text in texts:
            for words, named in term.drug_mentions(text):
                for ingredient in named:
                    if ingredient not in ingredients:
                        ingredients.append(ingredient)
                if matched is None:
                    matched = ("text", words, bounded_text(text))
        names_for_form.extend(texts)
    return concepts, ref_display, ingredients, matched, names_for_form, rxcuis


def resolve_medication(
    resource: Mapping[str, Any],
    term: Terminology,
    medications: Mapping[str, Mapping[str, Any]],
    *,
    status: str,
    reasons: frozenset[str] = frozenset(),
) -> Medication:
    """The Medication for a request/statement (ingredients may be empty when unrecognised)."""
    return _medication(resource, term, _match(resource, term, medications), status, reasons)


def recognised_medication(
    resource: Mapping[str, Any],
    term: Terminology,
    medications: Mapping[str, Mapping[str, Any]],
    *,
    status: str,
    reasons: frozenset[str] = frozenset(),
) -> Medication | None:
    """As `resolve_medication`, but None for a drug without a known ingredient.

    Most of a chart's drugs are outside the value sets; the classifier drops them, so their
    display, date and evidence are not worth building.
    """
    found = _match(resource, term, medications)
    return _medication(resource, term, found, status, reasons) if found[2] else None


def _medication(
    resource: Mapping[str, Any],
    term: Terminology,
    found: _Match,
    status: str,
    reasons: frozenset[str] = frozenset(),
) -> Medication:
    concepts, ref_display, ingredients, matched, names_for_form, rxcuis = found
    classes: set[str] = set()
    for ingredient in ingredients:
        classes.update(term.ingredient_classes.get(ingredient, ()))
    # the caller's words as far as they are read: the cards quote them
    display = bounded_text(first_display(concepts) or ref_display)
    if not display and matched is not None:
        display = matched[2]
    display = display or "unnamed medication"
    plain = resource if isinstance(resource, dict) else dict(resource)
    when = parse_date(plain.get("authoredOn")) or first_date(plain, *MEDICATION_DATE_PATHS)
    system, code, shown = matched if matched is not None else ("text", "", display)
    evidence = new_evidence(reference_of(plain), "medication", system, code, shown or display, when)
    if not ingredients:  # unrecognised: nothing to check, so nothing more to read
        return Medication(evidence.resource, display, (), frozenset(), status, evidence)
    dose_form, product = _product(term, rxcuis)
    dosages = dicts(plain.get("dosageInstruction") or plain.get("dosage"))
    route = _route(term, rxcuis, dosages, names_for_form, ingredients)
    return Medication(
        resource=evidence.resource,
        display=display,
        ingredients=tuple(ingredients),
        classes=frozenset(classes),
        status=status,
        evidence=evidence,
        route=route,
        dose_form=dose_form,
        reasons=reasons,
        dosage=tuple(dosages),
        product=product or display,
    )


def _product(term: Terminology, rxcuis: list[str]) -> tuple[str, str]:
    """(dose form, product name) of the first coded clinical or branded product, if any."""
    for rxcui in rxcuis:
        form = term.product_dose_forms.get(rxcui)
        if form:
            return form, term.product_names.get(rxcui, "")
    return "", ""


def _route(
    term: Terminology,
    rxcuis: list[str],
    dosages: list[dict[str, Any]],
    names: list[str],
    ingredients: list[str],
) -> str:
    """The route class: the product's dose form, else the dosage's route code, else the words
    (names, displays, dosage text); systemic when nothing says otherwise."""
    knowledge = term.knowledge
    for rxcui in rxcuis:  # every coded product's route, worked out from its dose form at load
        route = term.product_routes.get(rxcui)
        if route is not None:
            return route
    texts = [n for n in names if n]
    for dosage in dosages:
        for coding in codings(dosage.get("route")):
            code = coding.get("code")
            if isinstance(code, str) and (route := knowledge.route_of_code(code)):
                return route
        texts.extend(concept_texts(dosage.get("route")))
        texts.append(text_of(dosage.get("text")))
    return knowledge.route_of_words(texts, ingredients) or "systemic"

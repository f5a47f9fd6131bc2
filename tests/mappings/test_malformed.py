"""Garbage in, a sane profile out: classify() never raises on malformed FHIR."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import PainProfile, classify

from .builders import SNOMED, TODAY, cc, coding, condition, ms_condition


def run(resources: Any) -> PainProfile:
    return classify(resources, today=TODAY)


@pytest.mark.parametrize(
    "resources",
    [
        None,
        [],
        "junk",
        42,
        [None, 1, "x", [], {}],
        [{"resourceType": None}, {"resourceType": 5}, {"resourceType": "Condition"}],
        [{"resourceType": "Condition", "code": "G35"}],
        [{"resourceType": "Condition", "code": {"coding": "G35"}}],
        [
            {
                "resourceType": "Condition",
                "code": {"coding": [None, "x", {}, {"system": 1, "code": {}}]},
            }
        ],
        [{"resourceType": "Condition", "code": {"coding": [{}]}, "clinicalStatus": 5}],
        [{"resourceType": "Condition", "code": [], "verificationStatus": ["refuted"]}],
        [{"resourceType": "Condition", "onsetDateTime": {"x": 1}, "recordedDate": 12}],
        [{"resourceType": "Observation", "code": None, "valueQuantity": "x"}],
        [
            {
                "resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
                "valueQuantity": {"value": "abc"},
                "effectiveDateTime": "yesterday",
            }
        ],
        [
            {
                "resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
                "valueQuantity": {"value": True},
                "component": "x",
            }
        ],
        [
            {
                "resourceType": "MedicationRequest",
                "status": ["active"],
                "medicationCodeableConcept": [],
            }
        ],
        [
            {
                "resourceType": "MedicationRequest",
                "status": "active",
                "medicationReference": "Medication/1",
            }
        ],
        [
            {
                "resourceType": "MedicationRequest",
                "status": "active",
                "contained": "x",
                "medicationReference": {"reference": "#1"},
            }
        ],
        [{"resourceType": "MedicationStatement", "status": {"code": "active"}}],
        [
            {"resourceType": "Patient", "birthDate": "tomorrow"},
            {"resourceType": "Patient", "birthDate": 1970},
        ],
        [{"resourceType": "Patient", "birthDate": "3000-01-01"}],
        [
            {
                "resourceType": "Bundle",
                "entry": [None, {"resource": "x"}, {"resource": {"resourceType": "Bundle"}}],
            }
        ],
        {"resourceType": "Bundle", "entry": "x"},
    ],
)
def test_malformed_resources_never_raise(resources: Any) -> None:
    profile = run(resources)
    assert isinstance(profile, PainProfile)
    assert not profile.has_ms


def test_good_resources_survive_bad_neighbours() -> None:
    profile = run(["junk", None, {"resourceType": "Condition", "code": 5}, ms_condition(), 3.5])
    assert profile.has_ms


def test_bundle_and_entries_are_unwrapped() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": ms_condition()}]}
    assert run(bundle).has_ms
    assert run([bundle]).has_ms
    assert run([{"resource": ms_condition()}]).has_ms
    assert run(iter([ms_condition()])).has_ms


def test_category_as_object_and_missing_ids() -> None:
    resource = condition(cc(coding(SNOMED, "24700007")), category={"text": "problem"})
    del resource["id"]
    profile = run([resource])
    assert profile.ms[0].resource == "Condition/?"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "code",
                    "coding",
                    "system",
                    "code",
                    "text",
                    "display",
                    "status",
                    "clinicalStatus",
                    "verificationStatus",
                    "onsetDateTime",
                    "valueQuantity",
                    "value",
                    "medicationCodeableConcept",
                    "medicationReference",
                    "reference",
                    "contained",
                    "entry",
                    "resource",
                    "birthDate",
                    "id",
                    "component",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
RESOURCE_TYPES = st.sampled_from(
    [
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "Patient",
        "Medication",
        "Bundle",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(RESOURCE_TYPES, st.dictionaries(st.text(max_size=20), JSON, max_size=6)),
        max_size=5,
    )
)
def test_fuzzed_resources_never_raise(items: list[tuple[str, dict[str, Any]]]) -> None:
    resources = [{**body, "resourceType": kind} for kind, body in items]
    assert isinstance(run(resources), PainProfile)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(RESOURCE_TYPES, JSON), max_size=5))
def test_fuzzed_fields_never_raise(items: list[tuple[str, Any]]) -> None:
    fields = [
        "code",
        "clinicalStatus",
        "verificationStatus",
        "onsetDateTime",
        "valueQuantity",
        "medicationCodeableConcept",
        "medicationReference",
        "status",
        "entry",
        "birthDate",
        "component",
        "contained",
        "subject",
    ]
    resources = [{"resourceType": kind, **dict.fromkeys(fields, value)} for kind, value in items]
    assert isinstance(run(resources), PainProfile)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_fuzzed_readers_never_raise_without_the_safety_net(value: Any) -> None:
    """The per-resource try/except in classify() is a last resort: the readers themselves cope."""
    from mappings import load_terminology
    from mappings.classifier import match_concepts
    from mappings.medications import resolve_medication

    term = load_terminology()
    match_concepts(term, value)
    resource = {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": value,
        "medicationReference": value,
        "contained": value,
        "authoredOn": value,
        "medication": value,
    }
    resolve_medication(resource, term, {}, status="active")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, JSON)
def test_fuzzed_draft_orders_never_raise(draft_orders: Any, selections: Any) -> None:
    from mappings import classify_orders

    assert isinstance(classify_orders(draft_orders, selections=selections), tuple)
    wrapped = {
        "entry": [
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "code": draft_orders,
                    "reasonCode": draft_orders,
                    "note": draft_orders,
                    "patientInstruction": draft_orders,
                }
            }
        ]
    }
    assert len(classify_orders(wrapped, selections=selections)) == 1

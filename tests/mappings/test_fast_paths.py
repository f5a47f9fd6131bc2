"""classify reads a plain list as it reads the same resources flattened, whatever the list."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import classify
from mappings.fhir import resource_list

from .builders import RXNORM, SNOMED, TODAY, cc, coding, condition, med_request, ms_condition, rx

PATIENT = "p1"


class Kind(str):
    """A resourceType that is a str, but not exactly one."""


class Resource(dict):  # type: ignore[type-arg]
    """A resource that is a dict, but not exactly one."""


def _other(resource: dict[str, Any]) -> dict[str, Any]:
    return {**resource, "subject": {"reference": "Patient/other"}}


back_pain = condition(cc(coding(SNOMED, "279039007", "Low back pain")), id="bp")
baclofen = {"resourceType": "Medication", "id": "med1", "code": rx("1292")}
by_reference = med_request(None, id="m2", medicationReference={"reference": "Medication/med1"})
plain = st.sampled_from(
    [
        ms_condition(),
        back_pain,
        _other(back_pain),
        med_request(rx("1292", "baclofen")),
        by_reference,
        baclofen,
        {"resourceType": "Patient", "id": PATIENT, "birthDate": "1970-01-01"},
        {"resourceType": "Procedure", "id": "x"},
    ]
)
items = st.one_of(
    plain,
    plain.map(lambda r: {"resourceType": "Bundle", "entry": [{"resource": r}]}),
    plain.map(lambda r: {"resource": r}),
    plain.map(lambda r: {**r, "resourceType": Kind(r["resourceType"])}),
    plain.map(Resource),
    st.just({"resourceType": "Bundle", "subject": {"reference": "Patient/other"}, "entry": []}),
    st.just({"resource": _other(ms_condition("ms2")), "subject": {"reference": "Patient/other"}}),
    st.sampled_from([None, 1, "x", [], {}, {"resourceType": 5}, {"resourceType": ["x"]}]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, max_size=8))
def test_a_list_reads_as_its_flattened_resources(resources: list[Any]) -> None:
    as_listed = classify(resources, today=TODAY, patient_id=PATIENT)
    flattened = classify(tuple(resource_list(resources)), today=TODAY, patient_id=PATIENT)
    assert as_listed == flattened


def test_a_referenced_medication_is_found_later_in_the_list_and_in_a_bundle() -> None:
    for resources in (
        [by_reference, baclofen],
        [by_reference, {"resourceType": "Bundle", "entry": [{"resource": baclofen}]}],
    ):
        profile = classify(resources, today=TODAY, patient_id=PATIENT)
        assert [m.ingredients for m in profile.meds] == [("baclofen",)]
        assert profile.meds[0].evidence.system == RXNORM


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, max_size=8))
def test_a_list_handed_over_reads_as_one_kept_and_ends_empty(resources: list[Any]) -> None:
    kept = classify(list(resources), today=TODAY, patient_id=PATIENT)
    handed_over = list(resources)
    assert classify(handed_over, today=TODAY, patient_id=PATIENT, consume=True) == kept
    assert handed_over == []


def test_a_list_handed_over_still_finds_a_referenced_medication_read_after_its_request() -> None:
    for resources in (
        [by_reference, baclofen],
        [baclofen, by_reference],
        [by_reference, back_pain, {"resourceType": "Bundle", "entry": [{"resource": baclofen}]}],
    ):
        profile = classify(list(resources), today=TODAY, patient_id=PATIENT, consume=True)
        assert [m.ingredients for m in profile.meds] == [("baclofen",)]


class Encoded:
    """A resource its caller has not decoded yet (the service keeps large prefetches so)."""

    def __init__(self, resource: Any) -> None:
        self.resource = resource


def _decode(item: Any) -> Any:
    return item.resource if item.__class__ is Encoded else item


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(items, st.booleans()), max_size=8))
def test_resources_left_encoded_read_as_if_decoded(pairs: list[tuple[Any, bool]]) -> None:
    decoded = [item for item, _ in pairs]
    expected = classify(list(decoded), today=TODAY, patient_id=PATIENT)
    encoded = [Encoded(item) if wrap else item for item, wrap in pairs]
    assert classify(list(encoded), today=TODAY, patient_id=PATIENT, decode=_decode) == expected
    handed_over = list(encoded)
    got = classify(handed_over, today=TODAY, patient_id=PATIENT, consume=True, decode=_decode)
    assert got == expected and handed_over == []


def test_an_encoded_medication_is_found_for_a_request_read_before_it() -> None:
    for resources in ([by_reference, Encoded(baclofen)], [Encoded(by_reference), baclofen]):
        profile = classify(resources, today=TODAY, patient_id=PATIENT, decode=_decode)
        assert [m.ingredients for m in profile.meds] == [("baclofen",)]
    # without a decoder, a resource left encoded is not read
    profile = classify([by_reference, Encoded(baclofen)], today=TODAY, patient_id=PATIENT)
    assert not any("baclofen" in m.ingredients for m in profile.meds)


def test_each_encoded_resource_is_decoded_once_when_a_reference_is_followed_mid_read() -> None:
    # The request names its Medication by reference, so the index of Medications is built
    # while the entries after it are still encoded; classify then reads those same entries.
    decoded: list[Any] = []

    def counting(item: Any) -> Any:
        if item.__class__ is Encoded:
            decoded.append(item)
        return _decode(item)

    later = [Encoded(back_pain), Encoded(baclofen)]
    for consume in (False, True):
        decoded.clear()
        resources = [by_reference, *later]
        profile = classify(
            resources, today=TODAY, patient_id=PATIENT, consume=consume, decode=counting
        )
        assert [m.ingredients for m in profile.meds] == [("baclofen",)]
        assert profile.has_back_pain
        assert sorted(map(id, decoded)) == sorted(map(id, later))

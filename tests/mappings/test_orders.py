"""classify_orders(): imaging, reasons, bed rest, referrals, medication orders, selections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mappings import DraftOrder, classify_orders

from .builders import CPT, ICD10CM, LOINC, RXNORM, SNOMED, cc, coding

CAPTURES = Path(__file__).parent.parent / "fixtures" / "mappings"


def service_request(code: Any = None, *, id: str | None = "s1", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order"}
    if id is not None:
        out["id"] = id
    if code is not None:
        out["code"] = code
    out.update(extra)
    return out


def bundle(*resources: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def one(resource: dict[str, Any]) -> DraftOrder:
    orders = classify_orders(bundle(resource), selections=None)
    assert len(orders) == 1
    return orders[0]


BACK_PAIN_REASON = [cc(coding(ICD10CM, "M54.50", "Low back pain, unspecified"))]
MS_REASON = [cc(coding(SNOMED, "24700007", "Multiple sclerosis"))]


def test_lumbar_mri_for_back_pain() -> None:
    order = one(
        service_request(
            cc(coding(CPT, "72148", "MRI lumbar spine w/o contrast")), reasonCode=BACK_PAIN_REASON
        )
    )
    assert order.kinds == {"spine_imaging"}
    assert order.reason_concepts == {"back_pain"}
    assert order.reference == "ServiceRequest/s1" and order.id == "s1"
    assert order.display == "MRI lumbar spine w/o contrast"
    imaging = order.evidence[0]
    assert (imaging.concept, imaging.system, imaging.code) == ("spine_imaging", CPT, "72148")
    assert order.evidence[1].concept == "back_pain"


def test_spine_mri_for_ms_monitoring() -> None:
    order = one(service_request(cc(coding(LOINC, "24968-0")), reasonCode=MS_REASON))
    assert order.kinds == {"spine_imaging"}
    assert order.reason_concepts == {"ms"}


def test_reason_subtype_implies_ms() -> None:
    reason = [cc(coding(ICD10CM, "G35.C1"))]
    order = one(service_request(cc(coding(CPT, "72158")), reasonCode=reason))
    assert order.reason_concepts == {"ms", "ms_spms"}


def test_brain_mri_is_not_spine_imaging() -> None:
    order = one(service_request(cc(text="MRI brain with and without contrast")))
    assert order.kinds == {"brain_imaging"}


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        (cc(text="MRI lumbar spine"), {"spine_imaging"}),
        (cc(text="Lumbar spine MRI w/o contrast"), {"spine_imaging"}),
        (cc(text="X-ray L-spine 2 views"), {"spine_imaging"}),
        (cc(text="CT of the thoracic spine"), {"spine_imaging"}),
        (cc(text="MRI cervical spine"), {"cervical_spine_imaging"}),
        (cc(text="CT head"), {"brain_imaging"}),
        (cc(coding(SNOMED, "394451000119106")), {"spine_imaging"}),
        (cc(coding(CPT, "72141")), {"cervical_spine_imaging"}),
        (cc(coding(SNOMED, "306170007", "Referral to physiotherapy service")), {"physiotherapy"}),
        (cc(text="Referral to physical therapy"), {"physiotherapy"}),
        (cc(coding(CPT, "97163")), {"physiotherapy"}),
        (cc(coding(SNOMED, "84478008")), {"occupational_therapy"}),
        (cc(text="Occupational therapy evaluation"), {"occupational_therapy"}),
        (cc(coding(SNOMED, "228557008")), {"cbt"}),
        (cc(text="CBT for chronic pain"), {"cbt"}),
        (cc(coding(CPT, "97110")), {"exercise_therapy"}),
        (cc(text="Structured exercise programme"), {"exercise_therapy"}),
        (cc(text="Bed rest"), {"bed_rest"}),
        (cc(text="Complete blood count"), set()),
        ({"coding": [{}]}, set()),
        (None, set()),
    ],
)
def test_service_request_kinds(code: Any, kinds: set[str]) -> None:
    assert one(service_request(code)).kinds == kinds


@pytest.mark.parametrize(
    "extra",
    [
        {"patientInstruction": "Strict bed rest for 3 days"},
        {"note": [{"text": "Patient to remain on bedrest"}]},
        {"note": {"text": "bed-rest until review"}},
        {"orderDetail": [{"text": "Bed rest"}]},
        {"orderDetail": [{"coding": [{"display": "Rest in bed"}]}]},
    ],
)
def test_bed_rest_from_words(extra: dict[str, Any]) -> None:
    order = one(service_request(cc(text="Activity order"), **extra))
    assert "bed_rest" in order.kinds
    bed = next(e for e in order.evidence if e.concept == "bed_rest")
    assert bed.system == "text" and "rest" in bed.code.lower()


@pytest.mark.parametrize(
    "instruction",
    ["Avoid bed rest; stay active", "No bed rest", "Do not stay in bed", "Walk daily"],
)
def test_advice_against_bed_rest_is_not_bed_rest(instruction: str) -> None:
    order = one(service_request(cc(text="Activity advice"), patientInstruction=instruction))
    assert "bed_rest" not in order.kinds


def test_bed_rest_code_is_not_snomed_58000006() -> None:
    """58000006 is 'Patient discharge' (mappings/README.md), not bed rest."""
    assert one(service_request(cc(coding(SNOMED, "58000006")))).kinds == set()


@pytest.mark.parametrize(
    ("medication", "classes"),
    [
        (cc(coding(RXNORM, "313413", "tizanidine 4 MG Oral Tablet")), {"antispasticity"}),
        (cc(coding(RXNORM, "1049221")), {"acetaminophen", "opioid"}),
        (cc(text="ciprofloxacin 500 mg"), {"cyp1a2_inhibitor"}),
        (cc(text="ibuprofen 400mg"), {"nsaid"}),
    ],
)
def test_medication_orders_by_class(medication: dict[str, Any], classes: set[str]) -> None:
    draft = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft"}
    draft["medicationCodeableConcept"] = medication
    order = one(draft)
    assert order.kinds == {"medication"}
    assert order.medication is not None
    assert classes <= order.medication.classes
    assert order.medication.status == "draft"


def test_medication_order_with_prefetched_reference() -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "medicationReference": {"reference": "Medication/m"},
    }
    prefetch = [{"resourceType": "Medication", "id": "m", "code": cc(coding(RXNORM, "310431"))}]
    (order,) = classify_orders(bundle(draft), selections=None, resources=prefetch)
    assert order.medication is not None and order.medication.ingredients == ("gabapentin",)


def test_a_prefetched_reference_left_encoded_is_decoded_when_followed() -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "medicationReference": {"reference": "Medication/m"},
    }
    medication = {"resourceType": "Medication", "id": "m", "code": cc(coding(RXNORM, "310431"))}
    encoded = [("encoded", medication)]
    (order,) = classify_orders(
        bundle(draft), selections=None, resources=encoded, decode=lambda item: item[1]
    )
    assert order.medication is not None and order.medication.ingredients == ("gabapentin",)


def test_selections() -> None:
    drafts = bundle(
        service_request(cc(coding(CPT, "72148")), id="a"),
        {
            "resourceType": "MedicationRequest",
            "id": "b",
            "medicationCodeableConcept": cc(text="baclofen"),
        },
    )
    orders = classify_orders(drafts, selections=["MedicationRequest/b"])
    assert [(o.reference, o.selected) for o in orders] == [
        ("ServiceRequest/a", False),
        ("MedicationRequest/b", True),
    ]
    for empty in (None, [], "", ["junk"]):
        assert all(o.selected for o in classify_orders(drafts, selections=empty))
    assert classify_orders(drafts, selections="ServiceRequest/a")[0].selected


@pytest.mark.parametrize(
    "draft_orders",
    [
        None,
        "junk",
        42,
        [],
        {},
        {"resourceType": "Bundle"},
        {"resourceType": "Bundle", "entry": None},
        {"resourceType": "Bundle", "entry": "junk"},
        {
            "resourceType": "Bundle",
            "entry": [None, 1, "x", {}, {"resource": None}, {"resource": "x"}],
        },
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]},
    ],
)
def test_junk_draft_orders_give_nothing(draft_orders: Any) -> None:
    assert classify_orders(draft_orders, selections=None) == ()


def test_lenient_drafts() -> None:
    drafts = {
        "entry": [  # no Bundle type, no resourceType on the Bundle
            {"resource": {"resourceType": "ServiceRequest", "code": {"coding": [{}]}}},
            {"resource": {"resourceType": "ServiceRequest", "id": 7, "reasonCode": MS_REASON[0]}},
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "category": {"text": "Imaging"},
                    "code": cc(coding(CPT, "72148")),
                    "reasonCode": [],
                }
            },
            {"resource": {"resourceType": "MedicationRequest", "medicationCodeableConcept": "x"}},
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "code": "MRI",
                    "note": "bed rest",
                    "patientInstruction": {"text": 1},
                    "orderDetail": "x",
                }
            },
            {"resource": {"resourceType": "Observation", "id": "o"}},
        ]
    }
    orders = classify_orders(drafts, selections=None)
    assert [o.reference for o in orders] == [
        "ServiceRequest/#0",
        "ServiceRequest/7",
        "ServiceRequest/#2",
        "MedicationRequest/#3",
        "ServiceRequest/#4",
    ]
    assert orders[0].display == "unnamed order" and orders[0].kinds == set()
    assert orders[1].reason_concepts == {"ms"}
    assert orders[2].kinds == {"spine_imaging"} and orders[2].reason_concepts == set()
    assert orders[3].kinds == {"medication"} and orders[3].medication is not None
    assert orders[3].medication.ingredients == ()


@pytest.mark.parametrize("name", ["order-select-request.json", "order-sign-request.json"])
def test_real_sandbox_requests(name: str) -> None:
    request = json.loads((CAPTURES / name).read_text())
    context = request["context"]
    orders = classify_orders(context.get("draftOrders"), selections=context.get("selections"))
    assert orders and all(o.resource_type == "MedicationRequest" for o in orders)
    assert all(o.kinds == {"medication"} for o in orders)


def test_reason_reference_to_prefetched_or_contained_condition() -> None:
    prefetch = [{"resourceType": "Condition", "id": "lbp", "code": BACK_PAIN_REASON[0]}]
    draft = service_request(
        cc(coding(CPT, "72148")), reasonReference=[{"reference": "Condition/lbp"}]
    )
    (order,) = classify_orders(bundle(draft), selections=None, resources=prefetch)
    assert order.reason_concepts == {"back_pain"}
    contained = service_request(
        cc(coding(CPT, "72148")),
        reasonReference={"reference": "#r"},
        contained=[{"resourceType": "Condition", "id": "r", "code": MS_REASON[0]}],
    )
    assert one(contained).reason_concepts == {"ms"}
    by_display = service_request(
        cc(coding(CPT, "72148")), reasonReference=[{"display": "Multiple sclerosis follow-up"}]
    )
    assert one(by_display).reason_concepts == {"ms"}


def test_references_resolve_from_a_bundle_or_a_generator_of_prefetched_resources() -> None:
    """The prefetch is read once and indexed by type only when a draft follows a reference."""
    drafts = bundle(
        {
            "resourceType": "MedicationRequest",
            "id": "d1",
            "medicationReference": {"reference": "Medication/m"},
        },
        service_request(
            cc(coding(CPT, "72148")), id="s1", reasonReference=[{"reference": "Condition/lbp"}]
        ),
    )
    prefetched = [
        {"resourceType": "Condition", "id": "lbp", "code": BACK_PAIN_REASON[0]},
        {"resourceType": "Medication", "id": "m", "code": cc(coding(RXNORM, "310431"))},
    ]
    for resources in (bundle(*prefetched), iter(prefetched), [bundle(*prefetched)]):
        medication, imaging = classify_orders(drafts, selections=None, resources=resources)
        assert medication.medication is not None
        assert medication.medication.ingredients == ("gabapentin",)
        assert imaging.reason_concepts == {"back_pain"}

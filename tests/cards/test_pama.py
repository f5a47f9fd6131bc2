"""PAMA appropriateness ratings (cards/pama.py), from draft orders shaped as the Sandbox's PAMA
tab sends them: a ServiceRequest with a CPT code and SNOMED reasons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import mappings
from cards.pama import pama_actions, pama_terms
from mappings.errors import DataError

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
RATING_URL = "http://fhir.org/argonaut/Extension/pama-rating"
RATING_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
TODAY = date(2026, 12, 2)

MRI_LUMBAR = ("72148", "Magnetic resonance imaging, spinal canal and contents, lumbar")
MRI_BRAIN = ("70551", "Magnetic resonance imaging, brain (including brain stem)")
KNEE_MRI = ("73721", "Magnetic resonance imaging, any joint of lower extremity")
LOW_BACK_PAIN = ("279039007", "Low back pain")
CAUDA_EQUINA = ("192970008", "Cauda equina syndrome")
MS = ("24700007", "Multiple sclerosis")


def service_request(study, reasons, rid="example-request-id", **extra) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "draft",
        "intent": "plan",
        "code": {"coding": [{"system": CPT, "code": study[0], "display": study[1]}]},
        "subject": {"reference": "Patient/p1"},
        "reasonCode": [
            {"coding": [{"system": SNOMED, "code": c, "display": d}]} for c, d in reasons
        ],
        **extra,
    }


def condition(code, display, onset_days: int | None, cid: str) -> dict:
    c = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "subject": {"reference": "Patient/p1"},
    }
    if onset_days is not None:
        c["onsetDateTime"] = (TODAY - timedelta(days=onset_days)).isoformat()
    return c


def patient() -> dict:
    return {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"}


def actions(resources: list[dict], *drafts: dict, selections=None):
    term = mappings.load_terminology()
    bundle = {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]}
    orders = mappings.classify_orders(
        bundle, selections=selections, resources=list(resources), terminology=term
    )
    profile = mappings.classify(
        [patient(), *resources], today=TODAY, patient_id="p1", terminology=term
    )
    return pama_actions(profile, orders, bundle, hook_instance="hook-1", today=TODAY)


def rating_of(action) -> str:
    ext = [e for e in action.resource["extension"] if e["url"] == RATING_URL]
    assert len(ext) == 1
    coding = ext[0]["valueCodeableConcept"]["coding"]
    assert coding[0]["system"] == RATING_SYSTEM
    return coding[0]["code"]


MS_CHART = [condition(*MS, 3000, "ms")]


def test_routine_lumbar_mri_for_recent_back_pain_is_not_appropriate():
    chart = [*MS_CHART, condition(*LOW_BACK_PAIN, 10, "lbp")]
    (action,) = actions(chart, service_request(MRI_LUMBAR, [LOW_BACK_PAIN]))
    assert rating_of(action) == "not-appropriate"


def test_back_pain_of_unknown_duration_is_routine_imaging_too():
    (action,) = actions(MS_CHART, service_request(MRI_LUMBAR, [LOW_BACK_PAIN]))
    assert rating_of(action) == "not-appropriate"


def test_red_flag_given_as_the_orders_reason_makes_it_appropriate():
    (action,) = actions(MS_CHART, service_request(MRI_LUMBAR, [LOW_BACK_PAIN, CAUDA_EQUINA]))
    assert rating_of(action) == "appropriate"


def test_red_flag_recorded_in_the_chart_makes_it_appropriate():
    chart = [*MS_CHART, condition(*LOW_BACK_PAIN, 5, "lbp"), condition(*CAUDA_EQUINA, 1, "ces")]
    (action,) = actions(chart, service_request(MRI_LUMBAR, [LOW_BACK_PAIN]))
    assert rating_of(action) == "appropriate"


def test_surgical_candidate_after_six_weeks_is_appropriate():
    stenosis = ("18347007", "Spinal stenosis of lumbar region")
    chart = [*MS_CHART, condition(*LOW_BACK_PAIN, 60, "lbp"), condition(*stenosis, 60, "sten")]
    (action,) = actions(chart, service_request(MRI_LUMBAR, [LOW_BACK_PAIN]))
    assert rating_of(action) == "appropriate"


def test_chronic_back_pain_without_a_surgical_finding_is_not_rated():
    """The chart cannot tell whether the patient is a surgical candidate: no rating (the guide
    forbids guessing), rather than a wrong one."""
    chart = [*MS_CHART, condition(*LOW_BACK_PAIN, 60, "lbp")]
    assert actions(chart, service_request(MRI_LUMBAR, [LOW_BACK_PAIN])) == []


def test_brain_mri_for_ms_monitoring_no_criteria_apply():
    (action,) = actions(MS_CHART, service_request(MRI_BRAIN, [MS]))
    assert rating_of(action) == "no-criteria-apply"


def test_spine_mri_for_ms_monitoring_no_criteria_apply():
    (action,) = actions(MS_CHART, service_request(MRI_LUMBAR, [MS]))
    assert rating_of(action) == "no-criteria-apply"


def test_imaging_outside_these_criteria_is_not_rated():
    assert actions(MS_CHART, service_request(KNEE_MRI, [LOW_BACK_PAIN])) == []
    # brain imaging in a patient without MS: other criteria (headache, stroke) would apply
    assert actions([], service_request(MRI_BRAIN, [])) == []


def test_the_update_is_the_whole_draft_with_only_the_pama_extensions_added():
    draft = service_request(
        MRI_LUMBAR,
        [LOW_BACK_PAIN],
        extension=[{"url": "http://example.org/local", "valueString": "kept"}],
        note=[{"text": "please expedite"}],
    )
    (action,) = actions(MS_CHART, draft)
    assert action.type == "update"
    assert action.description
    updated = action.resource
    assert {k: v for k, v in updated.items() if k != "extension"} == {
        k: v for k, v in draft.items() if k != "extension"
    }
    urls = [e["url"] for e in updated["extension"]]
    assert urls[0] == "http://example.org/local"
    t = pama_terms().terms
    assert set(urls[1:]) == {
        t["rating_extension"],
        t["qcdsm_extension"],
        t["consult_id_extension"],
        t["auc_applied_extension"],
    }
    by_url = {e["url"]: e for e in updated["extension"]}
    assert by_url[t["consult_id_extension"]]["valueUri"].startswith("urn:uuid:")
    assert by_url[t["qcdsm_extension"]]["valueString"]
    assert draft["extension"] == [{"url": "http://example.org/local", "valueString": "kept"}]


def test_a_re_rating_replaces_the_earlier_pama_extensions_and_keeps_the_handle():
    draft = service_request(MRI_LUMBAR, [LOW_BACK_PAIN])
    (first,) = actions(MS_CHART, draft)
    (second,) = actions(MS_CHART, first.resource)
    assert [e["url"] for e in second.resource["extension"]] == [
        e["url"] for e in first.resource["extension"]
    ]
    assert second.resource == first.resource


def test_only_focused_drafts_with_an_id_are_rated():
    one = service_request(MRI_LUMBAR, [LOW_BACK_PAIN], rid="one")
    two = service_request(MRI_BRAIN, [MS], rid="two")
    found = actions(MS_CHART, one, two, selections=["ServiceRequest/two"])
    assert [a.resource["id"] for a in found] == ["two"]
    no_id = service_request(MRI_LUMBAR, [LOW_BACK_PAIN])
    del no_id["id"]
    assert actions(MS_CHART, no_id) == []


def test_data_file_rows_are_checked(tmp_path):
    from cards.pama import PamaTerms

    bad = tmp_path / "pama.csv"
    bad.write_text(
        "# source: test; version: 2026-12-02\n"
        "kind,key,value,source,reviewed\n"
        "term,rating_extension,http://x,src,2026-12-02\n"
    )
    with pytest.raises(DataError, match="missing rows"):
        PamaTerms.load(bad)


def test_red_flag_criterion_is_every_red_flag_and_risk_factor_concept():
    """The rating and the imaging card read the same red flags (concepts.csv categories)."""
    concepts = mappings.load_terminology().concepts
    flags = {c for c, concept in concepts.items() if concept.is_red_flag}
    assert pama_terms().criteria["red_flag"] == flags


def test_no_criteria_apply_names_no_criteria_applied():
    (action,) = actions(MS_CHART, service_request(MRI_BRAIN, [MS]))
    urls = {e["url"] for e in action.resource["extension"]}
    assert pama_terms().terms["auc_applied_extension"] not in urls


def test_a_draft_too_deep_to_send_back_is_not_rated():
    nested: list = [None]
    for _ in range(300):
        nested = [nested]
    draft = service_request(MRI_BRAIN, [MS], extension=[{"url": "x", "valueString": "y"}])
    draft["reasonCode"][0]["coding"][0]["extension"] = nested
    assert actions(MS_CHART, draft) == []

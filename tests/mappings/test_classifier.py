"""classify(): status rules, evidence, durations, observations, red flags, the typical patient."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from mappings import Duration, Evidence, PainProfile, classify

from .builders import (
    CLINICAL,
    ICD10CM,
    LOINC,
    SNOMED,
    TODAY,
    cc,
    coding,
    condition,
    days_ago,
    load_fixture,
    med_request,
    ms_condition,
    observation,
    rx,
)


def run(*resources: Any, patient_id: str | None = None) -> PainProfile:
    return classify(list(resources), today=TODAY, patient_id=patient_id)


LBP = cc(coding(SNOMED, "279039007", "Low back pain"))


# --- the typical patient -------------------------------------------------------------------


def test_typical_patient_profile() -> None:
    bundle = load_fixture("typical_patient.json")
    profile = classify(bundle["entry"], today=TODAY, patient_id="pat-typical")

    assert profile.has_ms and profile.ms_subtype == "RRMS"
    assert {e.code for e in profile.ms} == {"426373005"}  # first matching coding per resource
    assert profile.ms[0].resource == "Condition/ms"
    assert profile.back_pain == (
        Evidence(
            "Condition/lbp",
            "back_pain",
            ICD10CM,
            "M54.50",
            "Low back pain, unspecified",
            date.fromisoformat(days_ago(90)),
        ),
    )
    assert profile.onset == TODAY - timedelta(days=90)
    assert profile.duration is Duration.SUBACUTE_CHRONIC
    assert [e.resource for e in profile.spasticity] == [
        "Condition/spast",
        "MedicationRequest/baclofen",
    ]
    assert [e.resource for e in profile.neuropathic] == [
        "Condition/dysesth",
        "MedicationRequest/gabapentin",
    ]
    assert profile.musculoskeletal == profile.back_pain
    assert profile.red_flags == ()  # the old fever Condition is resolved
    assert {m.ingredients for m in profile.meds} == {
        ("baclofen",),
        ("gabapentin",),
        ("glatiramer",),
    }
    assert not profile.takes("ibuprofen")  # stopped
    assert profile.on("antispasticity") and profile.on("gabapentinoid")
    assert profile.on("dmt_injectable")
    assert profile.age == 48
    assert profile.egfr is not None and profile.egfr.value == 84.0
    assert profile.egfr.evidence.resource == "Observation/egfr"
    # a neuropathic pain Condition documents pain as well (clinical rules section 2)
    assert [e.resource for e in profile.pain_documented] == [
        "Condition/lbp",
        "Condition/dysesth",
        "Observation/pain",
    ]
    assert profile.has("ms_rrms") and profile.has("neuropathic")


def test_patient_without_ms() -> None:
    profile = run(condition(LBP))
    assert not profile.has_ms and profile.has_back_pain


# --- status rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clinical", "counts"),
    [
        ("active", True),
        ("recurrence", True),
        ("relapse", True),
        ("inactive", False),
        ("remission", False),
        ("resolved", False),
        (None, True),  # absent: counts
        (
            {"coding": [{"system": "http://hl7.org/fhir/condition-clinical", "code": "active"}]},
            True,
        ),
        (
            {"coding": [{"system": "http://hl7.org/fhir/condition-clinical", "code": "resolved"}]},
            False,
        ),
        ({"coding": [{"code": "active"}]}, True),  # bare code
        ({"text": "Active"}, True),
        ({"text": "resolved"}, False),
        ({"coding": [{}]}, True),  # nothing readable: treated as absent
        ({}, True),
    ],
)
def test_condition_clinical_status(clinical: Any, counts: bool) -> None:
    resource = condition(LBP, clinical=None)
    if isinstance(clinical, str):
        resource["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    elif clinical is not None:
        resource["clinicalStatus"] = clinical
    assert run(resource).has_back_pain is counts


def test_stu3_string_clinical_status() -> None:
    assert run(condition(LBP, clinical=None, clinicalStatus="active")).has_back_pain
    assert not run(condition(LBP, clinical=None, clinicalStatus="resolved")).has_back_pain


@pytest.mark.parametrize(
    ("verification", "counts"),
    [
        ("confirmed", True),
        ("provisional", True),
        ("unconfirmed", True),
        ("differential", True),
        ("refuted", False),
        ("entered-in-error", False),
        (
            {"coding": [{"system": "http://hl7.org/fhir/condition-ver-status", "code": "refuted"}]},
            False,
        ),
    ],
)
def test_condition_verification_status(verification: Any, counts: bool) -> None:
    assert run(condition(LBP, verification=verification)).has_back_pain is counts


def test_abated_condition_without_status_does_not_count() -> None:
    resource = condition(LBP, clinical=None, abatementDateTime=days_ago(3))
    assert not run(resource).has_back_pain


@pytest.mark.parametrize(
    ("kind", "status", "counts"),
    [
        ("MedicationRequest", "active", True),
        ("MedicationRequest", "on-hold", True),
        ("MedicationRequest", "stopped", False),
        ("MedicationRequest", "completed", False),
        ("MedicationRequest", "cancelled", False),
        ("MedicationRequest", "entered-in-error", False),
        ("MedicationRequest", "draft", False),
        ("MedicationRequest", "unknown", False),
        ("MedicationRequest", None, False),
        ("MedicationStatement", "active", True),
        ("MedicationStatement", "intended", True),
        ("MedicationStatement", "completed", False),
        ("MedicationStatement", "stopped", False),
        ("MedicationStatement", "entered-in-error", False),
        ("MedicationStatement", "not-taken", False),
    ],
)
def test_medication_status(kind: str, status: str | None, counts: bool) -> None:
    resource = med_request(rx("313413", "tizanidine 4 MG Oral Tablet"), status=status, kind=kind)
    profile = run(resource)
    assert profile.takes("tizanidine") is counts
    assert bool(profile.spasticity) is counts


def test_do_not_perform_request_is_not_a_medication() -> None:
    assert not run(med_request(rx("313413"), doNotPerform=True)).meds


# --- onset and duration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "onset_days", "duration"),
    [
        ({"onsetDateTime": days_ago(10)}, 10, Duration.ACUTE),
        ({"onsetDateTime": days_ago(27)}, 27, Duration.ACUTE),
        ({"onsetDateTime": days_ago(28)}, 28, Duration.SUBACUTE_CHRONIC),
        ({"onsetDateTime": days_ago(400) + "T08:30:00Z"}, 400, Duration.SUBACUTE_CHRONIC),
        ({"onsetPeriod": {"start": days_ago(5)}}, 5, Duration.ACUTE),
        ({"recordedDate": days_ago(60)}, 60, Duration.SUBACUTE_CHRONIC),
        ({"onsetDateTime": days_ago(3), "recordedDate": days_ago(60)}, 3, Duration.ACUTE),
        ({"onsetString": "last winter", "recordedDate": days_ago(6)}, 6, Duration.ACUTE),
        ({}, None, Duration.UNKNOWN),
        ({"onsetDateTime": "not a date"}, None, Duration.UNKNOWN),
        ({"onsetDateTime": 20240101}, None, Duration.UNKNOWN),
    ],
)
def test_onset_and_duration(
    fields: dict[str, Any], onset_days: int | None, duration: Duration
) -> None:
    profile = run(condition(LBP, **fields))
    expected = None if onset_days is None else TODAY - timedelta(days=onset_days)
    assert profile.onset == expected
    assert profile.duration is duration


def test_partial_dates() -> None:
    profile = run(condition(LBP, onsetDateTime=str(TODAY.year - 2)))
    assert profile.onset == date(TODAY.year - 2, 1, 1)
    assert profile.duration is Duration.SUBACUTE_CHRONIC


def test_earliest_active_back_pain_sets_onset() -> None:
    profile = run(
        condition(LBP, id="a", onsetDateTime=days_ago(5)),
        condition(cc(coding(ICD10CM, "M54.41")), id="b", onsetDateTime=days_ago(100)),
    )
    assert profile.onset == TODAY - timedelta(days=100)
    assert len(profile.back_pain) == 2


# --- observations ------------------------------------------------------------------------------


def egfr(value: Any, days: int | None, id: str = "e", **extra: Any) -> dict[str, Any]:
    return observation(
        cc(coding(LOINC, "98979-8")),
        id=id,
        when=None if days is None else days_ago(days),
        valueQuantity={"value": value, "unit": "mL/min/1.73m2"},
        **extra,
    )


def test_latest_egfr_wins() -> None:
    profile = run(egfr(80, 200, "old"), egfr(42, 20, "new"), egfr(90, 100, "mid"))
    assert profile.egfr is not None
    assert (profile.egfr.value, profile.egfr.evidence.resource) == (42.0, "Observation/new")
    assert profile.egfr.date == TODAY - timedelta(days=20)
    assert profile.egfr.unit == "mL/min/1.73m2"


def test_egfr_older_than_12_months_is_unknown() -> None:
    assert run(egfr(25, 366)).egfr is None
    assert run(egfr(25, 364)).egfr is not None


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_excluded_observation_status(status: str) -> None:
    assert run(egfr(25, 5, status=status)).egfr is None


def test_observation_without_value_is_skipped() -> None:
    resource = observation(cc(coding(LOINC, "98979-8")), when=days_ago(3))
    assert run(resource).egfr is None


def test_egfr_value_variants() -> None:
    as_string = observation(cc(coding(LOINC, "62238-1")), when=days_ago(3), valueString=">60")
    assert run(as_string).egfr.value == 60.0  # type: ignore[union-attr]
    undated = egfr(33, None)
    assert run(undated).egfr.value == 33.0  # type: ignore[union-attr]
    # A dated value beats an undated one.
    assert run(undated, egfr(70, 30, "dated")).egfr.value == 70.0  # type: ignore[union-attr]


@pytest.mark.parametrize(("days", "documented"), [(10, True), (364, True), (366, False)])
def test_pain_score_documents_pain(days: int, documented: bool) -> None:
    score = observation(cc(coding(LOINC, "72514-3")), when=days_ago(days), valueInteger=4)
    profile = run(ms_condition(), score)
    assert bool(profile.pain_documented) is documented
    if documented:
        assert profile.pain_documented[0].resource == "Observation/o1"


def test_peg_panel_with_components_documents_pain() -> None:
    panel = observation(
        cc(coding(LOINC, "91148-7")),
        when=days_ago(3),
        component=[{"code": cc(coding(LOINC, "75893-8")), "valueInteger": 5}],
    )
    assert run(panel).pain_documented


def test_observation_finding_counts_when_recent() -> None:
    fever = observation(cc(coding(SNOMED, "386661006", "Fever")), when=days_ago(2))
    assert [f.category for f in run(fever).red_flags] == ["fever"]
    old = observation(cc(coding(SNOMED, "386661006", "Fever")), when=days_ago(500))
    assert run(old).red_flags == ()


def test_ashworth_score_means_spasticity() -> None:
    mas = observation(cc(coding(SNOMED, "765771006")), when=days_ago(30), valueString="1+")
    assert run(mas).spasticity[0].resource == "Observation/o1"
    zero = observation(cc(coding(SNOMED, "765771006")), when=days_ago(30), valueInteger=0)
    assert not run(zero).spasticity


# --- age -----------------------------------------------------------------------------------------


def test_age_from_birth_date() -> None:
    born = TODAY.replace(year=TODAY.year - 66)
    profile = run({"resourceType": "Patient", "id": "p", "birthDate": born.isoformat()})
    assert profile.age == 66
    day_before_birthday = TODAY.replace(year=TODAY.year - 66) + timedelta(days=1)
    assert run({"resourceType": "Patient", "birthDate": day_before_birthday.isoformat()}).age == 65


def test_age_uses_the_requested_patient() -> None:
    other = {"resourceType": "Patient", "id": "other", "birthDate": "1930-01-01"}
    mine = {"resourceType": "Patient", "id": "me", "birthDate": f"{TODAY.year - 40}-01-01"}
    assert run(other, mine, patient_id="me").age == 40
    assert run(other, patient_id="me").age is None


def test_resources_about_another_patient_are_ignored() -> None:
    theirs = condition(LBP, subject={"reference": "Patient/other"})
    mine = condition(LBP, id="c2", subject={"reference": "Patient/me"})
    profile = run(theirs, mine, patient_id="me")
    assert [e.resource for e in profile.back_pain] == ["Condition/c2"]


# --- components, red flags, findings ---------------------------------------------------------


def test_musculoskeletal_includes_back_pain_and_mechanical_findings() -> None:
    disc = condition(cc(coding(ICD10CM, "M51.26")), id="disc")
    strain = condition(cc(text="Lumbar strain"), id="strain")
    profile = run(condition(LBP), disc, strain)
    assert {e.resource for e in profile.back_pain} == {"Condition/c1", "Condition/disc"}
    assert {e.resource for e in profile.musculoskeletal} == {
        "Condition/c1",
        "Condition/disc",
        "Condition/strain",
    }


def test_neuropathic_from_medication() -> None:
    for code, display in [
        ("856783", "amitriptyline hydrochloride 10 MG Oral Tablet"),
        ("483450", "pregabalin 75 MG Oral Capsule"),
        ("308979", "carbamazepine 200 MG Oral Tablet"),
    ]:
        profile = run(med_request(rx(code, display)))
        assert profile.neuropathic[0].resource == "MedicationRequest/m1", code
        assert profile.neuropathic[0].concept == "neuropathic"


def test_red_flags_have_evidence_and_hard_flags_come_first() -> None:
    profile = run(
        ms_condition(),
        condition(cc(coding(ICD10CM, "Z85.3", "History of breast cancer")), id="hx"),
        condition(cc(coding(ICD10CM, "G83.4", "Cauda equina syndrome")), id="ces"),
        condition(cc(coding(ICD10CM, "R33.9", "Retention of urine")), id="ur"),
    )
    assert [(f.category, f.hard) for f in profile.red_flags] == [
        ("cauda_equina", True),
        ("cancer_history", False),
    ]
    ces = profile.hard_red_flags[0]
    assert ces.label == "Cauda equina syndrome"
    assert ces.evidence == Evidence(
        "Condition/ces", "cauda_equina", ICD10CM, "G83.4", "Cauda equina syndrome"
    )
    # Urinary retention is common in MS: a finding, never a red flag on its own.
    assert profile.has("urinary_retention")
    assert "urinary_retention" not in {f.category for f in profile.red_flags}


def test_text_only_conditions() -> None:
    profile = run(
        condition(cc(text="Multiple sclerosis"), id="a"),
        condition(cc(text="Chronic low back pain"), id="b"),
        condition(cc(text="Clonus both ankles"), id="c"),
        condition(cc(text="Lhermitte's sign"), id="d"),
        condition(cc(text="Saddle anaesthesia"), id="e"),
        condition({"coding": [{"display": "Flexor spasms at night"}]}, id="f"),
    )
    assert profile.has_ms and profile.has_back_pain
    assert {e.resource for e in profile.spasticity} == {"Condition/c", "Condition/f"}
    assert profile.neuropathic[0].resource == "Condition/d"
    assert profile.neuropathic[0].system == "text"
    assert profile.has("saddle_anaesthesia")


def test_negated_text_is_not_a_finding() -> None:
    profile = run(condition(cc(text="Low back pain without sciatica, no fever"), id="x"))
    assert profile.has_back_pain
    assert not profile.has("fever")


def test_history_of_cancer_text_is_not_active_malignancy() -> None:
    profile = run(condition(cc(text="History of breast cancer")))
    assert [f.category for f in profile.red_flags] == ["cancer_history"]


def test_text_is_not_read_when_a_code_matched() -> None:
    """A coded history-of-cancer row must not also fire "active malignancy" from its display."""
    resource = condition(
        cc(coding(ICD10CM, "Z85.3", "Personal history of malignant neoplasm of breast"))
    )
    assert [f.category for f in run(resource).red_flags] == ["cancer_history"]


def test_subtypes() -> None:
    for code, subtype in [("G35.C1", "SPMS"), ("G35.B0", "PPMS"), ("G35.A", "RRMS"), ("G35", None)]:
        profile = run(condition(cc(coding(ICD10CM, code))))
        assert profile.has_ms and profile.ms_subtype == subtype, code


def test_findings_hold_every_matched_concept() -> None:
    profile = run(
        condition(cc(coding(ICD10CM, "I21.4")), id="mi"),
        condition(cc(coding(ICD10CM, "K92.2")), id="gi"),
    )
    assert set(profile.findings) >= {
        "recent_mi",
        "cardiovascular_disease",
        "cardiac_conduction",
        "gi_bleed",
    }
    assert profile.evidence_for("cardiovascular_disease")[0].resource == "Condition/mi"
    assert profile.evidence_for("cardiovascular_disease")[0].concept == "cardiovascular_disease"


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("Spastic bladder", "spasticity"),
        ("Bladder spasms", "spasticity"),
        ("Menstrual cramps", "spasticity"),
        ("Hay fever", "fever"),
        ("History of rheumatic fever", "fever"),
        ("Hepatitis B vaccination", "hepatic_impairment"),
        ("Cancer screening", "malignancy"),
        ("Basal cell carcinoma of nose", "malignancy"),
    ],
)
def test_look_alike_text_is_not_the_finding(text: str, concept: str) -> None:
    assert not run(condition(cc(text=text))).has(concept)


def test_non_melanoma_skin_cancer_is_not_malignancy() -> None:
    profile = run(condition(cc(coding(ICD10CM, "C44.91"))))
    assert profile.red_flags == () and profile.has("skin_cancer_nonmelanoma")
    assert [f.category for f in run(condition(cc(coding(ICD10CM, "C43.9")))).red_flags] == [
        "malignancy"
    ]


def test_patient_without_id_still_gives_age() -> None:
    patient = {"resourceType": "Patient", "birthDate": f"{TODAY.year - 30}-01-01"}
    assert run(patient, patient_id="me").age == 30


def test_new_evidence_is_the_dataclass_evidence() -> None:
    from mappings.profile import new_evidence

    args = ("Condition/1", "ms", "http://snomed.info/sct", "24700007", "MS", date(2024, 5, 1))
    built = new_evidence(*args)
    assert built == Evidence(*args)
    assert hash(built) == hash(Evidence(*args))
    assert [getattr(built, f) for f in Evidence.__slots__] == list(args)
    assert new_evidence(*args[:5], None) == Evidence(*args[:5])

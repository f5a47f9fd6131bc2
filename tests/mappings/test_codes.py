"""Code look-up: every value set with real codes, dotted/undotted ICD, prefixes, system aliases."""

from __future__ import annotations

import pytest

from mappings.terminology import Terminology

from .builders import CPT, ICD10, ICD10CM, LOINC, SNOMED

CASES = [
    # MS: SNOMED and subtypes, ICD-10-CM G35 before and after the FY2026 split, WHO ICD-10.
    (SNOMED, "24700007", "ms"),
    (SNOMED, "426373005", "ms_rrms"),
    (SNOMED, "425500002", "ms_spms"),
    (SNOMED, "428700003", "ms_ppms"),
    (ICD10CM, "G35", "ms"),
    (ICD10CM, "G35.A", "ms_rrms"),
    (ICD10CM, "G35A", "ms_rrms"),
    (ICD10CM, "g35.a", "ms_rrms"),
    (ICD10CM, "G35.B0", "ms_ppms"),
    (ICD10CM, "G35.B1", "ms_ppms"),
    (ICD10CM, "G35B2", "ms_ppms"),
    (ICD10CM, "G35.C0", "ms_spms"),
    (ICD10CM, "G35.C1", "ms_spms"),
    (ICD10CM, "G35.C2", "ms_spms"),
    (ICD10CM, "G35.D", "ms"),
    (ICD10, "G35", "ms"),
    # Back pain: M54.5 (pre-FY2022) and its FY2022 children, dotted and undotted.
    (SNOMED, "279039007", "back_pain"),
    (SNOMED, "161891005", "back_pain"),
    (SNOMED, "278860009", "back_pain"),
    (SNOMED, "23056005", "back_pain"),
    (ICD10CM, "M54.5", "back_pain"),
    (ICD10CM, "M545", "back_pain"),
    (ICD10CM, "M54.50", "back_pain"),
    (ICD10CM, "M5450", "back_pain"),
    (ICD10CM, "M54.51", "back_pain"),
    (ICD10CM, "M54.59", "back_pain"),
    (ICD10CM, "M54.41", "back_pain"),
    (ICD10CM, "M54.32", "back_pain"),
    (ICD10CM, "M54.16", "back_pain"),
    (ICD10CM, "M54.9", "back_pain"),
    (ICD10CM, "M54.2", "neck_pain"),
    (ICD10CM, "M51.16", "disc_disorder"),
    (ICD10CM, "M48.062", "spinal_stenosis"),
    (ICD10CM, "M47.816", "spondylosis"),
    # Spasticity and neuropathic pain.
    (SNOMED, "221360009", "spasticity"),
    (SNOMED, "45352006", "spasticity"),
    # a cramp, a back-muscle spasm and an abnormal reflex are not spasticity (rules section 2)
    (ICD10CM, "R25.2", "reviewed_exclusion"),
    (ICD10CM, "M62.830", "musculoskeletal"),
    (ICD10CM, "R29.2", "reviewed_exclusion"),
    (ICD10CM, "M62830", "musculoskeletal"),
    (SNOMED, "247398009", "neuropathic"),
    (SNOMED, "279079003", "neuropathic"),
    (SNOMED, "91019004", "neuropathic"),
    (SNOMED, "31681005", "neuropathic"),
    (ICD10CM, "G89.0", "neuropathic"),
    # tingling is a sensory symptom, trigeminal neuralgia is not back pain (rules section 2)
    (ICD10CM, "R20.2", "sensory_loss"),
    (ICD10CM, "G50.0", "trigeminal_neuralgia"),
    (ICD10CM, "M51.17", "disc_disorder"),
    (ICD10CM, "M51.27", "disc_disorder"),
    (ICD10CM, "M48.07", "spinal_stenosis"),
    (ICD10CM, "M51.362", "disc_disorder"),
    (ICD10CM, "M51.A3", "disc_disorder"),
    (ICD10CM, "Z85.828", "reviewed_exclusion"),
    (ICD10CM, "R50.2", "reviewed_exclusion"),
    (ICD10CM, "R50.84", "reviewed_exclusion"),
    (ICD10CM, "Z79.61", "reviewed_exclusion"),
    (ICD10CM, "Z79.620", "immunosuppression"),
    (ICD10CM, "R15.0", "reviewed_exclusion"),
    (ICD10CM, "R15.2", "reviewed_exclusion"),
    (ICD10CM, "C90.00", "spinal_malignancy"),
    (ICD10CM, "N39.0", "urinary_infection"),
    # Red flags and risk factors.
    (SNOMED, "192970008", "cauda_equina"),
    (ICD10CM, "G83.4", "cauda_equina"),
    (ICD10CM, "G95.20", "cord_compression"),
    (ICD10CM, "G95.81", "cord_compression"),
    (SNOMED, "444760002", "spinal_infection"),
    (ICD10CM, "M46.26", "spinal_infection"),
    (ICD10CM, "M46.46", "spinal_infection"),
    (ICD10CM, "G06.1", "spinal_infection"),
    (SNOMED, "94602001", "spinal_malignancy"),
    (ICD10CM, "C79.51", "spinal_malignancy"),
    (ICD10CM, "C41.2", "spinal_malignancy"),
    (ICD10CM, "S32.009A", "vertebral_fracture"),
    (ICD10CM, "S32000A", "vertebral_fracture"),
    (ICD10CM, "M48.56XA", "vertebral_fracture"),
    (ICD10CM, "M80.08XA", "vertebral_fracture"),
    (ICD10CM, "M80.88XA", "vertebral_fracture"),
    (ICD10CM, "M80.00XA", "osteoporosis"),  # osteoporotic fracture elsewhere (not vertebral)
    (SNOMED, "203450003", "vertebral_fracture"),
    (ICD10CM, "Z85.3", "cancer_history"),
    (ICD10CM, "Z85.118", "cancer_history"),
    (ICD10CM, "C80.1", "malignancy"),
    (ICD10CM, "C50.911", "malignancy"),
    (SNOMED, "363346000", "malignancy"),
    (ICD10CM, "R50.9", "fever"),
    (SNOMED, "386661006", "fever"),
    (ICD10CM, "R63.4", "weight_loss"),
    (SNOMED, "228388006", "iv_drug_use"),
    (ICD10CM, "Z79.52", "long_term_steroids"),
    (ICD10CM, "Z79.60", "immunosuppression"),
    (ICD10CM, "M81.0", "osteoporosis"),
    (SNOMED, "64859006", "osteoporosis"),
    # Common in MS: findings, not red flags.
    (SNOMED, "267064002", "urinary_retention"),
    (ICD10CM, "R33.9", "urinary_retention"),
    (ICD10CM, "R32", "urinary_incontinence"),
    (ICD10CM, "R15.9", "bowel_incontinence"),
    (ICD10CM, "R26.2", "gait_difficulty"),
    # Safety findings (unverified ICD-10-CM prefixes).
    (ICD10CM, "K25.4", "gi_bleed"),
    (ICD10CM, "K92.2", "gi_bleed"),
    (ICD10CM, "I21.4", "recent_mi"),
    (ICD10CM, "I50.9", "cardiovascular_disease"),
    (ICD10CM, "I63.9", "cardiovascular_disease"),
    (ICD10CM, "I25.10", "cardiovascular_disease"),
    (ICD10CM, "I48.91", "cardiac_conduction"),
    (ICD10CM, "I44.2", "cardiac_conduction"),
    (ICD10CM, "H40.20X0", "angle_closure_glaucoma"),
    (ICD10CM, "K74.60", "hepatic_impairment"),
    # Observations.
    (LOINC, "98979-8", "egfr_race_free"),
    (LOINC, "62238-1", "egfr"),
    (LOINC, "33914-3", "egfr"),
    (LOINC, "72514-3", "pain_score"),
    (LOINC, "38208-5", "pain_score"),
    (LOINC, "91148-7", "pain_score"),
    # Orders.
    (CPT, "72148", "spine_imaging"),
    (CPT, "72158", "spine_imaging"),
    (CPT, "72131", "spine_imaging"),
    (CPT, "72100", "spine_imaging"),
    (CPT, "72141", "cervical_spine_imaging"),
    (LOINC, "24968-0", "spine_imaging"),
    (LOINC, "36332-5", "spine_imaging"),
    (SNOMED, "394451000119106", "spine_imaging"),
    (SNOMED, "241645008", "spine_imaging"),
    (SNOMED, "306170007", "physiotherapy"),
    (CPT, "97161", "physiotherapy"),
    (SNOMED, "84478008", "occupational_therapy"),
    (SNOMED, "228557008", "cbt"),
    (CPT, "97110", "exercise_therapy"),
]

NOT_MATCHED = [
    (ICD10CM, "G36.0"),  # NMO is not MS
    (ICD10CM, "G37.3"),  # transverse myelitis is not MS
    (ICD10CM, "G37.81"),  # MOGAD is not MS
    (ICD10CM, "G80.0"),  # cerebral palsy: excluded from spasticity
    (ICD10CM, "M54.81"),  # occipital neuralgia is not back pain
    (ICD10CM, "Z86.010"),  # not a cancer history code
    (ICD10CM, "D49.2"),  # neoplasm of unspecified behaviour: not "malignant"
    (SNOMED, "58000006"),  # "Patient discharge", NOT bed rest (mappings/README.md)
    (LOINC, "24982-7"),  # not an MR lumbar spine code
    (SNOMED, "G35"),  # right code, wrong system
    (ICD10CM, ""),
    ("http://example.org/local", "G35"),
    (None, "G35"),
]


@pytest.mark.parametrize(("system", "code", "concept"), CASES)
def test_code_maps_to_concept(term: Terminology, system: str, code: str, concept: str) -> None:
    entry = term.lookup(system, code)
    assert entry is not None, (system, code)
    assert entry.concept == concept


@pytest.mark.parametrize(("system", "code"), NOT_MATCHED)
def test_code_not_matched(term: Terminology, system: str | None, code: str) -> None:
    assert term.lookup(system, code) is None


@pytest.mark.parametrize(
    "system",
    [
        "http://snomed.info/sct",
        "http://snomed.info/sct/",
        "HTTP://SNOMED.INFO/SCT",
        "urn:oid:2.16.840.1.113883.6.96",
        " http://snomed.info/sct ",
    ],
)
def test_system_aliases(term: Terminology, system: str) -> None:
    entry = term.lookup(system, "24700007")
    assert entry is not None and entry.concept == "ms"


def test_numeric_code_is_read_as_text(term: Terminology) -> None:
    entry = term.lookup(SNOMED, 24700007)
    assert entry is not None and entry.concept == "ms"


@pytest.mark.parametrize("code", [None, True, {"x": 1}, ["G35"]])
def test_non_string_codes_are_ignored(term: Terminology, code: object) -> None:
    assert term.lookup(ICD10CM, code) is None


def test_every_data_row_looks_itself_up(term: Terminology) -> None:
    """Each row, dotted or undotted, resolves to its own concept (no row shadowed by another)."""
    for entry in term.entries:
        for code in (entry.code, entry.code.replace(".", "")):
            found = term.lookup(entry.system, code)
            assert found is not None and found.concept == entry.concept, entry
        if entry.match == "prefix":
            child = term.lookup(entry.system, entry.code + "9")
            assert child is not None


@pytest.mark.parametrize(("code", "concept"), [("M54.5", "back_pain"), ("M54.4", "back_pain")])
def test_who_icd10_back_pain(term: Terminology, code: str, concept: str) -> None:
    entry = term.lookup(ICD10, code)
    assert entry is not None and entry.concept == concept
    assert entry.confirmed.startswith("no:")

"""Benchmark: how long `mappings.classify` takes for realistic patients of 50, 500, 5,000 resources.

Run: `.venv/bin/python bench/classifier.py` (not a test; timings vary by machine). Each patient
mixes what an EHR prefetch really holds: mostly unrelated problems, vitals and labs, old and
current medications, with the MS/back-pain resources among them. Prints the median of repeated
runs (warm: terminology loaded, text-match cache filled) and the first run (cold text cache).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from typing import Any

from mappings import classify, load_terminology

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
TODAY = date.today()

# Unrelated but typical problems, labs and drugs (codes as EHRs send them; not in our value sets).
OTHER_PROBLEMS = [
    (SNOMED, "38341003", "Hypertensive disorder, systemic arterial"),
    (SNOMED, "44054006", "Diabetes mellitus type 2"),
    (ICD10CM, "E78.5", "Hyperlipidemia, unspecified"),
    (ICD10CM, "F32.A", "Depression, unspecified"),
    (ICD10CM, "J45.909", "Unspecified asthma, uncomplicated"),
    (SNOMED, "35489007", "Depressive disorder"),
    (ICD10CM, "N39.0", "Urinary tract infection, site not specified"),
    (ICD10CM, "K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    (ICD10CM, "Z23", "Encounter for immunization"),
    (SNOMED, "271737000", "Anemia"),
]
RELEVANT_PROBLEMS = [
    (ICD10CM, "G35.A", "Relapsing-remitting multiple sclerosis"),
    (SNOMED, "279039007", "Low back pain"),
    (SNOMED, "221360009", "Spasticity"),
    (SNOMED, "279079003", "Dysesthesia"),
    (ICD10CM, "R33.9", "Retention of urine, unspecified"),
]
LABS = [
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 180),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 10, 16),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 100, 160),
    ("8867-4", "Heart rate", "/min", 55, 100),
    ("29463-7", "Body weight", "kg", 50, 110),
    ("98979-8", "eGFR CKD-EPI 2021", "mL/min/{1.73_m2}", 35, 110),
    ("72514-3", "Pain severity 0-10", "{score}", 0, 10),
]
DRUGS = [
    ("197391", "baclofen 10 MG Oral Tablet"),
    ("313413", "tizanidine 4 MG Oral Tablet"),
    ("310431", "gabapentin 300 MG Oral Capsule"),
    ("856783", "amitriptyline hydrochloride 10 MG Oral Tablet"),
    ("197805", "ibuprofen 400 MG Oral Tablet"),
    ("861007", "metformin hydrochloride 500 MG Oral Tablet"),
    ("314076", "lisinopril 10 MG Oral Tablet"),
    ("617312", "atorvastatin 10 MG Oral Tablet"),
]


def _day(rng: random.Random, max_days: int) -> str:
    return (TODAY - timedelta(days=rng.randint(0, max_days))).isoformat()


def make_patient(size: int, seed: int = 1) -> list[dict[str, Any]]:
    """A prefetch of `size` resources: about 20% conditions, 65% observations, 15% meds."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = [{"resourceType": "Patient", "id": "p", "birthDate": "1975-04-02"}]
    for i, (system, code, display) in enumerate(RELEVANT_PROBLEMS):
        out.append(_condition(f"rel{i}", system, code, display, "active", _day(rng, 400)))
    n = 1
    while len(out) < size:
        roll = rng.random()
        n += 1
        if roll < 0.20:
            system, code, display = rng.choice(OTHER_PROBLEMS)
            status = rng.choice(["active", "active", "resolved", "inactive"])
            out.append(_condition(f"c{n}", system, code, display, status, _day(rng, 3000)))
        elif roll < 0.85:
            code, display, unit, low, high = rng.choice(LABS)
            out.append(
                {
                    "resourceType": "Observation",
                    "id": f"o{n}",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                    "effectiveDateTime": _day(rng, 1500) + "T09:30:00Z",
                    "valueQuantity": {"value": rng.randint(low, high), "unit": unit},
                    "subject": {"reference": "Patient/p"},
                }
            )
        else:
            code, display = rng.choice(DRUGS)
            out.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": f"m{n}",
                    "status": rng.choice(["active", "stopped", "completed", "active"]),
                    "intent": "order",
                    "medicationCodeableConcept": {
                        "coding": [{"system": RXNORM, "code": code, "display": display}],
                        "text": display,
                    },
                    "authoredOn": _day(rng, 2000),
                    "subject": {"reference": "Patient/p"},
                }
            )
    return out[:size]


def _condition(
    rid: str, system: str, code: str, display: str, status: str, onset: str
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "onsetDateTime": onset,
        "subject": {"reference": "Patient/p"},
    }


def measure(size: int, repeats: int) -> tuple[float, float]:
    """(first run, median of `repeats` runs) in milliseconds."""
    term = load_terminology()
    patient = make_patient(size, seed=size)
    term.text._cache.clear()  # type: ignore[union-attr]  # a cold text cache for the first run
    start = time.perf_counter()
    classify(patient, today=TODAY, patient_id="p")
    first = (time.perf_counter() - start) * 1000
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        profile = classify(patient, today=TODAY, patient_id="p")
        runs.append((time.perf_counter() - start) * 1000)
    assert profile.has_ms and profile.has_back_pain
    return first, statistics.median(runs)


def main() -> None:
    start = time.perf_counter()
    load_terminology()
    load_ms = (time.perf_counter() - start) * 1000
    print(f"load_terminology(): {load_ms:.0f} ms (once, at start-up)\n")
    print(f"{'resources':>10} {'first run':>12} {'median':>12} {'per resource':>14}")
    for size, repeats in ((50, 500), (500, 100), (5000, 20)):
        first, median = measure(size, repeats)
        print(f"{size:>10} {first:>9.3f} ms {median:>9.3f} ms {median * 1000 / size:>11.2f} us")


if __name__ == "__main__":
    main()

"""Hook requests and FHIR resources for service tests, with dates relative to today."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
FHIR_BASE = "https://ehr.example.org/fhir"
PATIENT_ID = "pat-1"


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def patient(age: int = 45, patient_id: str = PATIENT_ID) -> dict[str, Any]:
    born = datetime.now(UTC).date().replace(year=datetime.now(UTC).year - age) - timedelta(days=30)
    return {"resourceType": "Patient", "id": patient_id, "birthDate": born.isoformat()}


def condition(cid: str, system: str, code: str, display: str, onset_days: int = 10) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "onsetDateTime": days_ago(onset_days),
    }


MS = condition("c-ms", ICD10CM, "G35.A", "Relapsing-remitting multiple sclerosis", 2000)
LOW_BACK_PAIN = condition("c-lbp", SNOMED, "279039007", "Low back pain", 10)


def bundle(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **extra,
    }


def full_prefetch(*conditions: dict, meds: tuple[dict, ...] = (), age: int = 45) -> dict:
    """Every prefetch key of the service, filled."""
    return {
        "patient": patient(age),
        "conditions": bundle(*conditions),
        "medicationRequests": bundle(*meds),
        "medicationStatements": bundle(),
        "egfr": bundle(),
        "painScores": bundle(),
    }


def hook_request(
    hook: str = "patient-view",
    prefetch: dict | None = None,
    *,
    context: dict | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/doc-1", "patientId": PATIENT_ID}
    if hook == "order-select":
        ctx.update(selections=[], draftOrders={"resourceType": "Bundle", "entry": []})
    if hook == "order-sign":
        ctx.update(draftOrders={"resourceType": "Bundle", "entry": []})
    ctx.update(context or {})
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": FHIR_BASE,
        "context": ctx,
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body

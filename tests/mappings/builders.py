"""Small FHIR builders for the mappings tests, with dates relative to today."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mappings"
TODAY = date.today()

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

_RELATIVE = re.compile(r"^@-(\d+)([dy])$")


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def _resolve(value: Any) -> Any:
    if isinstance(value, str):
        match = _RELATIVE.match(value)
        if match:
            n, unit = int(match[1]), match[2]
            if unit == "d":
                return days_ago(n)
            return TODAY.replace(year=TODAY.year - n, day=min(TODAY.day, 28)).isoformat()
        return value
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items() if not k.startswith("_")}
    return value


def load_fixture(name: str) -> dict[str, Any]:
    """A JSON fixture with its '@-Nd' / '@-Ny' dates made concrete."""
    return _resolve(json.loads((FIXTURES / name).read_text()))


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def cc(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": list(codings)}
    if text is not None:
        out["text"] = text
    return out


def condition(
    code: dict[str, Any] | None,
    *,
    id: str = "c1",
    clinical: Any = "active",
    verification: Any = None,
    onset: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Condition", "id": id}
    if code is not None:
        out["code"] = code
    if clinical == "active" or isinstance(clinical, str):
        out["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    elif clinical is not None:
        out["clinicalStatus"] = clinical
    if verification is not None:
        out["verificationStatus"] = (
            {"coding": [{"system": VERIFICATION, "code": verification}]}
            if isinstance(verification, str)
            else verification
        )
    if onset is not None:
        out["onsetDateTime"] = onset
    out.update(extra)
    return out


def med_request(
    medication: dict[str, Any] | None = None,
    *,
    id: str = "m1",
    status: str | None = "active",
    kind: str = "MedicationRequest",
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": kind, "id": id}
    if status is not None:
        out["status"] = status
    if medication is not None:
        out["medicationCodeableConcept"] = medication
    out.update(extra)
    return out


def rx(code: str, display: str | None = None) -> dict[str, Any]:
    return cc(coding(RXNORM, code, display))


def observation(
    code: dict[str, Any], *, id: str = "o1", when: str | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Observation", "id": id, "status": "final", "code": code}
    if when is not None:
        out["effectiveDateTime"] = when
    out.update(extra)
    return out


def ms_condition(id: str = "ms") -> dict[str, Any]:
    return condition(cc(coding(SNOMED, "24700007", "Multiple sclerosis")), id=id)

"""The FHIR resources our suggestions carry: draft proposals, valid under FHIR R4B.

Each product's resource is built and validated with `fhir.resources.R4B` once, at import, and kept
as JSON bytes. A request then only parses those bytes into a fresh copy (several times cheaper
than `copy.deepcopy` of the dict) and fills in the subject and reasons, which are sanitised so the
result stays valid without paying for validation on the request path (tests validate every
emitted resource).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.products import DRUGS, RXNORM, SERVICES, SNOMED, DrugProduct, ServiceProduct
from mappings.profile import Evidence

_PLACEHOLDER_SUBJECT = {"reference": "Patient/placeholder"}
_REASON_REFERENCE = re.compile(r"^(Condition|Observation)/[A-Za-z0-9\-.]{1,64}$")
_FHIR_CODE = re.compile(r"^[^\s]+( [^\s]+)*$")
_URI = re.compile(r"^https?://\S+$")
_MAX_REASONS = 5


def _medication_template(drug: DrugProduct) -> dict[str, Any]:
    resource = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": {
            "text": drug.display,
            "coding": [{"system": RXNORM, "code": drug.code, "display": drug.display}],
        },
        "subject": _PLACEHOLDER_SUBJECT,
        "dosageInstruction": [{"text": drug.dosage}],
    }
    return MedicationRequest.model_validate(resource).model_dump(mode="json", exclude_none=True)


def _service_template(service: ServiceProduct) -> dict[str, Any]:
    resource = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": service.priority,
        "code": {
            "text": service.text,
            "coding": [
                {"system": service.system, "code": service.code, "display": service.display}
            ],
        },
        "subject": _PLACEHOLDER_SUBJECT,
    }
    return ServiceRequest.model_validate(resource).model_dump(mode="json", exclude_none=True)


_TEMPLATES: dict[str, bytes] = {
    **{key: orjson.dumps(_medication_template(d)) for key, d in DRUGS.items()},
    **{key: orjson.dumps(_service_template(s)) for key, s in SERVICES.items()},
}


def proposal(key: str, patient_id: str, reasons: Iterable[Evidence] = ()) -> dict[str, Any]:
    """A draft proposal (MedicationRequest or ServiceRequest) of product `key` for this patient."""
    resource = orjson.loads(_TEMPLATES[key])
    resource["subject"] = {"reference": f"Patient/{patient_id}"}
    references, codes = _reasons(reasons)
    if codes:
        resource["reasonCode"] = codes
    if references:
        resource["reasonReference"] = references
    return resource


def _reasons(evidence: Iterable[Evidence]) -> tuple[list[dict], list[dict]]:
    references: list[dict] = []
    codes: list[dict] = []
    seen: set[str] = set()
    for e in evidence:
        if len(codes) >= _MAX_REASONS:
            break
        if _REASON_REFERENCE.match(e.resource) and e.resource not in seen:
            seen.add(e.resource)
            references.append({"reference": e.resource})
        code = _reason_code(e)
        if code and code not in codes:
            codes.append(code)
    return references, codes


def _reason_code(e: Evidence) -> dict | None:
    text = " ".join(str(e.display).split())[:200]
    if _is_uri(e.system) and _is_code(e.code):
        if text:
            return {"coding": [{"system": e.system, "code": e.code, "display": text}], "text": text}
        return {"coding": [{"system": e.system, "code": e.code}]}
    return {"text": text} if text else None


# The code systems evidence almost always carries, checked once here instead of on every reason.
_KNOWN_SYSTEMS = frozenset(
    system
    for system in (
        SNOMED,
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://hl7.org/fhir/sid/icd-10",
        "http://loinc.org",
        RXNORM,
    )
    if _URI.match(system)
)


def _is_uri(system: str | None) -> bool:
    return system in _KNOWN_SYSTEMS or _URI.match(system or "") is not None


def _is_code(code: str | None) -> bool:
    """A FHIR `code`: no leading, trailing or double spaces, no other whitespace."""
    # letters and digits alone are never whitespace: most codes need no regex
    return bool(code) and (code.isalnum() or _FHIR_CODE.match(code) is not None)

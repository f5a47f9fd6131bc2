"""The FHIR resources our suggestions carry: draft proposals, valid under FHIR R4B.

Each product's resource is written out as a dict literal, and checked at import against what
`fhir.resources.R4B` validation makes of it (the same JSON, key order included). A request then
only builds a fresh dict from that literal (cheaper than parsing pre-dumped JSON:
docs/performance.md, figures behind the code) and fills in the subject and reasons, which are
sanitised so the result stays valid without paying for validation on the request path (tests
validate every emitted resource).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, NotRequired, TypedDict

import orjson
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.products import DRUGS, RXNORM, SERVICES, SNOMED, DrugProduct, ServiceProduct
from mappings.profile import Evidence

_REASON_REFERENCE = re.compile(r"^(Condition|Observation)/[A-Za-z0-9\-.]{1,64}$")
_FHIR_CODE = re.compile(r"^[^\s]+( [^\s]+)*$")
_URI = re.compile(r"^https?://\S+$")
_MAX_REASONS = 5


def _medication_request(drug: DrugProduct, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": drug.code, "display": drug.display}],
            "text": drug.display,
        },
        "subject": {"reference": subject},
        "dosageInstruction": [{"text": drug.dosage}],
    }


def _service_request(service: ServiceProduct, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": service.priority,
        "code": {
            "coding": [
                {"system": service.system, "code": service.code, "display": service.display}
            ],
            "text": service.text,
        },
        "subject": {"reference": subject},
    }


_PRODUCTS: dict[str, tuple[Callable[[Any, str], dict[str, Any]], DrugProduct | ServiceProduct]] = {
    **{key: (_medication_request, d) for key, d in DRUGS.items()},
    **{key: (_service_request, s) for key, s in SERVICES.items()},
}


def _check_products() -> None:
    """Every product's resource is what FHIR R4B validation makes of it, key order included."""
    for key, (build, product) in _PRODUCTS.items():
        resource = build(product, "Patient/placeholder")
        model = (
            MedicationRequest if resource["resourceType"] == "MedicationRequest" else ServiceRequest
        )
        valid = model.model_validate(resource).model_dump(mode="json", exclude_none=True)
        if orjson.dumps(valid) != orjson.dumps(resource):
            raise RuntimeError(f"the {key} proposal is not its FHIR R4B form: {valid}")


_check_products()


def proposal(key: str, patient_id: str, reasons: Iterable[Evidence] = ()) -> dict[str, Any]:
    """A draft proposal (MedicationRequest or ServiceRequest) of product `key` for this patient."""
    return proposals((key,), patient_id, reasons)[0]


def proposals(
    keys: Iterable[str], patient_id: str, reasons: Iterable[Evidence] = ()
) -> list[dict[str, Any]]:
    """Draft proposals of the products `keys` for this patient, for the same reasons.

    A card's alternatives (baclofen or tizanidine) have the same reasons: worked out once, and
    the resources share those lists (JSON values nothing changes once built).
    """
    references, codes = _reasons(reasons)
    subject = f"Patient/{patient_id}"
    out = []
    for key in keys:
        build, product = _PRODUCTS[key]
        resource = build(product, subject)
        if codes:
            resource["reasonCode"] = codes
        if references:
            resource["reasonReference"] = references
        out.append(resource)
    return out


class _Reference(TypedDict):
    reference: str


class _Coding(TypedDict):
    system: str
    code: str
    display: NotRequired[str]


class _CodeableConcept(TypedDict, total=False):
    coding: list[_Coding]
    text: str


def _reasons(evidence: Iterable[Evidence]) -> tuple[list[_Reference], list[_CodeableConcept]]:
    """`reasonReference`s (conditions, observations) and `reasonCode`s, without repeats.

    About a dozen per patient-view call, in one loop: the usual code systems and letter/digit
    codes are checked without a regex or a call.
    """
    references: list[_Reference] = []
    codes: list[_CodeableConcept] = []
    seen: set[str] = set()
    for e in evidence:
        if len(codes) >= _MAX_REASONS:
            break
        ref = e.resource
        if ref not in seen and _REASON_REFERENCE.match(ref):  # seen holds matched ones only
            seen.add(ref)
            references.append({"reference": ref})
        text = " ".join(str(e.display).split())[:200]
        system, code = e.system, e.code
        reason: _CodeableConcept
        if (system in _KNOWN_SYSTEMS or _is_uri(system)) and (
            code and (code.isalnum() or _is_code(code))
        ):
            if text:
                reason = {"coding": [{"system": system, "code": code, "display": text}]}
                reason["text"] = text
            else:
                reason = {"coding": [{"system": system, "code": code}]}
        elif text:
            reason = {"text": text}
        else:
            continue
        if reason not in codes:
            codes.append(reason)
    return references, codes


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
    if not code:
        return False
    # letters and digits alone are never whitespace: most codes need no regex
    return code.isalnum() or _FHIR_CODE.match(code) is not None

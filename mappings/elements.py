"""The FHIR elements `mappings` reads from a patient's resources, as data.

A caller that decodes prefetch itself may keep only these top-level elements of each resource
(and of each Bundle and Bundle entry around them) and drop the rest, the narrative, `meta` and
identifiers that make up most of a chart's bytes, before it builds any Python objects. The lists
must therefore name every element the classifier, the order reader and the prefetch reader look
at; `tests/service/fhir/test_read_body.py` runs them over every sample chart, messy shapes included,
and fails when one reads an element that is not listed here.
"""

from __future__ import annotations

# Observation value[x] in FHIR R4 (valueDecimal is not R4 but is read when an EHR sends it).
OBSERVATION_VALUES = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueDecimal",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)

RESOURCE_ELEMENTS = frozenset(
    {
        # every resource
        "resourceType",
        "id",
        "status",
        "code",
        "subject",
        "patient",
        "contained",
        # Patient
        "birthDate",
        "deceasedBoolean",
        "deceasedDateTime",
        # Condition
        "clinicalStatus",
        "verificationStatus",
        "onsetDateTime",
        "onsetPeriod",
        "recordedDate",
        "abatementDateTime",
        "abatementPeriod",
        # Observation
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "issued",
        "component",
        *OBSERVATION_VALUES,
        # MedicationRequest, MedicationStatement, Medication
        "medicationCodeableConcept",
        "medicationReference",
        "medication",  # R5 shape, sent by some EHRs
        "ingredient",
        "doNotPerform",
        "authoredOn",
        "dateAsserted",
        "dispenseRequest",
        "dosageInstruction",  # MedicationRequest: route and daily dose
        "dosage",  # MedicationStatement
        "reasonCode",  # what a drug is given for (epilepsy is not neuropathic pain)
        "reasonReference",
        # Procedure (a recent dialysis)
        "performedDateTime",
        "performedPeriod",
        # OperationOutcome (in place of data, or inside a Bundle)
        "issue",
        # a bare Bundle entry ({"resource": {...}}) given where a resource belongs
        "resource",
    }
)

# Status elements: a code (R4 `status`), a CodeableConcept (R4 `clinicalStatus`), or either in
# place of the other, as EHRs send them. Only a status's codes and text are read, so of a
# status CodeableConcept only these elements, and of its codings only `code`, need be kept: the
# system and display of every Condition's two statuses are a tenth of what a chart decodes to.
STATUS_ELEMENTS = frozenset({"status", "clinicalStatus", "verificationStatus"})
STATUS_CONCEPT_ELEMENTS = frozenset({"coding", "text"})
STATUS_CODING_ELEMENTS = frozenset({"code"})

BUNDLE_ELEMENTS = frozenset({"resourceType", "id", "type", "total", "link", "entry"})

ENTRY_ELEMENTS = frozenset({"resource"})

__all__ = [
    "BUNDLE_ELEMENTS",
    "ENTRY_ELEMENTS",
    "OBSERVATION_VALUES",
    "RESOURCE_ELEMENTS",
    "STATUS_CODING_ELEMENTS",
    "STATUS_CONCEPT_ELEMENTS",
    "STATUS_ELEMENTS",
]

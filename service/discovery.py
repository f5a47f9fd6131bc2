"""The services this server offers, one per hook, and their prefetch templates.

Distinct ids per hook: the CDS Hooks Sandbox keys services by `discoveryUrl/id`, so one id shared by
three hooks would overwrite itself there. The templates ask only for what the rules read, and stay
inside the STU2 token and query rules (a read, `patient=` searches, token lists, `_sort`, `_count`)
so strict EHR FHIR servers accept them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mappings import load_terminology

LOINC = "http://loinc.org"


def loinc_codes(*concepts: str) -> tuple[str, ...]:
    """The LOINC codes of these concepts in `mappings/data/` (observations.csv): the prefetch
    asks for exactly what the classifier reads, so the two cannot drift apart."""
    term = load_terminology()
    return tuple(e.code for e in term.entries if e.concept in concepts and e.system == LOINC)


# eGFR (CKD-EPI 2021 race-free, CKD-EPI 2009, race-stratified and MDRD variants) and pain scores
# (NRS, severity, BPI interference, PEG and its items).
EGFR_LOINC = loinc_codes("egfr", "egfr_race_free")
PAIN_SCORE_LOINC = loinc_codes("pain_score")


def _codes(codes: tuple[str, ...]) -> str:
    return ",".join(f"{LOINC}|{c}" for c in codes)


# Search results per page. Servers left to their own default page at 20 (HAPI) or so, and a chart
# with more diagnoses than that then needs `next` links, which a gateway in front of the server
# may write on a base the service cannot use. 200 is the largest page HAPI serves unless
# configured otherwise (Medplum allows 1,000); at MSCDS_FHIR_MAX_PAGES (20) that reads 4,000
# resources per key, and a page of 200 Conditions or MedicationRequests is a few hundred kB, far
# under MSCDS_FHIR_MAX_RESPONSE_BYTES (20 MB). Observations are asked newest first, 50 a page.
PAGE_SIZE = 200
OBSERVATION_PAGE_SIZE = 50

PATIENT = "{{context.patientId}}"
PREFETCH: dict[str, str] = {
    "patient": f"Patient/{PATIENT}",
    "conditions": f"Condition?patient={PATIENT}&_count={PAGE_SIZE}",
    "medicationRequests": (
        f"MedicationRequest?patient={PATIENT}&status=active,on-hold&_count={PAGE_SIZE}"
    ),
    "medicationStatements": (
        f"MedicationStatement?patient={PATIENT}&status=active,intended&_count={PAGE_SIZE}"
    ),
    "egfr": (
        f"Observation?patient={PATIENT}&code={_codes(EGFR_LOINC)}"
        f"&_sort=-date&_count={OBSERVATION_PAGE_SIZE}"
    ),
    "painScores": (
        f"Observation?patient={PATIENT}&code={_codes(PAIN_SCORE_LOINC)}"
        f"&_sort=-date&_count={OBSERVATION_PAGE_SIZE}"
    ),
}


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    usage_requirements: str | None = None

    def discovery_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
        }
        if self.usage_requirements:
            entry["usageRequirements"] = self.usage_requirements
        return entry


_USAGE = (
    "For clinicians caring for adults with multiple sclerosis. Reads the patient's Conditions, "
    "active medications and recent eGFR and pain-score Observations, from prefetch or from the "
    "FHIR server. Decision support only: every card explains itself and can be overridden."
)

SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            id="ms-back-pain-patient-view",
            hook="patient-view",
            title="Back pain in multiple sclerosis",
            description=(
                "When an MS patient's chart opens: red flags first, then back-pain treatment "
                "matched to its components (musculoskeletal, spasticity, neuropathic), with "
                "medication-safety checks, or a prompt to ask about pain."
            ),
            prefetch=PREFETCH,
            usage_requirements=_USAGE,
        ),
        ServiceDefinition(
            id="ms-back-pain-order-select",
            hook="order-select",
            title="Back pain in MS: order checks",
            description=(
                "When orders are selected for an MS patient: flags spine imaging without red "
                "flags, bed rest, opioids, unsafe NSAIDs and drug interactions (tizanidine with "
                "CYP1A2 inhibitors), and suggests safer alternatives."
            ),
            prefetch=PREFETCH,
            usage_requirements=_USAGE,
        ),
        ServiceDefinition(
            id="ms-back-pain-order-sign",
            hook="order-sign",
            title="Back pain in MS: order checks at signing",
            description=(
                "When orders are signed for an MS patient: the same checks as at selection, "
                "applied to every draft order."
            ),
            prefetch=PREFETCH,
            usage_requirements=_USAGE,
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    return {"services": [s.discovery_entry() for s in SERVICES.values()]}


# What a URL may carry as written (RFC 3986: unreserved, sub-delims, ':', '@', '/', '?'), and
# '%' so that a template written already encoded stays as written. Everything else is
# percent-encoded, the `|` of FHIR token searches (`code=http://loinc.org|98979-8`) first.
_URL_SAFE = "-._~!$&'()*+,;=:@/?%"


def fill_template(template: str, context: dict[str, Any]) -> str | None:
    """The template as the service requests it: `{{context.x}}` tokens replaced with their
    context values, each encoded whole, and the template's own text percent-encoded where a URL
    may not carry it as written; None if a value is missing.

    Discovery shows the templates as the spec writes them (`|` unencoded): the EHR fills and
    encodes them itself (the Sandbox decodes each value, then encodes it).
    """
    out: list[str] = []
    rest = template
    while "{{" in rest:
        start = rest.index("{{")
        end = rest.find("}}", start)
        if end < 0:
            return None
        token = rest[start + 2 : end].strip()
        value = (
            context.get(token.removeprefix("context.")) if token.startswith("context.") else None
        )
        if not isinstance(value, str | int) or value == "":
            return None
        out += (quote(rest[:start], safe=_URL_SAFE), quote(str(value), safe=""))
        rest = rest[end + 2 :]
    out.append(quote(rest, safe=_URL_SAFE))
    return "".join(out)

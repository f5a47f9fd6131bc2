"""Synthetic patients of a given size, and hook requests whose prefetch follows discovery.

A patient of N resources is the `ms-mixed-pain` sample story (SPMS, chronic low back pain,
spasticity, neuropathic pain, a pain score and an eGFR) plus filler that looks like a real chart:
every resource carries narrative (`text.div`), `meta`, identifiers and a subject; statuses are
mixed (active, resolved, inactive, stopped, completed, entered-in-error); codes are the samples'
own (MS, back pain, red flags, analgesics, DMTs) plus common comorbidities and their drugs.
The filler never adds an active red flag or an active drug from the samples, so the clinical
story (and the cards) stays the story's; its cost is what the benchmark measures.

Deterministic: the same N gives the same resources (dates relative to today).
"""

from __future__ import annotations

import copy
import random
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

from service.demo.samples import list_orders, list_samples, load_order, sample_resources

STORY = "ms-mixed-pain"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-"

# Common comorbidities (SNOMED CT + ICD-10-CM) and everyday drugs (RxNorm ingredients): codes the
# service's value sets do not know, so they exercise the classifier's free-text fallback.
COMORBIDITIES = (
    ("38341003", "Hypertensive disorder", "I10", "Essential (primary) hypertension"),
    ("55822004", "Hyperlipidemia", "E78.5", "Hyperlipidemia, unspecified"),
    ("44054006", "Diabetes mellitus type 2", "E11.9", "Type 2 diabetes mellitus"),
    ("370143000", "Major depressive disorder", "F32.9", "Major depressive disorder"),
    ("40930008", "Hypothyroidism", "E03.9", "Hypothyroidism, unspecified"),
    ("235595009", "Gastroesophageal reflux disease", "K21.9", "GERD without esophagitis"),
    ("195967001", "Asthma", "J45.909", "Unspecified asthma, uncomplicated"),
    ("68566005", "Urinary tract infectious disease", "N39.0", "Urinary tract infection"),
    ("239873007", "Osteoarthritis of knee", "M17.9", "Osteoarthritis of knee, unspecified"),
    ("34713006", "Vitamin D deficiency", "E55.9", "Vitamin D deficiency, unspecified"),
)
EVERYDAY_DRUGS = (
    ("29046", "lisinopril"),
    ("83367", "atorvastatin"),
    ("6809", "metformin"),
    ("7646", "omeprazole"),
    ("36437", "sertraline"),
    ("10582", "levothyroxine"),
    ("17767", "amlodipine"),
    ("2418", "cholecalciferol"),
)
EGFR = ("62238-1", "Glomerular filtration rate/1.73 sq M.predicted by Creatinine-based formula")
PAIN = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
MAX_PER_OBSERVATION_KEY = 50  # the templates ask for _count=50 eGFRs and pain scores

CONDITION_STATUSES = ("active", "resolved", "inactive", "resolved", "active", "remission")
REQUEST_STATUSES = ("active", "stopped", "completed", "entered-in-error", "on-hold", "cancelled")
STATEMENT_STATUSES = ("active", "completed", "stopped", "entered-in-error", "intended")
HISTORY_STATUSES = ("stopped", "completed", "entered-in-error", "cancelled")


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _narrative(text: str) -> dict[str, str]:
    xhtml = "http://www.w3.org/1999/xhtml"
    div = f'<div xmlns="{xhtml}"><p><b>Generated Narrative</b></p><p>{text}</p></div>'
    return {"status": "generated", "div": div}


class _Chart:
    """Builds filler resources for one patient; `rng` keeps it deterministic."""

    def __init__(self, patient_id: str, today: date, seed: int) -> None:
        self.patient_id = patient_id
        self.today = today
        self.rng = random.Random(seed)
        self.count = 0
        story = [r for s in list_samples() for r in sample_resources(s.id, today=today)]
        self.sample_conditions = [r for r in story if r["resourceType"] == "Condition"]
        self.sample_meds = [
            r for r in story if r["resourceType"] in ("MedicationRequest", "MedicationStatement")
        ]

    def _day(self, max_days: int = 3650) -> str:
        return (self.today - timedelta(days=self.rng.randint(1, max_days))).isoformat()

    def _common(self, kind: str, profile: str, summary: str) -> dict[str, Any]:
        self.count += 1
        rid = f"{kind[:4].lower()}-{self.patient_id}-{self.count:05d}"
        return {
            "resourceType": kind,
            "id": rid,
            "meta": {
                "versionId": str(self.rng.randint(1, 9)),
                "lastUpdated": f"{self._day(400)}T09:{self.count % 60:02d}:00Z",
                "source": "#ehr-bench",
                "profile": [US_CORE + profile],
            },
            "text": _narrative(f"{summary} for patient {self.patient_id} (record {rid})."),
            "identifier": [
                {"system": "urn:oid:2.16.840.1.113883.19.5.99", "value": f"{rid}-{self.count}"}
            ],
        }

    def _subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.patient_id}"}

    def condition(self) -> dict[str, Any]:
        if self.rng.random() < 0.3:  # a sample's condition, long resolved or entered in error
            base = copy.deepcopy(self.rng.choice(self.sample_conditions))
            code = base.get("code") or {}
            status, verified = self.rng.choice(
                (
                    ("resolved", "confirmed"),
                    ("inactive", "confirmed"),
                    ("active", "entered-in-error"),
                )
            )
        else:
            snomed, name, icd, icd_name = self.rng.choice(COMORBIDITIES)
            code = {
                "coding": [_coding(SNOMED, snomed, name), _coding(ICD10, icd, icd_name)],
                "text": name,
            }
            status = self.rng.choice(CONDITION_STATUSES)
            verified = "entered-in-error" if self.rng.random() < 0.05 else "confirmed"
        resource = self._common("Condition", "condition-problems-health-concerns", "Condition")
        resource.update(
            clinicalStatus={"coding": [_coding(CLINICAL, status, status.title())]},
            verificationStatus={"coding": [_coding(VERIFICATION, verified, verified.title())]},
            category=[
                {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-category",
                            "problem-list-item",
                            "Problem List Item",
                        )
                    ]
                }
            ],
            code=code,
            subject=self._subject(),
            onsetDateTime=self._day(),
            recordedDate=self._day(),
        )
        if status in ("resolved", "inactive", "remission"):
            resource["abatementDateTime"] = self._day(300)
        return resource

    def _medication(self, statuses: tuple[str, ...]) -> tuple[dict[str, Any], str]:
        if self.rng.random() < 0.3:  # a sample's drug, in the history only
            base = self.rng.choice(self.sample_meds)
            return copy.deepcopy(base["medicationCodeableConcept"]), self.rng.choice(
                HISTORY_STATUSES
            )
        code, name = self.rng.choice(EVERYDAY_DRUGS)
        concept = {"coding": [_coding(RXNORM, code, name)], "text": name}
        return concept, self.rng.choice(statuses)

    def medication_request(self) -> dict[str, Any]:
        concept, status = self._medication(REQUEST_STATUSES)
        resource = self._common("MedicationRequest", "medicationrequest", "Medication order")
        resource.update(
            status=status,
            intent="order",
            medicationCodeableConcept=concept,
            subject=self._subject(),
            authoredOn=self._day(),
            requester={"reference": "Practitioner/bench-prescriber", "display": "Dr. Bench"},
            dosageInstruction=[
                {
                    "text": "1 tablet by mouth once daily",
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
                }
            ],
        )
        return resource

    def medication_statement(self) -> dict[str, Any]:
        concept, status = self._medication(STATEMENT_STATUSES)
        resource = self._common("MedicationStatement", "medication", "Medication statement")
        resource.update(
            status=status,
            medicationCodeableConcept=concept,
            subject=self._subject(),
            effectivePeriod={"start": self._day()},
            dateAsserted=self._day(200),
        )
        return resource

    def observation(self, code: tuple[str, str], value: float, unit: str) -> dict[str, Any]:
        resource = self._common("Observation", "observation-lab", "Observation")
        status = "entered-in-error" if self.rng.random() < 0.05 else "final"
        resource.update(
            status=status,
            category=[
                {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/observation-category",
                            "laboratory" if code == EGFR else "survey",
                            "Laboratory" if code == EGFR else "Survey",
                        )
                    ]
                }
            ],
            code={"coding": [_coding(LOINC, *code)], "text": code[1]},
            subject=self._subject(),
            effectiveDateTime=self._day(700),
            valueQuantity={"value": value, "unit": unit, "system": "http://unitsofmeasure.org"},
        )
        return resource


def patient_resources(n: int, *, today: date | None = None) -> list[dict[str, Any]]:
    """The story plus filler: exactly `n` resources (n >= the story's 7), one Patient first."""
    today = today or date.today()
    story = sample_resources(STORY, today=today)
    patient_id = story[0]["id"]
    chart = _Chart(patient_id, today, seed=n)
    filler = n - len(story)
    if filler < 0:
        raise ValueError(f"a patient needs at least {len(story)} resources")
    observations = min(filler // 6, 2 * (MAX_PER_OBSERVATION_KEY - 1))
    rest = filler - observations
    out = list(story)
    for i in range(observations):
        if i % 2:
            out.append(chart.observation(PAIN, float(chart.rng.randint(2, 8)), "{score}"))
        else:
            out.append(
                chart.observation(EGFR, float(chart.rng.randint(55, 95)), "mL/min/{1.73_m2}")
            )
    for i in range(rest):
        pick = i % 20
        if pick < 9:
            out.append(chart.condition())
        elif pick < 16:
            out.append(chart.medication_request())
        else:
            out.append(chart.medication_statement())
    return out


# ---- requests ---------------------------------------------------------------------------------


def _matches(resource: dict[str, Any], params: list[tuple[str, str]]) -> bool:
    """The template's code filter (the one filter an EHR must apply to fill these keys)."""
    for name, value in params:
        if name == "code":
            wanted = {v.split("|", 1)[-1] for v in value.split(",")}
            codes = {c.get("code") for c in (resource.get("code") or {}).get("coding", [])}
            if not codes & wanted:
                return False
    return True


def prefetch_for(
    templates: dict[str, str], resources: list[dict[str, Any]], patient_id: str
) -> dict[str, Any]:
    """Each template key filled from the chart, as an EHR would: a read, or a searchset Bundle.

    Status parameters are deliberately not applied (many EHRs ignore them, and the classifier's
    own status rules then do the work); code filters are, and `_count` on a sorted search (the
    newest N). On an unsorted search `_count` is only a page size: the prefetch holds every page.
    """
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        query = template.replace("{{context.patientId}}", patient_id)
        path, _, qs = query.partition("?")
        kind = path.split("/", 1)[0]
        if not qs:
            prefetch[key] = next(
                (r for r in resources if r["resourceType"] == kind and r["id"] == patient_id),
                None,
            )
            continue
        params = parse_qsl(qs)
        found = [r for r in resources if r["resourceType"] == kind and _matches(r, params)]
        count = next((int(v) for k, v in params if k == "_count"), None)
        if count is not None and any(k == "_sort" for k, _ in params):
            found = found[:count]
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [
                {
                    "fullUrl": f"https://ehr.example.org/fhir/{kind}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in found
            ],
        }
    return prefetch


def draft_orders(patient_id: str, today: date | None = None) -> tuple[dict[str, Any], list[str]]:
    """Two draft orders (a lumbar MRI and oxycodone), both selected."""
    names = [o.name for o in list_orders()]
    chosen = [n for n in ("lumbar-mri", "oxycodone") if n in names] or names[:2]
    orders = [load_order(n, patient_id=patient_id, today=today) for n in chosen]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    bundle["entry"] = [{"resource": o} for o in orders]
    return bundle, [f"{o['resourceType']}/{o['id']}" for o in orders]


def hook_request(
    service: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    prefetch: bool = True,
    fhir_server: str | None = None,
) -> dict[str, Any]:
    """A CDS Hooks request for one discovery entry, with or without prefetch."""
    patient_id = resources[0]["id"]
    context: dict[str, Any] = {"userId": "Practitioner/bench-user", "patientId": patient_id}
    if service["hook"] in ("order-select", "order-sign"):
        context["draftOrders"], selections = draft_orders(patient_id)
        if service["hook"] == "order-select":
            context["selections"] = selections
    body: dict[str, Any] = {
        "hook": service["hook"],
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
    }
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch:
        body["prefetch"] = prefetch_for(service.get("prefetch") or {}, resources, patient_id)
    return body

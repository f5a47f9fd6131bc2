"""What the cards can propose: drug products, referrals, sources, links and override reasons.

Data, not logic. Codes come from the team's verified terminology reference, kept beside the
repository (its medications, orders and FHIR code system sections: NLM RxNorm Current
Prescribable Content 2025-10-06 and VSAC eCQM value sets 2025-05-08, source ids S4 and S3 of
mappings/README.md), copied here on 2026-11-21. The one exception is acetaminophen 500 mg (RxCUI
198440), which the reference extract lacks; it is the standard SCD for that product and is marked
below.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards.model import Link, OverrideReason, Source
from mappings.thresholds import THRESHOLDS

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
OVERRIDE_SYSTEM = "https://ms-backpain-cds.example.org/CodeSystem/override-reason"
# Card kinds as `source.topic` codes: EHRs can count and route cards by kind, and logs name them.
CARD_KIND_SYSTEM = "https://ms-backpain-cds.example.org/CodeSystem/card-kind"

# Maximum daily doses quoted on cards beyond those in `mappings.thresholds` (product labelling).
BACLOFEN_MAX_MG_PER_DAY = 80
IBUPROFEN_MAX_MG_PER_DAY = 1200  # without prescriber review of a higher dose
GABAPENTIN_MAX_MG_PER_DAY = 3600

_ACETAMINOPHEN_MAX_G = THRESHOLDS.acetaminophen_max_mg_per_day / 1000


@dataclass(frozen=True, slots=True)
class DrugProduct:
    """A starting-dose product a card may propose as a MedicationRequest."""

    key: str
    ingredient: str  # lower-case, as in Medication.ingredients
    drug_class: str  # as in mappings.concepts.DRUG_CLASSES
    code: str  # RxNorm SCD
    display: str  # RxNorm SCD name
    label: str  # short human name for suggestion labels and summaries
    dosage: str  # dosageInstruction text


@dataclass(frozen=True, slots=True)
class ServiceProduct:
    """A referral or procedure a card may propose as a ServiceRequest."""

    key: str
    system: str
    code: str
    display: str
    text: str
    priority: str = "routine"


DRUGS: dict[str, DrugProduct] = {
    d.key: d
    for d in (
        DrugProduct(
            "ibuprofen",
            "ibuprofen",
            "nsaid",
            "197805",
            "ibuprofen 400 MG Oral Tablet",
            "Ibuprofen 400 mg",
            "400 mg by mouth every 6 to 8 hours as needed, with food. Lowest effective dose for "
            f"the shortest time; at most {IBUPROFEN_MAX_MG_PER_DAY:,} mg a day without review.",
        ),
        DrugProduct(
            "acetaminophen",
            "acetaminophen",
            "acetaminophen",
            "198440",  # standard SCD; not in the reference extract (see module docstring)
            "acetaminophen 500 MG Oral Tablet",
            "Acetaminophen 500 mg",
            "500 to 1,000 mg by mouth every 6 hours as needed. No more than "
            f"{_ACETAMINOPHEN_MAX_G:g} g a day from all sources.",
        ),
        DrugProduct(
            "baclofen",
            "baclofen",
            "antispasticity",
            "430902",
            "baclofen 5 MG Oral Tablet",
            "Baclofen 5 mg",
            "5 mg by mouth three times a day; increase by 5 mg per dose every 3 days as tolerated, "
            f"up to {BACLOFEN_MAX_MG_PER_DAY} mg a day.",
        ),
        DrugProduct(
            "baclofen_renal",
            "baclofen",
            "antispasticity",
            "430902",
            "baclofen 5 MG Oral Tablet",
            "Baclofen 5 mg (reduced dose)",
            "Reduced kidney function: 5 mg by mouth once or twice a day; increase slowly and watch "
            "for drowsiness or confusion.",
        ),
        DrugProduct(
            "tizanidine",
            "tizanidine",
            "antispasticity",
            "313412",
            "tizanidine 2 MG Oral Tablet",
            "Tizanidine 2 mg",
            "2 mg by mouth up to three times a day; increase in 2 to 4 mg steps to the maximum "
            f"tolerated dose, up to {THRESHOLDS.tizanidine_max_mg_per_day} mg a day in divided "
            "doses. Peak effect 1 to 2 hours after a dose. Liver tests at baseline and at 1, 3 "
            "and 6 months.",
        ),
        DrugProduct(
            "gabapentin",
            "gabapentin",
            "gabapentinoid",
            "310431",
            "gabapentin 300 MG Oral Capsule",
            "Gabapentin 300 mg",
            "300 mg by mouth at night; increase by 300 mg every 1 to 3 days to 300 mg three times "
            f"a day as tolerated (maximum {GABAPENTIN_MAX_MG_PER_DAY:,} mg a day).",
        ),
        DrugProduct(
            "gabapentin_renal",
            "gabapentin",
            "gabapentinoid",
            "310430",
            "gabapentin 100 MG Oral Capsule",
            "Gabapentin 100 mg (renal dose)",
            "Reduced kidney function: 100 mg by mouth at night; increase slowly and cap the total "
            "daily dose by creatinine clearance.",
        ),
        DrugProduct(
            "amitriptyline",
            "amitriptyline",
            "tca",
            "856783",
            "amitriptyline hydrochloride 10 MG Oral Tablet",
            "Amitriptyline 10 mg",
            "10 mg by mouth at night; increase slowly to 25 to 50 mg at night as tolerated.",
        ),
    )
}

SERVICES: dict[str, ServiceProduct] = {
    s.key: s
    for s in (
        ServiceProduct(
            "physiotherapy",
            SNOMED,
            "306170007",
            "Referral to physiotherapy service (procedure)",
            "Physiotherapy referral for back pain in MS (posture, spasticity, gait)",
        ),
        ServiceProduct(
            "exercise_therapy",
            CPT,
            "97110",
            "Therapeutic exercises",
            "Structured exercise therapy: supervised, individually tailored stretching and "
            "strengthening",
        ),
        ServiceProduct(
            "cbt",
            SNOMED,
            "228557008",
            "Cognitive and behavioral therapy (regime/therapy)",
            "Cognitive behavioural therapy for persistent back pain",
        ),
        ServiceProduct(
            "spine_mri_urgent",
            SNOMED,
            "241645008",
            "Magnetic resonance imaging of spine (procedure)",
            "Urgent MRI of the spine: back pain with a red flag",
            priority="urgent",
        ),
        ServiceProduct(
            "botulinum_toxin",
            SNOMED,
            "404909007",
            "Injection of botulinum toxin (procedure)",
            "Spasticity service: botulinum toxin for focal spasticity contributing to back pain",
        ),
        ServiceProduct(
            "intrathecal_baclofen",
            CPT,
            "62362",
            "Implantation or replacement of device for intrathecal or epidural drug infusion; "
            "programmable pump",
            "Spasticity service: assessment for intrathecal baclofen (severe refractory "
            "spasticity)",
        ),
    )
}

SOURCES: dict[str, Source] = {
    "guide": Source(
        label="Treating back pain in MS: treatment guide (Dr.Oracle, updated 2025-12-16)",
        url="https://www.droracle.ai/articles/622387/what-is-the-best-approach-for-treating-back-pain",
    ),
    "acp": Source(
        label="ACP 2017: noninvasive treatments for low back pain (Qaseem et al.)",
        url="https://www.acpjournals.org/doi/10.7326/M16-2367",
    ),
    "label": Source(
        label="FDA drug labelling (DailyMed) and geriatric prescribing criteria",
        url="https://dailymed.nlm.nih.gov/dailymed/",
    ),
}

LINKS: dict[str, Link] = {
    "acp": Link(
        label="ACP 2017 low back pain guideline",
        url="https://www.acpjournals.org/doi/10.7326/M16-2367",
        type="absolute",
    ),
    "guide": Link(
        label="Treatment guide: back pain in MS",
        url="https://www.droracle.ai/articles/622387/what-is-the-best-approach-for-treating-back-pain",
        type="absolute",
    ),
    "tizanidine_label": Link(
        label="Tizanidine labelling (DailyMed)",
        url="https://dailymed.nlm.nih.gov/dailymed/search.cfm?query=tizanidine",
        type="absolute",
    ),
}

OVERRIDE_REASONS: dict[str, OverrideReason] = {
    r.code: r
    for r in (
        OverrideReason(
            system=OVERRIDE_SYSTEM,
            code="red-flag-not-recorded",
            display="Red flag present but not recorded",
        ),
        OverrideReason(
            system=OVERRIDE_SYSTEM, code="surgical-candidate", display="Surgical candidate"
        ),
        OverrideReason(
            system=OVERRIDE_SYSTEM, code="ms-monitoring", display="MS disease monitoring"
        ),
        OverrideReason(
            system=OVERRIDE_SYSTEM, code="benefit-outweighs-risk", display="Benefit outweighs risk"
        ),
        OverrideReason(
            system=OVERRIDE_SYSTEM, code="patient-preference", display="Patient preference"
        ),
        OverrideReason(
            system=OVERRIDE_SYSTEM, code="already-addressed", display="Already addressed"
        ),
    )
}

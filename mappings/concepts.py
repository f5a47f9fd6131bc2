"""The concept ids that the rules rely on.

The data files in `mappings/data/` may define more concepts; these are the names `cards` uses, so a
test checks that every one of them is defined by the data (and has at least one code or word).
"""

from __future__ import annotations

# Scope and pain components (flags on PainProfile).
MS = "ms"
BACK_PAIN = "back_pain"
NEUROPATHIC = "neuropathic"
SPASTICITY = "spasticity"
MUSCULOSKELETAL = "musculoskeletal"  # mechanical findings beyond back pain itself

# Hard red flags (RedFlag.hard is True).
HARD_RED_FLAGS = (
    "cauda_equina",
    "cord_compression",  # includes conus medullaris syndrome
    "spinal_infection",  # vertebral osteomyelitis, discitis, spinal/epidural abscess
    "spinal_malignancy",  # spinal or bone metastasis, primary vertebral malignancy
    "vertebral_fracture",
    "progressive_deficit",  # new bilateral leg weakness over hours to days
)

# Risk factors (RedFlag.hard is False).
RISK_FACTORS = (
    "cancer_history",
    "malignancy",
    "weight_loss",
    "fever",
    "iv_drug_use",
    "long_term_steroids",
    "immunosuppression",
    "osteoporosis",
    "urinary_infection",  # recent: a source of spinal infection (and of pseudo-relapse)
)

# Common in MS itself: never a red flag alone (the project's clinical rules:
# docs/clinical-sources.md).
MS_COMMON_FINDINGS = (
    "urinary_retention",
    "urinary_incontinence",
    "bowel_incontinence",
    "gait_difficulty",
    "weakness",
    "saddle_anaesthesia",
)

# Findings the medication-safety checks read (PainProfile.has / findings).
SAFETY_FINDINGS = (
    "gi_bleed",  # GI bleeding or peptic ulcer, history included
    "cardiovascular_disease",  # MI, heart failure, stroke, coronary artery disease
    "cardiac_conduction",  # conduction disease, arrhythmia, recent MI (TCA caution)
    "angle_closure_glaucoma",
    "hepatic_impairment",
    "urinary_retention",
)

# Patient state read by the safety tables (mappings/data/medication_safety/) and the profile.
PREGNANCY = "pregnancy"
WEEKS_OF_GESTATION = "weeks_of_gestation"  # ICD-10-CM Z3A.xx: the weeks are in the code
GESTATIONAL_AGE = "gestational_age"  # an Observation in weeks or days
LACTATION = "lactation"
STATE_CONCEPTS = (
    PREGNANCY,
    WEEKS_OF_GESTATION,
    GESTATIONAL_AGE,
    "delivery_date",
    LACTATION,
    "ckd_stage_3",
    "ckd_stage_4",
    "ckd_stage_5",
    "end_stage_renal_disease",
    "dialysis",
    "epilepsy",
    "depression",
    "bipolar_disorder",
    "alcohol_use_disorder",
    "egfr_race_free",
    "ms_relapse",
    "trigeminal_neuralgia",
    "reviewed_exclusion",
)

# Medication classes (Medication.classes).
DRUG_CLASSES = (
    "nsaid",
    "acetaminophen",
    "antispasticity",  # baclofen, tizanidine, dantrolene
    "muscle_relaxant_other",  # cyclobenzaprine, methocarbamol, carisoprodol, ...
    "gabapentinoid",
    "tca",
    "snri",
    "ssri",
    "maoi",
    "neuropathic_anticonvulsant",  # lamotrigine, oxcarbazepine, carbamazepine, levetiracetam
    "opioid",
    "benzodiazepine",
    "cannabinoid",
    "cyp1a2_inhibitor",  # ciprofloxacin and fluvoxamine are contraindicated with tizanidine
    "anticoagulant",
    "antiplatelet",
    "dmt_injectable",  # interferon beta, glatiramer
    "dmt_other",
    "serotonergic",  # SSRIs, SNRIs, TCAs, tramadol, MAOIs, ...
    "systemic_corticosteroid",
    "botulinum_toxin",
    "antihypertensive",  # blood-pressure drugs: hypotension with tizanidine
    "triptan",
    "immunosuppressant",  # immunosuppressive MS therapies: a red-flag risk factor
)

# Draft-order kinds (DraftOrder.kinds).
ORDER_KINDS = (
    "spine_imaging",  # MRI/CT/X-ray of lumbar, thoracic or whole spine
    "brain_imaging",
    "bed_rest",
    "physiotherapy",
    "occupational_therapy",
    "cbt",
    "exercise_therapy",
    "medication",
)

"""Every card's wording, in one place, for clinical review (`docs/cards.md` is generated from it).

Placeholders in braces are filled per patient by the rules. Numbers come from
`mappings.thresholds.THRESHOLDS` or `cards.products`, so the text and the checks agree.
Plain Markdown only: EHR card panels are narrow, and some render no HTML or tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.products import BACLOFEN_MAX_MG_PER_DAY
from mappings.thresholds import THRESHOLDS as T

_WEEKS_CHRONIC = T.chronic_after_days // 7
_WEEKS_IMAGING = T.imaging_after_days // 7
_APAP_G = f"{T.acetaminophen_max_mg_per_day / 1000:g}"
_EGFR_LOW = f"{T.egfr_reduced:g}"
_EGFR_SEVERE = f"{T.egfr_severe:g}"


@dataclass(frozen=True, slots=True)
class CardText:
    kind: str
    hook: str  # "patient-view" or "order-select / order-sign"
    indicator: str
    trigger: str  # for the catalogue
    summaries: dict[str, str]  # variant -> summary template
    lead: str  # first line of the detail (bold)
    advice: dict[str, str] = field(default_factory=dict)  # block key -> Markdown bullet
    suggests: str = ""  # for the catalogue
    source: str = "guide"
    links: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()


# Shared advice bullets, reused by several cards.
STAY_ACTIVE = (
    "**Stay active, avoid bed rest**: restricting activity prolongs recovery and leads to "
    "deconditioning."
)
PHYSIOTHERAPY = (
    "**Physiotherapy**: essential for spasticity-related pain and for pain from malposition; "
    "check assistive devices (wheelchair, braces, orthotics) for painful pressure or poor posture "
    "(occupational therapy can adapt aids and daily routines)."
)
MS_NUANCE = (
    "**MS nuance**: {findings} {verb} common in MS itself and alone {is_are} not a red flag. "
    "Evaluate urgently if there is new saddle anaesthesia, new bowel or bladder loss, or a "
    "progressive neurological deficit with back pain."
)

CARDS: dict[str, CardText] = {
    c.kind: c
    for c in (
        CardText(
            kind="red-flag",
            hook="patient-view",
            indicator="critical",
            trigger="A hard red flag (cauda equina, cord compression, spinal infection, spinal "
            "malignancy, vertebral fracture).",
            summaries={
                "default": "Red flag ({flags}): evaluate urgently before treating back pain; "
                "spine MRI is appropriate"
            },
            lead="Evaluate urgently before any symptomatic treatment.",
            advice={
                "evaluate": "Assess today: neurological examination including saddle sensation, "
                "bladder and bowel function, and signs of infection or malignancy.",
                "emergency": "**Suspected cauda equina, cord compression or a progressive "
                "neurological deficit**: same-day emergency assessment and surgical opinion.",
                "imaging": "**Imaging is appropriate**: urgent MRI of the spine (the usual advice "
                "against routine imaging does not apply).",
                "held": "Back-pain treatment suggestions are held back until serious causes are "
                "excluded.",
            },
            suggests="Urgent MRI of the spine (ServiceRequest proposal, priority urgent).",
            links=("acp",),
            overrides=("already-addressed", "benefit-outweighs-risk"),
        ),
        CardText(
            kind="red-flag-risk",
            hook="patient-view",
            indicator="warning",
            trigger="Back pain with red-flag risk factors only (cancer history, malignancy, weight "
            "loss, fever, IV drug use, long-term steroids, immunosuppression, osteoporosis).",
            summaries={
                "default": "Back pain with red-flag risk factors ({flags}): rule out serious "
                "causes first"
            },
            lead="Rule out serious causes before routine back-pain treatment.",
            advice={
                "assess": "Ask about and examine for infection, malignancy and fracture: fever, "
                "night pain, weight loss, new neurological deficit, recent trauma.",
                "imaging": "If the assessment raises concern, imaging is appropriate.",
            },
            links=("acp",),
            overrides=("already-addressed", "red-flag-not-recorded"),
        ),
        CardText(
            kind="pain-not-assessed",
            hook="patient-view",
            indicator="info",
            trigger="MS, no back pain recorded and no pain score in the last 12 months.",
            summaries={
                "default": "MS with no pain recorded in 12 months: ask about pain; patients "
                "often don't mention it"
            },
            lead="Ask about pain: people with MS often don't mention it.",
            advice={
                "ask": "Ask specifically about back pain, burning or tingling pain (neuropathic), "
                "stiffness and spasms (spasticity), and pain from posture or mobility aids.",
                "record": "Record a pain score (0 to 10 numeric rating or PEG) so pain can be "
                "followed.",
            },
        ),
        CardText(
            kind="first-line",
            hook="patient-view",
            indicator="info",
            trigger="Back pain and no hard red flag.",
            summaries={
                "nsaid": "Back pain in MS: try {drug}, stay active (no bed rest) and refer to "
                "physiotherapy",
                "acetaminophen": f"Back pain in MS: NSAID not advised; try acetaminophen (max "
                f"{_APAP_G} g/day), stay active, physiotherapy",
                "none": "Back pain in MS: stay active (no bed rest) and refer to physiotherapy",
            },
            lead="First line for back pain in MS: analgesia, staying active and physiotherapy.",
            advice={
                "nsaid": "**NSAID** at the lowest effective dose for the shortest time: "
                "ibuprofen 400 mg every 6 to 8 hours with food (or naproxen 250 to 500 mg twice a "
                "day). NSAIDs relieve back pain better than acetaminophen. No GI, cardiovascular "
                "or bleeding risk, pregnancy or interacting drug is recorded: confirm before "
                "prescribing.",
                "kidney": "Kidney function: {egfr}.",
                "acetaminophen": f"**Acetaminophen** 500 to 1,000 mg every 6 hours as needed, no "
                f"more than {_APAP_G} g a day from all sources. Less effective than an NSAID, but "
                "an NSAID is not advised for this patient.",
                "on_analgesic": "Already prescribed: {drugs}. Keep the lowest effective dose for "
                "the shortest time.",
                "stay_active": STAY_ACTIVE,
                "physiotherapy": PHYSIOTHERAPY,
                "components": "Treat each MS pain component: spasticity and neuropathic pain need "
                "their own treatment (see the other cards).",
                "risk_factors": "Red-flag risk factors are recorded: rule out serious causes first "
                "(see the warning card).",
            },
            suggests="Ibuprofen 400 mg, or acetaminophen 500 mg when an NSAID is unsafe (at most "
            "one drug); physiotherapy referral. selectionBehavior any.",
            links=("acp",),
            # raised to a warning when an NSAID already taken is unsafe for this patient
            overrides=("already-addressed", "benefit-outweighs-risk"),
        ),
        CardText(
            kind="spasticity",
            hook="patient-view",
            indicator="info",
            trigger="Back pain with spasticity (finding or antispasticity drug).",
            summaries={
                "both": "Spasticity may be adding to back pain: consider baclofen or tizanidine "
                "with physiotherapy",
                "one": "Spasticity may be adding to back pain: consider {drug} with physiotherapy",
                "titrate": "Spasticity with back pain on {drug}: titrate to effect before adding "
                "another drug",
                "none": "Spasticity with back pain: baclofen and tizanidine not advised here; "
                "physiotherapy",
                "itb": "Spasticity with back pain on intrathecal baclofen: review the pump "
                "with the spasticity service",
            },
            lead="Spasticity-related pain responds to antispasticity drugs and physiotherapy.",
            advice={
                "baclofen": "**Baclofen** (FDA-approved for MS spasticity; eases flexor spasms, "
                "clonus and rigidity): 5 mg three times a day, up by 5 mg per dose every 3 days, "
                f"max {BACLOFEN_MAX_MG_PER_DAY} mg a day.",
                "baclofen_renal": f"**Baclofen** at a reduced dose (eGFR below {_EGFR_LOW}): 5 mg "
                "once or twice a day, titrate slowly.",
                "tizanidine": "**Tizanidine**: 2 mg up to three times a day, titrate in 2 to 4 mg "
                f"steps up to {T.tizanidine_max_mg_per_day} mg a day in divided doses; peak effect "
                "1 to 2 hours after a dose.",
                "itb": "On intrathecal baclofen ({drugs}): spasticity treatment is adjusted "
                "through the pump with the spasticity service; add an oral antispasticity drug "
                "only with their advice.",
                "titrate": "Already on {drugs}: titrate to the maximum tolerated dose before "
                f"adding another (tizanidine up to {T.tizanidine_max_mg_per_day} mg a day in "
                f"divided doses; baclofen up to {BACLOFEN_MAX_MG_PER_DAY} mg a day).",
                "phasic": "Gabapentin or levetiracetam can be added for phasic spasticity "
                "(spasms).",
                "physiotherapy": "**Physiotherapy** with stretching is essential for "
                "spasticity-related pain.",
            },
            suggests="Baclofen 5 mg or tizanidine 2 mg (at-most-one; baclofen recommended), "
            "leaving out a drug already taken or unsafe.",
        ),
        CardText(
            kind="neuropathic",
            hook="patient-view",
            indicator="info",
            trigger="Back pain (or documented pain) with neuropathic features.",
            summaries={
                "both": "Neuropathic pain (burning dysesthesia) with back pain: consider "
                "amitriptyline or gabapentin",
                "gabapentin": "Neuropathic pain with back pain: consider gabapentin (amitriptyline "
                "not advised here)",
                "add": "Neuropathic pain on {current}: consider adding {drug} (a different "
                "mechanism)",
                "none": "Neuropathic pain with back pain: amitriptyline and gabapentin not "
                "advised here; see options",
            },
            lead="Neuropathic pain from MS (burning dysesthesia) needs an antidepressant or an "
            "anticonvulsant, not just analgesics.",
            advice={
                "amitriptyline": "**Amitriptyline** (TCA): first line for burning dysesthesias, "
                "the most common chronic MS pain syndrome. 10 mg at night, slowly up to 25 to 50 "
                "mg.",
                "gabapentin": "**Gabapentin**: alternative or add-on. 300 mg at night, up by "
                "300 mg every 1 to 3 days to 300 mg three times a day.",
                "gabapentin_renal": "**Gabapentin** at a renal dose ({kidney}): 100 mg at night, "
                "increase slowly, at most {limit} mg a day (label renal table).",
                "combine": "Combining mechanisms (a TCA plus an anticonvulsant) improves relief "
                "with fewer side effects than pushing one drug.",
                "alternatives": "Alternatives: pregabalin (gabapentinoid); duloxetine or "
                "venlafaxine (SNRIs) instead of a TCA.",
            },
            suggests="Amitriptyline 10 mg (recommended, first line) or gabapentin 300 mg "
            "(at-most-one); gabapentin 100 mg when eGFR is low; adds the other mechanism when on "
            "one.",
        ),
        CardText(
            kind="chronic-care",
            hook="patient-view",
            indicator="info",
            trigger=f"Back pain for {_WEEKS_CHRONIC} weeks or more.",
            summaries={
                "default": f"Back pain for {_WEEKS_CHRONIC}+ weeks: add structured exercise "
                "therapy; consider CBT, yoga or massage"
            },
            lead=f"Back pain beyond {_WEEKS_CHRONIC} weeks: continue first-line care and add "
            "non-drug treatments.",
            advice={
                "exercise": "**Structured exercise therapy**, individually tailored and "
                "supervised, with stretching and strengthening (about 10 points less pain on a "
                "100-point scale).",
                "cbt": "**Cognitive behavioural therapy** (10 to 20 points less pain on a "
                "100-point scale).",
                "yoga_massage": "**Yoga** (Iyengar style improves pain and function at 24 weeks) "
                "or **massage**.",
                "acupuncture": "Consider **acupuncture** (as an adjunct) or **spinal "
                "manipulation** by a trained provider.",
            },
            suggests="Exercise therapy and CBT referrals (any).",
            links=("acp",),
        ),
        CardText(
            kind="refractory-spasticity",
            hook="patient-view",
            indicator="info",
            trigger=f"Spasticity, on baclofen and/or tizanidine, back pain for {_WEEKS_CHRONIC}+ "
            "weeks.",
            summaries={
                "default": "Spasticity and back pain persisting on {drugs}: consider "
                "botulinum toxin or intrathecal baclofen"
            },
            lead="Severe spasticity despite oral treatment: consider advanced treatment.",
            advice={
                "botox": "**Botulinum toxin** injections for localised severe spasticity "
                "contributing to pain.",
                "itb": "**Intrathecal baclofen** for severe spasticity unresponsive to oral "
                "medication.",
            },
            suggests="Spasticity-service referral: botulinum toxin or intrathecal baclofen "
            "assessment (at-most-one).",
        ),
        CardText(
            kind="refractory-neuropathic",
            hook="patient-view",
            indicator="info",
            trigger=f"Neuropathic pain, on a gabapentinoid and a TCA/SNRI, back pain for "
            f"{_WEEKS_CHRONIC}+ weeks.",
            summaries={
                "default": "Neuropathic pain persisting on {drugs}: consider lamotrigine, "
                "oxcarbazepine or carbamazepine"
            },
            lead="Neuropathic pain persisting on two first-line mechanisms: second-line options.",
            advice={
                "anticonvulsants": "**Lamotrigine, oxcarbazepine or carbamazepine** for refractory "
                "neuropathic pain.",
                "snri": "**Duloxetine or venlafaxine** (SNRIs) as alternatives to a TCA (not "
                "together with one).",
                "cannabinoids": "Cannabinoids show encouraging results, but their role is not yet "
                "settled.",
            },
        ),
        CardText(
            kind="opioid-active",
            hook="patient-view",
            indicator="warning",
            trigger="An active opioid.",
            summaries={
                "default": "On an opioid ({drugs}): reserve for severe disabling pain; review "
                "need and dose",
                "cns": "On an opioid ({drugs}) with CNS depressants ({others}): review sedation "
                "and breathing risk",
            },
            lead="Reserve opioids for severe, disabling pain uncontrolled by other measures "
            "(substantial abuse risk).",
            advice={
                "review": "Review the need, dose and duration; make sure first-line and "
                "MS-specific treatments have been tried.",
                "cns": "**CNS depressants together**: {others}. Combined with an opioid they add "
                "to sedation and respiratory depression; use the lowest doses and review.",
            },
            overrides=("benefit-outweighs-risk", "already-addressed", "patient-preference"),
        ),
        CardText(
            kind="dmt-injection-pain",
            hook="patient-view",
            indicator="info",
            trigger="Injectable MS therapy (interferon beta, glatiramer) and pain documented.",
            summaries={
                "default": "Pain with {drugs} injections: optimise injection technique and "
                "use local cooling"
            },
            lead="Injection-related pain from MS therapy can be reduced.",
            advice={
                "technique": "Review injection technique and rotate sites; cool the site before "
                "and after injecting.",
            },
        ),
        CardText(
            kind="ms-relapse",
            hook="patient-view",
            indicator="warning",
            trigger="Back pain (or pain) with a possible MS relapse or pseudo-relapse: new or "
            "worse neurological symptoms recorded in the last 30 days, or an MS Condition marked "
            "relapse (context.csv).",
            summaries={
                "default": "Back pain with a possible MS relapse: exclude infection first, then "
                "neurology review",
                "infection": "Back pain with a possible MS relapse and {infection}: treat the "
                "infection first (pseudo-relapse)",
            },
            lead="New neurological symptoms with back pain: relapse or pseudo-relapse?",
            advice={
                "infection": "**Exclude infection first**: a urinary infection or fever can "
                "cause a pseudo-relapse; check urine and temperature.",
                "neurology": "**Neurology review** for a true relapse (new or worse symptoms for "
                "24 hours or more); a spinal-cord relapse can cause back pain.",
                "steroids": "Steroid courses for a relapse raise fracture and infection risk: "
                "weigh them in the back-pain plan.",
            },
            overrides=("already-addressed", "red-flag-not-recorded"),
        ),
        # ---- order-select / order-sign -------------------------------------------------------
        CardText(
            kind="imaging-not-indicated",
            hook="order-select / order-sign",
            indicator="warning",
            trigger=f"Spine imaging ordered for back pain, no red flag, back pain under "
            f"{_WEEKS_IMAGING} weeks or of unknown duration. Silent for brain imaging or imaging "
            "for MS monitoring.",
            summaries={
                "default": f"Spine imaging ({{order}}) not indicated: no red flags, back "
                f"pain under {_WEEKS_IMAGING} weeks"
            },
            lead="Routine imaging is not indicated without red flags.",
            advice={
                "why": "Imaging is for red flags, or for a surgical candidate whose symptoms "
                f"persist beyond 4 to {_WEEKS_IMAGING} weeks. It does not change early "
                "management.",
                "instead": "Instead: first-line treatment, staying active, and physiotherapy.",
                "ms": "If this scan is for MS disease monitoring, record MS as its reason (or "
                "dismiss with that reason).",
            },
            suggests="Remove the draft order (delete) and refer to physiotherapy (create).",
            links=("acp",),
            overrides=("red-flag-not-recorded", "surgical-candidate", "ms-monitoring"),
        ),
        CardText(
            kind="bed-rest",
            hook="order-select / order-sign",
            indicator="warning",
            trigger="An order or instruction for bed rest.",
            summaries={"default": "Bed rest ordered ({order}): advise staying active instead"},
            lead="Avoid bed rest for back pain: it causes deconditioning and worsens outcomes.",
            advice={"active": STAY_ACTIVE},
            suggests="Remove the draft order (delete).",
            links=("acp",),
            overrides=("benefit-outweighs-risk", "patient-preference"),
        ),
        CardText(
            kind="opioid-order",
            hook="order-select / order-sign",
            indicator="warning",
            trigger="An opioid MedicationRequest.",
            summaries={
                "default": "Opioid ordered ({order}): try NSAID or acetaminophen and MS-specific "
                "drugs first",
                "cns": "Opioid ordered ({order}) with CNS depressants ({others}): sedation and "
                "breathing risk",
            },
            lead="Reserve opioids for severe, disabling pain uncontrolled by other measures.",
            advice={
                "first": "First: an NSAID or acetaminophen, staying active, physiotherapy, and "
                "treatment of spasticity or neuropathic pain.",
                "cns": "**CNS depressants together**: {others}. Combined with an opioid they add "
                "to sedation and respiratory depression.",
            },
            suggests="Remove the draft order (delete).",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="nsaid-risk",
            hook="order-select / order-sign",
            indicator="warning",
            trigger="A systemic NSAID ordered with a concern of the safety tables "
            "(docs/safety-rules.md): age, kidney function (eGFR, CKD stage, dialysis), GI "
            "bleeding, cardiovascular or liver disease, pregnancy, an interacting drug. Critical "
            "when a concern is a contraindication (from 30 weeks of pregnancy); information when "
            "all are cautions.",
            summaries={"default": "NSAID ({order}) with {risk}: consider acetaminophen instead"},
            lead="An NSAID carries risks for this patient.",
            advice={
                "switch": f"Switch to acetaminophen (max {_APAP_G} g a day).",
                "check": "Weigh the cautions below before prescribing; lowest effective dose for "
                "the shortest time.",
            },
            suggests="Replace the draft with acetaminophen 500 mg (delete + create).",
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="tizanidine-interaction",
            hook="order-select / order-sign",
            indicator="critical",
            trigger="Tizanidine with a drug that contraindicates it (interactions.csv rows with "
            "card tizanidine-interaction: ciprofloxacin, fluvoxamine), systemic, active or "
            "co-ordered, either drug being the order.",
            summaries={
                "default": "Tizanidine with {inhibitor} is contraindicated (CYP1A2): "
                "remove {remove}"
            },
            lead="Ciprofloxacin and fluvoxamine raise tizanidine levels many-fold: severe "
            "hypotension and sedation.",
            advice={
                "remove": "Do not combine. Remove the order, or choose another drug.",
                "alternative": "For spasticity, baclofen is the alternative.",
            },
            suggests="Remove the draft order (delete); baclofen instead when safe.",
            source="label",
            links=("tizanidine_label",),
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="drug-caution",
            hook="order-select / order-sign",
            indicator="warning",
            trigger="Any other systemic drug ordered with a concern of the safety tables "
            "(docs/safety-rules.md): an interaction with an active or co-ordered drug (either "
            "being the order), a patient-state row (kidney, liver, age, pregnancy, "
            "breastfeeding), the same ingredient in another product, oral baclofen on an "
            "intrathecal pump. Information when all are cautions.",
            summaries={"default": "Check {order}: {caution}"},
            lead="Cautions for this order and this patient.",
            advice={
                "review": "Review the order against these cautions: adjust the dose, choose an "
                "alternative, or record why the benefit outweighs the risk.",
                "tca": "For neuropathic pain, gabapentin is the alternative when a TCA is unsafe.",
            },
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="drug-interaction",
            hook="order-select / order-sign",
            indicator="critical",
            trigger="A contraindicated pair (interactions.csv, card drug-interaction), active or "
            "co-ordered, either drug being the order: for example an MAOI with a serotonergic "
            "drug.",
            summaries={"default": "{order} with {other} is contraindicated: {effect}"},
            lead="These two drugs must not be taken together.",
            advice={
                "remove": "Do not combine. Remove the order, or stop the other drug first (some "
                "need a washout, e.g. 14 days after an MAOI).",
            },
            suggests="Remove the draft order (delete).",
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="dose-above-maximum",
            hook="order-select / order-sign",
            indicator="warning",
            trigger="A draft's daily dose (dose x frequency, or its text; as needed counts as its "
            "stated maximum), added to every other active or co-ordered source of the same "
            "ingredient, above the patient's maximum (dose_limits.csv: adult, kidney, liver and "
            "age bands).",
            summaries={
                "default": "{order}: {total} mg {ingredient} a day is above the {limit} mg "
                "maximum for this patient"
            },
            lead="The daily dose is above the maximum for this patient.",
            advice={
                "reduce": "Reduce the dose or the frequency, or stop another source of the same "
                "drug.",
            },
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="under-18",
            hook="patient-view",
            indicator="info",
            trigger="MS and back pain in a patient under 18: red flags are still checked, but no "
            "treatment card or adult dose is suggested.",
            summaries={
                "default": "Under 18: this service's treatment advice and doses are for adults; "
                "use paediatric MS guidance"
            },
            lead="This service advises on adults.",
            advice={
                "paediatric": "Paediatric MS pain care and doses need paediatric guidance and "
                "specialist input; red flags and the order checks still apply.",
            },
        ),
    )
}

# Safety concerns (section 5 of the clinical rules): one line each, filled per patient.
CONCERNS: dict[str, str] = {
    "interaction": "{severity} with {what}: {effect}",
    "state": "{severity} ({fact}): {effect}",
    "kidney_unknown": "no eGFR in the last 12 months and no kidney diagnosis recorded: check "
    "kidney function first",
    "cumulative": "{ingredient} is also in {what}: keep the total from all sources at or under "
    "{limit} mg a day",
    "intrathecal": "already on intrathecal baclofen ({what}): oral antispasticity drugs only with "
    "the spasticity service",
    "dose": "{ingredient} {total} mg a day (maximum {limit} mg{why})",
    "age": f"age {{age}} ({T.older_adult_age} or older)",
    "egfr_low": f"eGFR {{egfr}} (below {_EGFR_LOW})",
    "egfr_severe": f"eGFR {{egfr}} (below {_EGFR_SEVERE})",
    "gi_bleed": "GI bleeding or peptic ulcer: {what}",
    "cardiovascular_disease": "cardiovascular disease: {what}",
    "anticoagulant": "takes an anticoagulant: {what}",
    "antiplatelet": "takes an antiplatelet: {what}",
    "cardiac_conduction": "cardiac conduction disease or arrhythmia: {what}",
    "urinary_retention": "urinary retention (common in MS): {what}",
    "angle_closure_glaucoma": "angle-closure glaucoma: {what}",
    "serotonergic": "serotonergic drug: {what}",
    "hepatic_impairment": "hepatic impairment: {what}",
    "cyp1a2_contraindicated": "{what} (contraindicated with tizanidine)",
    "cyp1a2_other": "{what} (CYP1A2 inhibitor: avoid with tizanidine)",
    "opioid": "opioid: {what} (respiratory depression risk)",
    "duplicate": "duplicate therapy with {what}",
    "already_taken": "already taken: {what}",
}

# How each severity of the safety tables opens a concern line.
SEVERITY_WORDS = {"contraindicated": "contraindicated", "avoid": "avoid", "caution": "caution"}

LEFT_OUT = "**Left out**: {drug}, because of {reasons}."
HEADINGS = {"do": "What to do", "cautions": "Cautions for this patient", "why": "Why this card"}

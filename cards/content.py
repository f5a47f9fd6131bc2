"""Every sentence a clinician sees on a card, in one place, for clinical review.

`docs/cards.md` is generated from it (with each rule's When/Then/Source/Reads header from
`cards/rules/`), and a test renders every sample patient and checks that each line shown on a card
is one of these templates. Rule code (`cards/rules/`) writes no sentence of its own: it picks
entries here and fills in their placeholders (in braces) per patient. Numbers come from
`mappings.thresholds.THRESHOLDS` or `cards.products`, so the text and the checks agree.
Plain Markdown only: EHR card panels are narrow, and some render no HTML or tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from cards.products import BACLOFEN_MAX_MG_PER_DAY
from mappings.thresholds import THRESHOLDS as T

_WEEKS_CHRONIC = T.chronic_after_days // 7
_WEEKS_IMAGING = T.imaging_after_days // 7
_MONTHS_RECENT = T.observation_max_age_days * 12 // 365  # eGFR and pain scores: 12 months
_APAP_G = f"{T.acetaminophen_max_mg_per_day / 1000:g}"
_EGFR_LOW = f"{T.egfr_reduced:g}"


@dataclass(frozen=True, slots=True)
class CardText:
    """One card kind's wording. When the card applies and what it proposes are said by its
    rule's header (`cards/rules/<kind>.py`); this is what the card says."""

    kind: str
    hook: str  # "patient-view" or "order-select / order-sign"
    indicator: str
    summaries: dict[str, str]  # variant -> summary template
    lead: str  # first line of the detail (bold)
    advice: dict[str, str] = field(default_factory=dict)  # "What to do" bullets
    cautions: dict[str, str] = field(default_factory=dict)  # "Cautions for this patient" lines
    notes: dict[str, str] = field(default_factory=dict)  # "Why this card" lines (before evidence)
    labels: dict[str, str] = field(default_factory=dict)  # suggestion labels
    phrases: dict[str, str] = field(default_factory=dict)  # words filled into another template
    source: str = "guide"
    links: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()


LEFT_OUT = "**Left out**: {drug}, because of {reasons}."


def _left_out(drug: str) -> str:
    """The left-out line for a drug named in words here: only `{reasons}` is filled in."""
    return LEFT_OUT.replace("{drug}", drug)


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
_NUANCE = (
    "**MS nuance**: {{findings}} {verb} common in MS itself and alone {verb} not a red flag. "
    "Evaluate urgently if there is new saddle anaesthesia, new bowel or bladder loss, or a "
    "progressive neurological deficit with back pain."
)
# One finding ("is") or several ("are"); on red-flag-risk and first-line cards, never critical ones.
MS_NUANCE = {"one": _NUANCE.format(verb="is"), "many": _NUANCE.format(verb="are")}

CARDS: dict[str, CardText] = {
    c.kind: c
    for c in (
        CardText(
            kind="red-flag",
            hook="patient-view",
            indicator="critical",
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
            cautions={"also": "Also recorded: {labels}."},
            labels={"mri": "Urgent MRI of the spine"},
            # a red flag the rules infer (named in the summary's {flags})
            phrases={
                "cauda_equina": "Possible cauda equina syndrome (bladder change with saddle or "
                "bowel signs)"
            },
            links=("acp",),
            overrides=("already-addressed", "benefit-outweighs-risk"),
        ),
        CardText(
            kind="red-flag-risk",
            hook="patient-view",
            indicator="warning",
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
            summaries={
                "default": f"MS with no pain recorded in {_MONTHS_RECENT} months: ask about pain; "
                "patients often don't mention it"
            },
            lead="Ask about pain: people with MS often don't mention it.",
            advice={
                "ask": "Ask specifically about back pain, burning or tingling pain (neuropathic), "
                "stiffness and spasms (spasticity), and pain from posture or mobility aids.",
                "record": "Record a pain score (0 to 10 numeric rating or PEG) so pain can be "
                "followed.",
            },
            notes={
                "none": "No back-pain condition and no pain score in the last "
                f"{_MONTHS_RECENT} months."
            },
        ),
        CardText(
            kind="first-line",
            hook="patient-view",
            indicator="info",
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
            cautions={
                "nsaid_taken": _left_out("a new NSAID"),
                "nsaid_unsafe": "The current NSAID carries risks for this patient ({concerns}): "
                "consider switching to acetaminophen.",
                "nsaids_left_out": _left_out("NSAIDs (ibuprofen, naproxen)"),
            },
            labels={"physiotherapy": "Refer to physiotherapy"},
            links=("acp",),
            # raised to a warning when an NSAID already taken is unsafe for this patient
            overrides=("already-addressed", "benefit-outweighs-risk"),
        ),
        CardText(
            kind="spasticity",
            hook="patient-view",
            indicator="info",
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
                "1 to 2 hours after a dose. Liver tests at baseline and at 1, 3 and 6 months "
                "(label); check blood pressure when starting.",
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
            # a drug already taken (its display) or proposed (its ingredient), and its concern
            cautions={"drug": "{drug}: {concern}."},
        ),
        CardText(
            kind="neuropathic",
            hook="patient-view",
            indicator="info",
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
            cautions={
                "amitriptyline_taken": _left_out("amitriptyline"),
                "amitriptyline_unsafe": _left_out("amitriptyline (TCA)"),
                "gabapentin_left_out": _left_out("gabapentin"),
                "gabapentin": "Gabapentin {concern}.",
            },
        ),
        CardText(
            kind="chronic-care",
            hook="patient-view",
            indicator="info",
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
            notes={"since": "Back pain since {date}."},
            labels={"exercise_therapy": "Refer for exercise therapy", "cbt": "Refer for CBT"},
            links=("acp",),
        ),
        CardText(
            kind="refractory-spasticity",
            hook="patient-view",
            indicator="info",
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
            labels={
                "botox": "Refer for botulinum toxin (focal spasticity)",
                "itb": "Refer for intrathecal baclofen assessment",
            },
        ),
        CardText(
            kind="refractory-neuropathic",
            hook="patient-view",
            indicator="info",
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
            notes={
                "days": "No red flag recorded; back pain for {days} days.",
                "unknown": "No red flag recorded; back pain of unknown duration.",
            },
            labels={"replace": "Cancel imaging; refer to physiotherapy"},
            links=("acp",),
            overrides=("red-flag-not-recorded", "surgical-candidate", "ms-monitoring"),
        ),
        CardText(
            kind="bed-rest",
            hook="order-select / order-sign",
            indicator="warning",
            summaries={"default": "Bed rest ordered ({order}): advise staying active instead"},
            lead="Avoid bed rest for back pain: it causes deconditioning and worsens outcomes.",
            advice={"active": STAY_ACTIVE},
            labels={"remove": "Remove the bed-rest order"},
            links=("acp",),
            overrides=("benefit-outweighs-risk", "patient-preference"),
        ),
        CardText(
            kind="opioid-order",
            hook="order-select / order-sign",
            indicator="warning",
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
            labels={"remove": "Remove the opioid order"},
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="nsaid-risk",
            hook="order-select / order-sign",
            indicator="warning",
            summaries={"default": "NSAID ({order}): {risk}; consider acetaminophen instead"},
            lead="An NSAID carries risks for this patient.",
            advice={
                "switch": f"Switch to acetaminophen (max {_APAP_G} g a day).",
                "check": "Weigh the cautions below before prescribing; lowest effective dose for "
                "the shortest time.",
            },
            labels={"switch": "Switch to acetaminophen"},
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="tizanidine-interaction",
            hook="order-select / order-sign",
            indicator="critical",
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
            cautions={"alternative": "{drug}: {concern}."},  # the alternative's own concerns
            labels={
                "remove": "Remove this order",
                "alternative": "Remove tizanidine; propose baclofen",
            },
            source="label",
            links=("tizanidine_label",),
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="drug-caution",
            hook="order-select / order-sign",
            indicator="warning",
            summaries={
                "default": "Check {order}: {caution}",
                # several concerns: the first, and how many more
                "more": "Check {order}: {caution} (+{more} more)",
            },
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
            summaries={"default": "{order} with {other} is contraindicated: {effect}"},
            lead="These two drugs must not be taken together.",
            advice={
                "remove": "Do not combine. Remove the order, or stop the other drug first (some "
                "need a washout, e.g. 14 days after an MAOI).",
            },
            labels={"remove": "Remove this order"},
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="dose-above-maximum",
            hook="order-select / order-sign",
            indicator="warning",
            summaries={
                "default": "{order}: {total} mg {ingredient} a day is above the {limit} mg "
                "maximum for this patient"
            },
            lead="The daily dose is above the maximum for this patient.",
            advice={
                "reduce": "Reduce the dose or the frequency, or stop another source of the same "
                "drug.",
            },
            # {dose}: the "dose" concern below, as a sentence; {source}: the dose_limits.csv row's
            cautions={"dose": "{dose} Source: {source}."},
            notes={
                "source": "{drug}: {how} ({mg} mg a day)",
                # past the sources listed: how many more, and what they add to the total
                "more": "{more} more medications or draft orders of {ingredient}: {mg} mg a day",
            },
            source="label",
            overrides=("benefit-outweighs-risk", "already-addressed"),
        ),
        CardText(
            kind="under-18",
            hook="patient-view",
            indicator="info",
            summaries={
                "default": "Under 18: this service's treatment advice and doses are for adults; "
                "use paediatric MS guidance"
            },
            lead="This service advises on adults.",
            advice={
                "paediatric": "Paediatric MS pain care and doses need paediatric guidance and "
                "specialist input; red flags and the order checks still apply.",
            },
            notes={"age": "Age {age}."},
        ),
    )
}

# Many draft orders earning cards of one kind (an order set of hundreds): the first few cards are
# shown, the most severe first, and the rest are folded into one card of the kind that says how
# many (cards/orders.py). Every order card kind has these lines.
FOLDED = {
    "summary": "{more} more draft orders raise the same concern ({kind})",
    "summary_one": "One more draft order raises the same concern ({kind})",
    "advice": "Review these orders as the cards of this kind shown in full advise: a call shows "
    "the first {shown} cards of a kind, the most severe first.",
    "more": "And {more} more draft orders.",
    "more_one": "And one more draft order.",
}
for _text in CARDS.values():
    if _text.hook == "order-select / order-sign":
        _text.summaries.update(folded=FOLDED["summary"], folded_one=FOLDED["summary_one"])
        _text.advice["folded"] = FOLDED["advice"]
        _text.notes.update(folded=FOLDED["more"], folded_one=FOLDED["more_one"])

# Safety concerns (section 5 of the clinical rules): one line each, filled per patient. On a card a
# concern is a sentence (capital letter, full stop), or follows a drug ("{drug}: {concern}.").
CONCERNS: dict[str, str] = {
    "interaction": "{severity} with {what}: {effect}",
    "state": "{severity} ({fact}): {effect}",
    "kidney_unknown": f"no eGFR in the last {_MONTHS_RECENT} months and no kidney diagnosis "
    "recorded: check kidney function first",
    "cumulative": "{ingredient} is also in {what}: keep the total from all sources at or under "
    "{limit} mg a day",
    "intrathecal": "already on intrathecal baclofen ({what}): oral antispasticity drugs only with "
    "the spasticity service",
    "dose": "{ingredient} {total} mg a day (maximum {limit} mg{why})",
    "already_taken": "already taken: {what}",
}

# How each severity of the safety tables opens a concern line.
SEVERITY_WORDS = {"contraindicated": "contraindicated", "avoid": "avoid", "caution": "caution"}

# A patient-state fact, as a concern's {fact} (and the kidney advice's {egfr}) quotes it.
FACTS = {
    "age": "age {age}",
    "egfr": "eGFR {value} {unit}",
    "egfr_dated": "eGFR {value} {unit} ({date})",  # value and unit: mappings/data/names/
    # {shown}: the code's display, then ", {date}" when dated, then "; " + no_egfr when no eGFR
    "kidney": "{label} ({shown})",
    "no_egfr": f"no eGFR in the last {_MONTHS_RECENT} months",
    "pregnant_weeks": "pregnant, {weeks} weeks",
    "pregnant": "pregnant (weeks not recorded)",
    "lactating": "breastfeeding",
}

# Every order card's first "Why this card" line (its name, code and reference, so the order's own
# evidence is not quoted again), and a pair card's second (the other drug's evidence line).
NOTES = {
    "order": "Order: **{order}** ({code}) [{ref}]",
    "order_uncoded": "Order: **{order}** [{ref}]",
    "together": "Together with: {other}",
}

# A summary naming more drugs (or flags) than fit: the first few, and how many more
# (cards.summary.fit_summary).
LIST_MORE = "{names} and {more} more"

# The last line of a detail section that has more lines than a card shows (cards.build): the
# chart holds the rest.
SECTION_MORE = "{more} more not listed here: see the chart."

# Why an order hook is refused (413, cards.orders): its drafts differ more than one call checks.
TOO_MANY_ORDERS = (
    "the call holds more draft orders to check than the {most:,} one call may check in full "
    "(each draft that differs from the others in drug, dose, kind or reason, and the first "
    "{alike} of drafts alike); send the orders in smaller sets"
)

# What a suggestion's actions say they do (`description`).
ACTIONS = {
    "propose": "Propose {what}",  # a service's text; on order cards, a drug's display too
    "propose_dosage": "Propose {what}: {dosage}",  # patient-view: a drug's display and dosage
    "remove_draft": "Remove the draft order: {order}",
}

HEADINGS = {"do": "What to do", "cautions": "Cautions for this patient", "why": "Why this card"}


class PamaText(TypedDict):
    ratings: dict[str, str]  # rating -> its words
    description: str  # the system action's description


# PAMA appropriateness ratings (cards/pama.py): the rating's words, and what the system action
# that attaches it to the draft says it does.
PAMA: PamaText = {
    "ratings": {
        "appropriate": "Appropriate (adheres to appropriate use criteria)",
        "not_appropriate": "Not appropriate (does not adhere to appropriate use criteria)",
        "no_criteria_apply": "No criteria apply (no appropriate use criteria applicable)",
    },
    "description": "PAMA rating {rating}: {order}",
}

"""Helpers the patient-view rules share: naming drugs, left-out lines, proposals, checks.

They assemble entries of `cards.content` (joins and punctuation only) and hold no sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards import safety
from cards.build import ActionSpec, create
from cards.content import ACTIONS, LEFT_OUT
from cards.products import DRUGS, SERVICES
from cards.resources import proposal, proposals
from mappings import short_names
from mappings.profile import Evidence, Medication, PainProfile


def names(meds: tuple[Medication, ...]) -> str:
    """The medications' displays, each once, comma-separated."""
    return ", ".join(dict.fromkeys(m.display for m in meds))


def short(meds: Sequence[Medication]) -> list[tuple[str, ...]]:
    """The medications' short names (each with its shorter forms), each once, for a summary
    (`cards.summary.fit_summary`)."""
    return list(dict.fromkeys(short_names.medication_names(m) for m in meds))


def brief(concern: safety.Concern) -> tuple[str, ...]:
    """A concern as a summary quotes it, longest first: the other drug by its short names."""
    partner = concern.partner
    if partner is None:
        return (concern.text,)
    found = short_names.medication_names(partner)
    return tuple(dict.fromkeys(concern.text.replace(partner.display, n, 1) for n in found))


def left_out(reasons: list[str], template: str = LEFT_OUT, drug: str = "") -> str:
    """A "Left out" line: `template` (a `cards.content` left-out entry) with its reasons."""
    return template.format(drug=drug, reasons="; ".join(reasons))


def texts(concerns: Sequence[safety.Concern]) -> list[str]:
    return [c.text for c in concerns]


def evidence_of(concerns: Sequence[safety.Concern]) -> list[Evidence]:
    return [e for c in concerns for e in c.evidence]


def sentence(text: str) -> str:
    """A concern line as a sentence: capital letter, full stop."""
    return text[0].upper() + text[1:] + "." if text else text


def check(p: PainProfile, ingredient: str) -> list[safety.Concern]:
    """The same checks an order of this product would get (its states and interactions)."""
    index = safety.index_of(p)
    return safety.concerns(safety.product(ingredient, index.knowledge), p, index)


def taken_concerns(p: PainProfile, m: Medication) -> list[safety.Concern]:
    """The concerns of a medication the patient takes: its states, and its interactions with
    their other medications. Read from the profile's one index, so that checking each of many
    medications costs its matches, not a new index of all the others; the index never pairs a
    drug with its own request, nor with another request of the same drug."""
    return safety.concerns(safety.drug_of(m), p, safety.index_of(p))


def propose(key: str, patient_id: str, reasons: list[Evidence]) -> ActionSpec:
    """An action proposing product `key` (a drug or a service) for these reasons."""
    return create(_PROPOSE[key], proposal(key, patient_id, reasons))


def alternatives(
    keys: Sequence[str], patient_id: str, reasons: list[Evidence]
) -> dict[str, ActionSpec]:
    """An action proposing each product of `keys`, for the same reasons (worked out once)."""
    resources = proposals(keys, patient_id, reasons)
    return {k: create(_PROPOSE[k], r) for k, r in zip(keys, resources, strict=True)}


# Each product's action description, filled in once.
_PROPOSE = {
    **{
        k: ACTIONS["propose_dosage"].format(what=d.display, dosage=d.dosage)
        for k, d in DRUGS.items()
    },
    **{k: ACTIONS["propose"].format(what=s.text) for k, s in SERVICES.items()},
}

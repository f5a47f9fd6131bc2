"""PAMA appropriateness ratings for imaging orders: the `systemActions` of the order hooks.

When: order-select or order-sign, a focused draft ServiceRequest of spine imaging (lumbar,
    thoracic or whole spine) or of brain imaging.
Then: the draft, unchanged but for the Argonaut PAMA extensions, in an `update` system action.
    Appropriate: a red flag or risk factor, recorded or given as the order's reason, or a
    surgical candidate (disc disorder or stenosis) after {imaging_after_days} days of back pain.
    Not appropriate: spine imaging for back pain before {imaging_after_days} days (or of unknown
    duration) with neither; the `imaging-not-indicated` card says why. No criteria apply:
    imaging whose reason is MS and not back pain (disease monitoring), and brain imaging in a
    patient with MS. No rating otherwise (the guide: a service that cannot rate an order SHALL
    NOT rate it), e.g. chronic back pain without a recorded disc disorder or stenosis.
Source: Argonaut "CDS Hooks for PAMA" guide; ACR Appropriateness Criteria Low Back Pain; ACP
    2011 and 2017. URLs, codes and concept lists are rows of mappings/data/imaging/pama.csv.
Reads: the draft's kinds (`spine_imaging`, `brain_imaging`) and reason concepts; profile
    `red_flags`, findings, `back_pain`, `onset`, `ms`; `imaging_after_days`; the call's date.

The guide reads the rating from `extension.systemActions` of the response (as the Sandbox
does); CDS Hooks 2.0 defines a top-level `systemActions`. The service answers both with the same
actions (`cards.model.response_body`); applying one twice changes nothing.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from cards.content import PAMA
from cards.model import Action
from cards.red_flags import hard_flags
from mappings import datafile
from mappings.errors import DataError
from mappings.profile import DraftOrder, PainProfile
from mappings.thresholds import THRESHOLDS as T

__all__ = ["PamaTerms", "pama_actions", "rate"]

KINDS = ("pama-rating",)  # the header's name in the card catalogue (not a card kind)

_DATA = Path(__file__).resolve().parent.parent / "mappings" / "data" / "imaging" / "pama.csv"
_COLUMNS = ("kind", "key", "value", "source", "reviewed")
_TERMS = (
    "rating_extension",
    "rating_system",
    "qcdsm_extension",
    "consult_id_extension",
    "auc_applied_extension",
    "appropriate",
    "not_appropriate",
    "no_criteria_apply",
    "auc_applied",
    "qcdsm_consulted",
)
_CRITERIA = ("red_flag", "surgical_candidate", "ms_monitoring")
# Correlation handles (pama-rating-consult-id) are name-based UUIDs under this namespace, so a
# re-invocation for the same hook instance and order carries the same handle.
_CONSULT_NAMESPACE = uuid.UUID("6f1c3d0e-52a4-4c59-9a43-0c7f1e5b2d11")


class PamaTerms:
    """The guide's identifiers and the rating criteria (`mappings/data/imaging/pama.csv`)."""

    def __init__(self, terms: Mapping[str, str], criteria: Mapping[str, frozenset[str]]) -> None:
        self.terms = dict(terms)
        self.criteria = dict(criteria)

    @classmethod
    def load(cls, path: Path = _DATA) -> PamaTerms:
        datafile.require(path, _COLUMNS)
        terms: dict[str, str] = {}
        criteria: dict[str, frozenset[str]] = {}
        for number, row in datafile.rows(path):
            datafile.reviewed(path.name, number, row)
            key, value = row["key"], row["value"]
            if row["kind"] == "term" and key in _TERMS:
                terms[key] = value
            elif row["kind"] == "criterion" and key in _CRITERIA:
                criteria[key] = frozenset(value.split())
            else:
                raise DataError(path.name, number, f"unknown {row['kind']!r} row {key!r}")
        missing = [k for k in _TERMS if k not in terms] + [
            k for k in _CRITERIA if k not in criteria
        ]
        if missing:
            raise DataError(path.name, None, f"missing rows: {', '.join(missing)}")
        return cls(terms, criteria)


@cache
def pama_terms() -> PamaTerms:
    return PamaTerms.load()


def _any(profile: PainProfile, order: DraftOrder, concepts: frozenset[str]) -> bool:
    return bool(order.reason_concepts & concepts) or any(profile.has(c) for c in concepts)


def rate(profile: PainProfile, order: DraftOrder, today: date) -> str | None:
    """The order's rating key ("appropriate", "not_appropriate", "no_criteria_apply"), or None
    when the order is not imaging this service rates or the chart cannot tell."""
    criteria = pama_terms().criteria
    ms = criteria["ms_monitoring"]
    reason_ms = bool(order.reason_concepts & ms) and "back_pain" not in order.reason_concepts
    if "brain_imaging" in order.kinds:
        return "no_criteria_apply" if reason_ms or profile.has_ms else None
    if "spine_imaging" not in order.kinds:
        return None
    if profile.red_flags or hard_flags(profile) or _any(profile, order, criteria["red_flag"]):
        return "appropriate"
    if reason_ms:
        return "no_criteria_apply"
    if not (profile.has_back_pain or "back_pain" in order.reason_concepts):
        return None  # spine imaging for something these criteria do not cover
    days = (today - profile.onset).days if profile.onset else None
    if days is None or days < T.imaging_after_days:
        return "not_appropriate"
    if _any(profile, order, criteria["surgical_candidate"]):
        return "appropriate"
    return None  # chronic back pain: whether the patient is a surgical candidate is not recorded


def _draft_resources(draft_orders: Any) -> dict[str, dict[str, Any]]:
    """The draft ServiceRequests of `context.draftOrders`, by "ServiceRequest/id"."""
    entries: Iterable[Any] = ()
    if isinstance(draft_orders, dict):
        if draft_orders.get("resourceType") == "ServiceRequest":
            entries = [draft_orders]
        elif isinstance(draft_orders.get("entry"), list):
            entries = (e.get("resource") for e in draft_orders["entry"] if isinstance(e, dict))
    found: dict[str, dict[str, Any]] = {}
    for resource in entries:
        if isinstance(resource, dict) and resource.get("resourceType") == "ServiceRequest":
            rid = resource.get("id")
            if isinstance(rid, str) and rid:
                found.setdefault(f"ServiceRequest/{rid}", resource)
    return found


# A rated draft is sent back whole: one nested deeper or larger than any real ServiceRequest is
# not rated rather than echoed (JSON encoders stop at a depth of a few hundred).
_MAX_DEPTH = 32
_MAX_NODES = 10_000


def _echoable(resource: dict[str, Any]) -> bool:
    """True when the draft is shallow and small enough to send back, found in bounded steps."""
    stack: list[tuple[Any, int]] = [(resource, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > _MAX_DEPTH or nodes > _MAX_NODES:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def _rated(resource: dict[str, Any], rating: str, consult_id: str) -> dict[str, Any]:
    """The draft with the PAMA extensions, and any earlier PAMA extensions replaced."""
    t = pama_terms().terms
    ours = {
        t[k]
        for k in (
            "rating_extension",
            "qcdsm_extension",
            "consult_id_extension",
            "auc_applied_extension",
        )
    }
    updated = copy.deepcopy(resource)
    kept = [
        e
        for e in updated.get("extension") or []
        if not (isinstance(e, dict) and e.get("url") in ours)
    ]
    updated["extension"] = [
        *kept,
        {
            "url": t["rating_extension"],
            "valueCodeableConcept": {
                "coding": [{"system": t["rating_system"], "code": t[rating]}],
                "text": PAMA["ratings"][rating],
            },
        },
        {"url": t["qcdsm_extension"], "valueString": t["qcdsm_consulted"]},
        {"url": t["consult_id_extension"], "valueUri": consult_id},
    ]
    if rating != "no_criteria_apply":  # no criteria were applied
        updated["extension"].append(
            {"url": t["auc_applied_extension"], "valueUri": t["auc_applied"]}
        )
    return updated


def pama_actions(
    profile: PainProfile,
    orders: Iterable[DraftOrder],
    draft_orders: Any,
    *,
    hook_instance: str,
    today: date,
) -> list[Action]:
    """One `update` system action per focused imaging draft the service can rate.

    A draft without an id cannot be updated, and one too deep or large to send back is not
    echoed: neither is rated (their cards still show)."""
    resources = _draft_resources(draft_orders)
    actions: list[Action] = []
    for order in orders:
        if not order.selected or order.resource_type != "ServiceRequest":
            continue
        resource = resources.get(order.reference)
        if resource is None or not _echoable(resource):
            continue
        rating = rate(profile, order, today)
        if rating is None:
            continue
        consult = uuid.uuid5(_CONSULT_NAMESPACE, f"{hook_instance}|{order.reference}")
        text = PAMA["description"].format(rating=PAMA["ratings"][rating], order=order.display)
        actions.append(
            Action(
                type="update",
                description=text,
                resource=_rated(resource, rating, f"urn:uuid:{consult}"),
            )
        )
    return actions

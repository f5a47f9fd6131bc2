"""Cards serialise to CDS Hooks JSON with no null and no empty value anywhere, resources included.

`Card.dump` leaves out defaults instead of pruning the whole tree, and trusts the FHIR resources in
actions (all built by `cards.resources.proposal`) to carry no null or empty value: both pinned here.
"""

from __future__ import annotations

from typing import Any

import pytest

from cards import cards_for
from cards.model import _prune
from cards.products import DRUGS, SERVICES
from cards.resources import proposal
from tests.cards.builders import CLINICIAN, PID, ev, flag, med, med_order, order, profile

PROFILES = [
    profile(),
    profile(onset_days=90, neuropathic=True, spasticity=True, meds=(med("baclofen"),)),
    profile(onset_days=90, spasticity=True, egfr_value=25, age=70),
    profile(neuropathic=True, meds=(med("gabapentin"), med("oxycodone"), med("diazepam"))),
    profile(back_pain=False, pain_documented=False),
    profile(red_flags=(flag("cauda_equina", "Cauda equina syndrome", True),)),
    profile(red_flags=(flag("cancer_history", "History of cancer", False),)),
    profile(findings={"gi_bleed": "Peptic ulcer"}, meds=(med("ibuprofen"),)),
]
ORDERS = [
    order("imaging_lumbar"),
    order("bed_rest", id=None, display="Bed rest"),
    med_order("tizanidine"),
    med_order("oxycodone"),
]


def _empties(value: Any, path: str = "$") -> list[str]:
    if value is None or value == [] or value == {}:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _empties(v, f"{path}[{i}]")]
    return []


def _all_cards():
    for p in PROFILES:
        yield from cards_for("patient-view", p, patient_id=PID, user_id=CLINICIAN)
        for hook in ("order-select", "order-sign"):
            yield from cards_for(hook, p, patient_id=PID, user_id=CLINICIAN, orders=ORDERS)


def test_the_profiles_earn_cards_with_suggestions() -> None:
    cards = list(_all_cards())
    assert len({c.source.topic.code for c in cards}) >= 10
    assert sum(len(c.suggestions) for c in cards) >= 20


def test_dump_equals_the_fully_pruned_model_and_has_no_empty_value() -> None:
    for card in _all_cards():
        dumped = card.dump()
        assert dumped == _prune(card.model_dump(mode="json"))
        assert list(dumped) == list(_prune(card.model_dump(mode="json")))  # same key order
        assert _empties(dumped) == []


@pytest.mark.parametrize("key", sorted({*DRUGS, *SERVICES}))
def test_every_proposal_is_free_of_null_and_empty_values(key: str) -> None:
    reasons = [
        ev("back_pain", "Low back pain", code="279039007", days=30),
        ev("back_pain", "", code="M54.50", days=None),  # no display: no text, no display
        ev("spasticity", "Spasticity", code="has space", system="text"),  # not a FHIR coding
        ev("egfr", "eGFR 25", resource="Observation/egfr-1"),
    ]
    for given in ([], reasons):
        resource = proposal(key, PID, given)
        assert _empties(resource) == [], resource
        assert resource["subject"] == {"reference": f"Patient/{PID}"}


def test_the_import_check_refuses_a_product_fhir_would_refuse(monkeypatch) -> None:
    from pydantic import ValidationError

    from cards import resources
    from cards.products import SNOMED, ServiceProduct

    resources._check_products()  # what import ran: every product passes
    bad = ServiceProduct("bad", SNOMED, "12  34", "Display", "Text")  # a code with a double space
    monkeypatch.setitem(resources._PRODUCTS, "bad", (resources._service_request, bad))
    with pytest.raises(ValidationError):
        resources._check_products()

"""`finish` validates every card it builds against the CDS Hooks card rules (`cards.model`).

It calls the model's validator directly rather than `Card(...)`: pinned here that a card breaking
the rules still never leaves it.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cards.build import Draft, create, delete, finish, suggestion
from cards.model import Card
from tests.cards.builders import PID

_RESOURCE = {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal"}


def _draft(**fields) -> Draft:
    d = Draft("first-line", "Back pain in MS: stay active")
    for name, value in fields.items():
        setattr(d, name, value)
    return d


def test_a_valid_draft_gives_a_card() -> None:
    card = finish(
        _draft(suggestions=[suggestion("k", "Refer", [create("Propose", _RESOURCE)])]), PID
    )
    assert isinstance(card, Card)
    assert card == Card(**card.model_dump())


@pytest.mark.parametrize(
    "fields",
    [
        {"summary": ""},
        {"summary": "x" * 140},
        {"suggestions": [suggestion("k", "", [create("Propose", _RESOURCE)])]},
        {"suggestions": [suggestion("k", "Refer", [create("", _RESOURCE)])]},
        {"suggestions": [suggestion("k", "Refer", [create("Propose", {"status": "draft"})])]},
        {"suggestions": [suggestion("k", "Refer", [delete("Remove", "")])]},
        {"suggestions": [suggestion("k", "Refer", [{"type": "move", "description": "Move"}])]},
        {
            "selection": "at-most-one",
            "suggestions": [
                suggestion("a", "A", [create("Propose", _RESOURCE)], True),
                suggestion("b", "B", [create("Propose", _RESOURCE)], True),
            ],
        },
        {"selection": "one", "suggestions": [suggestion("k", "Refer", [])]},
    ],
)
def test_a_card_breaking_the_rules_is_refused(fields: dict) -> None:
    with pytest.raises(ValidationError):
        finish(_draft(**fields), PID)

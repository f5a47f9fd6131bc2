"""The CDS Hooks response models refuse invalid cards and serialise without null or empty fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cards.model import (
    Action,
    Card,
    Link,
    OverrideReason,
    Source,
    Suggestion,
    response_body,
    sort_cards,
)

SOURCE = Source(label="Treatment guide", url="https://example.org/guide")


def card(**fields) -> Card:
    return Card(**{"summary": "Do the thing", "indicator": "info", "source": SOURCE, **fields})


def test_summary_must_be_under_140_characters() -> None:
    card(summary="x" * 139)
    with pytest.raises(ValidationError):
        card(summary="x" * 140)


def test_suggestions_need_selection_behavior() -> None:
    suggestion = Suggestion(label="Refer", uuid="s-1")
    with pytest.raises(ValidationError, match="selectionBehavior"):
        card(suggestions=(suggestion,))
    assert card(suggestions=(suggestion,), selectionBehavior="any").selectionBehavior == "any"


def test_at_most_one_allows_one_recommended_suggestion() -> None:
    a = Suggestion(label="A", isRecommended=True)
    b = Suggestion(label="B", isRecommended=True)
    with pytest.raises(ValidationError):
        card(suggestions=(a, b), selectionBehavior="at-most-one")
    card(suggestions=(a, b), selectionBehavior="any")


def test_override_reasons_need_a_display() -> None:
    with pytest.raises(ValidationError):
        OverrideReason(system="https://example.org/cs", code="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        OverrideReason(system="https://example.org/cs", code="x", display="")


def test_app_context_only_on_smart_links() -> None:
    with pytest.raises(ValidationError):
        Link(label="L", url="https://example.org", type="absolute", appContext="{}")
    Link(label="L", url="https://example.org/launch", type="smart", appContext="{}")


def test_links_and_sources_are_absolute() -> None:
    with pytest.raises(ValidationError):
        Link(label="L", url="/relative", type="absolute")
    with pytest.raises(ValidationError):
        Source(label="S", url="guide.html")


def test_delete_actions_carry_a_resource_id_and_no_resource() -> None:
    with pytest.raises(ValidationError):
        Action(type="delete", description="Remove the order")
    with pytest.raises(ValidationError):
        Action(
            type="delete",
            description="Remove",
            resourceId="ServiceRequest/1",
            resource={"resourceType": "ServiceRequest"},
        )
    with pytest.raises(ValidationError):
        Action(type="create", description="Create")
    with pytest.raises(ValidationError):
        Action(type="create", description="", resource={"resourceType": "ServiceRequest"})


def test_serialisation_drops_null_and_empty_fields_but_keeps_cards() -> None:
    assert response_body([]) == {"cards": []}
    body = response_body([card(uuid="c-1")])
    (only,) = body["cards"]
    assert only == {
        "uuid": "c-1",
        "summary": "Do the thing",
        "indicator": "info",
        "source": {"label": "Treatment guide", "url": "https://example.org/guide"},
    }


def test_cards_sort_critical_warning_info() -> None:
    ordered = sort_cards(
        [card(indicator="info"), card(indicator="critical"), card(indicator="warning")]
    )
    assert [c.indicator for c in ordered] == ["critical", "warning", "info"]

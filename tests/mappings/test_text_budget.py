"""One hook call reads at most a budget of free text (`mappings.text_budget`): what is read is
counted, remembered answers cost nothing again, and reading outside a call is not counted."""

from __future__ import annotations

import pytest

from mappings.text import NameFinder, TextMatcher
from mappings.text_budget import TextBudgetExceeded, text_budget

MATCHER = TextMatcher({"back_pain": (["back pain"], [])})


def unique_text(i: int, chars: int) -> str:
    return (f"visit {i} notes " * chars)[:chars]


def test_reading_past_the_budget_is_refused() -> None:
    with text_budget(1_000), pytest.raises(TextBudgetExceeded) as refused:
        for i in range(20):
            MATCHER.find(unique_text(i, 300) + " back pain")
    assert "1,000 characters" in str(refused.value)


def test_within_the_budget_texts_are_read_as_always() -> None:
    with text_budget(1_000):
        assert MATCHER.find("chronic back pain") == (("back_pain", "back pain"),)


def test_a_remembered_answer_costs_nothing_again() -> None:
    text = "low back pain since the fall"  # short: its answer is remembered
    MATCHER.find(text)
    with text_budget(len(text) - 1):
        for _ in range(1_000):
            assert MATCHER.find(text)


def test_drug_names_draw_on_the_same_budget() -> None:
    names = NameFinder(["ibuprofen"])
    with text_budget(100), pytest.raises(TextBudgetExceeded):
        for i in range(10):
            list(names.finditer(unique_text(i, 50) + " ibuprofen"))


def test_reading_outside_a_call_is_not_counted() -> None:
    for i in range(50):
        MATCHER.find(unique_text(i, 4_000))

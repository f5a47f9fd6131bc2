"""The fast readers agree with the lenient ones on every shape they answer for."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.fhir import _parse_date, parse_date, status_code, status_tokens

codes = st.one_of(
    st.sampled_from(["active", " Active ", "RESOLVED", "", "  ", "entered-in-error", "on-hold"]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)
codings = st.one_of(
    st.fixed_dictionaries({"code": codes}, optional={"system": st.text(max_size=5)}),
    st.just({}),
    st.text(max_size=5),
    st.none(),
)
statuses = st.one_of(
    codes,
    st.fixed_dictionaries(
        {},
        optional={
            "coding": st.one_of(st.lists(codings, max_size=3), codings),
            "text": st.one_of(st.text(max_size=12), st.integers()),
        },
    ),
    st.lists(st.fixed_dictionaries({"coding": st.lists(codings, max_size=2)}), max_size=2),
)


@given(statuses)
def test_status_code_is_the_one_token_status_tokens_finds(value: Any) -> None:
    token = status_code(value)
    if token is not None:
        assert {token} == status_tokens(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("active", "active"),
        (" Resolved ", "resolved"),
        ({"coding": [{"system": "x", "code": "Active"}]}, "active"),
        # shapes left to status_tokens
        ({"coding": [{"code": "active"}, {"code": "relapse"}]}, None),
        ({"coding": [{"code": " "}], "text": "active"}, None),
        ({"text": "active"}, None),
        ([{"coding": [{"code": "active"}]}], None),
        ("  ", None),
        (3, None),
    ],
)
def test_status_code_answers_only_the_common_shapes(value: Any, expected: str | None) -> None:
    assert status_code(value) == expected


dates = st.one_of(
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.from_regex(r"\A[0-9 \-WT:]{0,14}\Z"),
    st.text(alphabet="0123456789-W \t\x1c", max_size=12),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)


@given(dates)
def test_parse_date_fast_path_agrees_with_the_general_reader(value: Any) -> None:
    assert parse_date(value) == _parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", date(2024, 5, 1)),
        ("2024-05-01T10:00:00Z", date(2024, 5, 1)),
        (" 2024-05-01 ", date(2024, 5, 1)),
        ("2024-05   ", date(2024, 5, 1)),
        ("2024", date(2024, 1, 1)),
        ("2024-02-30", None),
        (20240501, None),
    ],
)
def test_parse_date_shapes(value: Any, expected: date | None) -> None:
    assert parse_date(value) == expected

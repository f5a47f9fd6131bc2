"""The fast status reader agrees with the lenient one on every shape it answers for."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.fhir import status_code, status_tokens

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

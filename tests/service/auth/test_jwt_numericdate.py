"""`exp`, `iat` and `nbf` are RFC 7519 NumericDates: JSON numbers, nothing else.

PyJWT converts what it is given with int(), so it took `"exp": "1999999999"` (a string) or
`"iat": true` for a date. The service refuses them with the usual bare 401 and logs why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http.app import create_app
from tests.service.auth_helpers import (
    BASE,
    ISS,
    PATIENT_VIEW,
    LogCapture,
    bearer,
    claims,
    ec_key,
    jwks,
    token,
)
from tests.service.builders import full_prefetch, hook_request

NOW = int(time.time())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
        log_level="INFO",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with LogCapture() as capture:
        yield capture


def _call(api: TestClient, jwt_value: str) -> int:
    body = hook_request(prefetch=full_prefetch())
    return api.post(PATIENT_VIEW, json=body, headers=bearer(jwt_value)).status_code


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "1999999999"),
        ("exp", str(NOW + 300)),
        ("exp", f"{NOW + 300}.0"),
        ("exp", True),
        ("exp", [NOW + 300]),
        ("exp", {"value": NOW + 300}),
        ("exp", float("inf")),  # Python's JSON writes Infinity, which JSON does not have
        ("exp", float("nan")),
        ("exp", 10**30),
        ("iat", str(NOW)),
        ("iat", True),
        ("iat", False),
        ("nbf", str(NOW)),
        ("nbf", False),
        ("nbf", None),
    ],
    ids=lambda value: value if isinstance(value, str) and value.isalpha() else type(value).__name__,
)
def test_a_numericdate_that_is_not_a_json_number_is_refused(
    api: TestClient, logs: LogCapture, claim: str, value: object
) -> None:
    jwt_value = _token_with(claim, value)
    assert _call(api, jwt_value) == 401
    failure = logs.events("auth_failed")[-1]
    assert failure["reason"] == f"{claim} is not a NumericDate (a JSON number)"
    assert jwt_value not in "\n".join(logs.lines)


def _token_with(claim: str, value: object) -> str:
    """A validly signed token whose `claim` is `value` as given (`null` included)."""
    key = ec_key()
    payload = {**claims(), claim: value}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers={"kid": key.kid})


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"exp": 300.5, "iat": -0.25},  # fractions are numbers too
        {"nbf": -10},
    ],
)
def test_numeric_dates_that_are_numbers_are_accepted(
    api: TestClient, overrides: dict[str, float]
) -> None:
    """Offsets from the time of the test (not of the module's import: the suite runs minutes)."""
    now = time.time()
    assert _call(api, token(**{k: now + v for k, v in overrides.items()})) == 200

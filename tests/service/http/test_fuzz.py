"""Property-based fuzzing: whatever arrives, the service answers a CDS Hooks body or an
OperationOutcome, never a 5xx, and the pipeline never raises on mangled FHIR.

Example counts come from HYPOTHESIS_PROFILE: `ci` (default, small, derandomised so CI is
reproducible) or `thorough` (>= 10,000 examples per test, random), e.g.

    HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/service/http/test_fuzz.py -s

`-s` prints how many examples ran and the status codes seen. Inputs that once gave a 500 are kept
as regression tests at the end.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cards
import mappings
from service.config import Settings
from service.fhir.client import FhirError, resources_of, same_server
from service.http.app import create_app
from tests.fixtures.reliability.strategies import (
    FHIR_BASE,
    HOOKS,
    SERVICE_IDS,
    _seed_requests,
    any_request,
    feedback_body,
    garbage,
    mangled,
    seed_request,
    texts,
    valid_request,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "thorough"):
    PROFILE = "ci"
THOROUGH = PROFILE == "thorough"


# MSCDS_FUZZ_EXAMPLES overrides the count per test (e.g. a quicker random run on a busy machine).
EXAMPLES = int(os.environ.get("MSCDS_FUZZ_EXAMPLES", "0") or 0)


def fuzz(ci_examples: int) -> settings:
    return settings(
        max_examples=EXAMPLES or (10_000 if THOROUGH else ci_examples),
        deadline=None,
        derandomize=not THOROUGH,
        database=None if not THOROUGH else settings.default.database,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


SEEN: Counter[str] = Counter()  # "<test>: <status>" -> count, printed at the end with -s
CARD_INDICATORS = {"info", "warning", "critical"}


# --- the app under test, with a FHIR server whose answers the fuzzer chooses -------------------

FHIR_REPLY: dict[str, Any] = {"value": None}


def _fhir_answer(request: httpx.Request) -> httpx.Response:
    chosen = FHIR_REPLY["value"]
    if chosen is not None:
        status, content = chosen
        return httpx.Response(status, content=content)
    if "/Patient/" in request.url.path:
        pid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"resourceType": "Patient", "id": pid})
    return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})


fhir_replies = st.one_of(
    st.none(),
    st.tuples(st.sampled_from((200, 401, 404, 429, 500, 503)), st.just(b"{}")),
    st.tuples(st.just(200), st.binary(max_size=64)),
    st.tuples(st.just(200), garbage.map(lambda v: json.dumps(v).encode())),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        auth="off",
        fhir_servers=(FHIR_BASE,),
        fhir_timeout_s=2.0,
        log_level="ERROR",
        feedback_rate=0,  # every example comes from one client: fuzzing, not the rate limit
    )
    with respx.mock(assert_all_called=False) as router:
        router.route(host="ehr.example.org").mock(side_effect=_fhir_answer)
        with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
            yield client
            assert client.get("/health/ready").status_code == 200  # still alive after it all
    if SEEN:
        print(f"\n\nfuzz profile {PROFILE}: examples and statuses")
        for key, count in sorted(SEEN.items()):
            print(f"  {key:45} {count}")


def _send(client: TestClient, path: str, body: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=raw, headers={"content-type": "application/json"})


def assert_operation_outcome(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/fhir+json"), response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"], body
    for issue in body["issue"]:
        assert issue["severity"] in ("error", "fatal")
        assert isinstance(issue["code"], str) and issue["code"]
        assert isinstance(issue["diagnostics"], str)


def assert_hook_answer(response: httpx.Response, test: str) -> None:
    SEEN[f"{test}: {response.status_code}"] += 1
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400, 412, 413), response.text
    if response.status_code != 200:
        assert_operation_outcome(response)
        return
    body = response.json()
    assert isinstance(body["cards"], list)
    SEEN[f"{test}: 200 with cards"] += bool(body["cards"])
    for card in body["cards"]:
        assert 0 < len(card["summary"]) <= 140
        assert card["indicator"] in CARD_INDICATORS
        assert card["source"]["label"]


# --- HTTP fuzzing ------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", HOOKS)
@fuzz(ci_examples=60)
@given(data=st.data())
def test_hook_requests_never_get_a_5xx(app: TestClient, hook: str, data: st.DataObject) -> None:
    body = data.draw(any_request(hook), label="body")
    FHIR_REPLY["value"] = data.draw(fhir_replies, label="fhir reply")
    try:
        response = _send(app, f"/cds-services/{SERVICE_IDS[hook]}", body)
    finally:
        FHIR_REPLY["value"] = None
    assert_hook_answer(response, f"hook {hook}")


@pytest.mark.parametrize("hook", HOOKS)
@fuzz(ci_examples=15)
@given(data=st.data())
def test_valid_requests_get_cards(app: TestClient, hook: str, data: st.DataObject) -> None:
    body = data.draw(valid_request(hook), label="body")
    response = _send(app, f"/cds-services/{SERVICE_IDS[hook]}", body)
    assert response.status_code == 200, response.text  # complete prefetch: nothing to fetch
    assert_hook_answer(response, f"valid {hook}")


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(500, 100_000)),
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(500, 100_000)),
    st.builds(lambda n: b'{"hook":"' + b"\\u0000" * n + b'"}', st.integers(1, 50_000)),
    st.sampled_from(
        (
            b"",
            b"null",
            b"NaN",
            b"1e999999",
            b'{"hook": "patient-view", "hook": "order-sign"}',
            b"\xef\xbb\xbf{}",
            b'{"context": {"patientId": "\xff\xfe"}}',
            b'"\\ud800"',
        )
    ),
)


@fuzz(ci_examples=60)
@given(body=raw_bodies, hook=st.sampled_from(HOOKS), feedback=st.booleans())
def test_raw_bytes_never_get_a_5xx(app: TestClient, body: bytes, hook: str, feedback: bool) -> None:
    path = f"/cds-services/{SERVICE_IDS[hook]}" + ("/feedback" if feedback else "")
    response = _send(app, path, body)
    SEEN[f"raw bytes: {response.status_code}"] += 1
    assert response.status_code in (400, 413), response.text
    assert_operation_outcome(response)


@fuzz(ci_examples=80)
@given(body=feedback_body(), hook=st.sampled_from(HOOKS))
def test_feedback_never_gets_a_5xx(app: TestClient, body: Any, hook: str) -> None:
    response = _send(app, f"/cds-services/{SERVICE_IDS[hook]}/feedback", body)
    SEEN[f"feedback: {response.status_code}"] += 1
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code != 200:
        assert_operation_outcome(response)
        return
    answer = response.json()
    assert answer["received"] == len(body["feedback"])
    assert 0 <= answer["stored"] <= answer["received"]


# --- the pipeline in-process: where messy data lands ------------------------------------------


def _flat_resources(prefetch: Any) -> list[dict[str, Any]]:
    """What prefetch resolution hands the classifier: dict resources, from Bundles or alone."""
    found: list[dict[str, Any]] = []
    for value in (prefetch or {}).values() if isinstance(prefetch, dict) else ():
        try:
            resources, _ = resources_of(value)
        except FhirError:
            continue
        found.extend(resources)
    return found


@fuzz(ci_examples=150)
@given(data=st.data(), hook=st.sampled_from(HOOKS))
def test_pipeline_never_raises_on_mangled_fhir(data: st.DataObject, hook: str) -> None:
    request = data.draw(seed_request(hook), label="seed")
    rate = data.draw(st.sampled_from((1, 3, 8, 20)), label="rate")
    resources = _flat_resources(data.draw(mangled(request["prefetch"], "prefetch", rate)))
    resources += data.draw(st.lists(st.dictionaries(texts, garbage, max_size=4), max_size=3))
    patient_id = data.draw(st.one_of(st.just(request["context"]["patientId"]), texts))
    today = data.draw(
        st.one_of(
            st.just(datetime.now(UTC).date()),
            st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
        )
    )

    profile = mappings.classify(resources, today=today, patient_id=patient_id)

    drafts = request["context"].get("draftOrders")
    orders: tuple[mappings.DraftOrder, ...] = ()
    if hook != "patient-view":
        drafts = data.draw(st.one_of(mangled(drafts, "draftOrders", rate), garbage))
        selections = data.draw(
            st.one_of(
                st.just(request["context"].get("selections")),
                st.none(),
                garbage,
                st.lists(texts, max_size=3),
            )
        )
        orders = mappings.classify_orders(drafts, selections=selections)
    user_id = data.draw(st.one_of(st.just("Practitioner/doc-1"), st.none(), texts))
    result = cards.cards_for(hook, profile, patient_id=patient_id, user_id=user_id, orders=orders)
    for card in result:  # every card the rules emit still satisfies the response model
        assert card.dump()["summary"]
    SEEN[f"pipeline {hook}: {len(result)} cards" if len(result) < 3 else "pipeline: 3+ cards"] += 1


@fuzz(ci_examples=200)
@given(value=garbage)
def test_resources_of_raises_only_fhir_error(value: Any) -> None:
    try:
        found, next_url = resources_of(value)
    except FhirError:
        return
    assert all(isinstance(r, dict) for r in found)
    assert next_url is None or isinstance(next_url, str)


url_like = st.one_of(
    texts,
    st.builds(
        lambda scheme, host, path: f"{scheme}://{host}{path}",
        st.sampled_from(("http", "https", "HTTPS", "ftp", "")),
        st.sampled_from(("ehr.example.org", "ehr.example.org:443", "EHR.example.org", "a@b", "")),
        st.sampled_from(("/fhir", "/fhir/", "/fhir/../x", "/fhir%2f..", "/fhirx", "/fhir/Patient")),
    ),
)


@fuzz(ci_examples=200)
@example(url="https://ehr.example.org/fhir/Patient/1")
@given(url=url_like)
def test_same_server_answers_a_bool(url: str) -> None:
    answer = same_server(url, FHIR_BASE)
    assert isinstance(answer, bool)
    if answer:  # only under the base: same host and port, path below /fhir
        parts = urlsplit(url)
        assert parts.hostname == "ehr.example.org"
        assert parts.port in (None, 443)
        assert parts.path == "/fhir" or parts.path.startswith("/fhir/")


# --- regressions: inputs that once gave a 500 ------------------------------------------------


@pytest.mark.parametrize("token", ["tökén", "токен", "🔑"])
def test_non_ascii_access_token_is_not_a_500(app: TestClient, token: str) -> None:
    body = copy.deepcopy(_seed_requests()["patient-view"][0])
    del body["prefetch"]["conditions"]  # so the service fetches, with the token
    body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer"}
    response = _send(app, "/cds-services/ms-back-pain-patient-view", body)
    assert response.status_code == 400, response.text
    assert "access_token" in response.text and token not in response.text


@pytest.mark.parametrize("where", ["fhirServer", "next link"])
def test_unparseable_fhir_url_is_not_a_500(app: TestClient, where: str) -> None:
    body = copy.deepcopy(_seed_requests()["patient-view"][0])
    if where == "fhirServer":
        del body["prefetch"]["conditions"]
        body["fhirServer"] = "http://[::1"
    else:
        body["prefetch"]["conditions"]["link"] = [
            {"relation": "next", "url": "https://[ehr.example.org/fhir/Condition?page=2"}
        ]
    response = _send(app, "/cds-services/ms-back-pain-patient-view", body)
    assert response.status_code == 412, response.text


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_edge_of_range_feedback_timestamp_is_a_400(app: TestClient, stamp: str) -> None:
    item = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": stamp}
    response = _send(app, "/cds-services/ms-back-pain-patient-view/feedback", {"feedback": [item]})
    assert response.status_code == 400, response.text


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_extra_feedback_field_is_not_a_5xx(app: TestClient) -> None:
    item = {
        "card": "c-deep",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-01-01T00:00:00Z",
        "extension": _nested(300),
    }
    response = _send(app, "/cds-services/ms-back-pain-patient-view/feedback", {"feedback": [item]})
    assert response.status_code == 200, response.text  # unknown fields: tolerated, not kept

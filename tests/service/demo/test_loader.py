"""load_samples against a mocked FHIR server: transaction shape, retries, errors, re-runs.

The behaviour against a server that assigns ids and wants a token is in
test_load_samples_server.py; these pin the wire format and the error handling.
"""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from service.demo.loader import (
    BundleFailure,
    LoadedBundle,
    load_samples,
    retry_delay,
    sandbox_link,
    text_progress,
)
from service.demo.samples import list_samples, load_bundle
from service.demo.transaction import SAMPLE_SYSTEM, conditional_transaction

BASE = "http://hapi.test/fhir"
TODAY = date(2026, 3, 15)
OK = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=OK)


async def test_posts_every_sample_as_a_transaction_of_conditional_updates():
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(BASE).mock(side_effect=_ok)
        report = await load_samples(BASE + "/", today=TODAY, progress=None, backoff=0)
    assert report.ok and [b.sample_id for b in report.loaded] == [s.id for s in list_samples()]
    assert route.call_count == len(list_samples())
    first = route.calls[0].request
    assert str(first.url) == BASE
    assert first.headers["content-type"] == "application/fhir+json"
    assert "authorization" not in first.headers
    bundle = json.loads(first.content)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    stored = load_bundle("ms-acute-lbp", today=TODAY)["entry"]
    assert len(bundle["entry"]) == len(stored)
    patient = bundle["entry"][0]
    assert patient["request"] == {
        "method": "PUT",
        "url": "Patient?identifier=urn:ms-backpain-cds:sample%7Cms-acute-lbp",
    }
    assert patient["fullUrl"].startswith("urn:uuid:")
    assert patient["resource"]["identifier"] == [
        {"system": "urn:ms-backpain-cds:sample-mrn", "value": "MS-ACUTE-LBP"},
        {"system": SAMPLE_SYSTEM, "value": "ms-acute-lbp"},
    ]
    for sent, original in zip(bundle["entry"], stored, strict=True):
        resource = sent["resource"]
        assert "id" not in resource  # the server assigns ids
        kind, sample_id = original["resource"]["resourceType"], original["resource"]["id"]
        query = parse_qs(urlsplit(sent["request"]["url"]).query)
        assert sent["request"]["url"].startswith(f"{kind}?")
        assert query == {"identifier": [f"{SAMPLE_SYSTEM}|{sample_id}"]}
        assert {"system": SAMPLE_SYSTEM, "value": sample_id} in resource["identifier"]
        if "subject" in resource:  # points at the Patient entry, for the server to rewrite
            assert resource["subject"] == {"reference": patient["fullUrl"]}
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(stored)
    assert "{{" not in first.content.decode()


def test_the_stored_samples_keep_their_fixed_ids_for_the_demo_server():
    bundle = load_bundle("ms-acute-lbp", today=TODAY)
    before = copy.deepcopy(bundle)
    conditional_transaction(bundle)
    assert bundle == before
    assert bundle["entry"][0]["request"] == {"method": "PUT", "url": "Patient/ms-acute-lbp"}
    assert bundle["entry"][0]["resource"]["id"] == "ms-acute-lbp"


def test_an_old_sample_identifier_is_replaced_and_entries_without_an_id_pass_as_given():
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"system": SAMPLE_SYSTEM, "value": "stale"}],
                },
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "fullUrl": "urn:uuid:0b0c6c63-3a4f-4f7e-9d5e-2a2b2c2d2e2f",
                "resource": {"resourceType": "Observation", "subject": {"reference": "Patient/p1"}},
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    sent, refs = conditional_transaction(bundle)
    assert sent["entry"][0]["resource"]["identifier"] == [{"system": SAMPLE_SYSTEM, "value": "p1"}]
    assert sent["entry"][1]["request"] == {"method": "POST", "url": "Observation"}
    assert sent["entry"][1]["resource"]["subject"] == {"reference": sent["entry"][0]["fullUrl"]}
    assert [str(r) for r in refs] == ["Patient p1", "Observation (no id)"]


async def test_re_runs_send_identical_bundles():
    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=_ok)
        await load_samples(BASE, samples=["ms-no-pain"], today=TODAY, progress=None)
        await load_samples(BASE, samples=["ms-no-pain"], today=TODAY, progress=None)
    assert route.calls[0].request.content == route.calls[1].request.content


async def test_a_bearer_token_goes_with_every_request():
    from service.fhir.credentials import BearerToken

    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=_ok)
        await load_samples(
            BASE,
            samples=["ms-no-pain", "ms-acute-lbp"],
            credentials=BearerToken("secret-token"),
            progress=None,
        )
    assert [c.request.headers["authorization"] for c in route.calls] == ["Bearer secret-token"] * 2


async def test_reads_the_assigned_patient_id_and_counts_from_the_transaction_response():
    answer = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": f"{BASE}/Patient/42/_history/1"}},
            {"response": {"status": "201", "location": "Condition/7/_history/1"}},
            {"response": {"status": "200 OK", "location": "Condition/8/_history/3"}},
            {"response": {"status": "200 OK", "location": "Observation/9"}},
            {"response": {"status": "200 OK"}},
        ],
    }
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(200, json=answer))
        report = await load_samples(BASE, samples=["ms-no-pain"], progress=None)
    assert report.loaded == [LoadedBundle("ms-no-pain", "42", created=2, updated=3)]
    assert report.patient_ids == {"ms-no-pain": "42"}


async def test_retries_on_503_then_succeeds():
    responses = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200, json=OK)])
    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=lambda request: next(responses))
        report = await load_samples(
            BASE, samples=["ms-acute-lbp"], retries=3, backoff=0, progress=None
        )
    assert report.ok and [b.sample_id for b in report.loaded] == ["ms-acute-lbp"]
    assert route.call_count == 3


async def test_retries_on_timeouts_and_gives_up_after_the_limit():
    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=httpx.ConnectTimeout("slow"))
        report = await load_samples(
            BASE, samples=["ms-acute-lbp"], retries=2, backoff=0, progress=None
        )
    assert route.call_count == 3
    assert not report.ok and report.failed[0].status is None
    assert "ConnectTimeout" in report.failed[0].message
    assert "after 3 attempts" in report.failed[0].message


async def test_a_400_is_reported_with_its_diagnostics_and_not_retried():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "processing", "diagnostics": "HAPI-0450: bad code"},
            {"severity": "warning", "code": "invalid", "details": {"text": "unknown system"}},
        ],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        bundle = json.loads(request.content)
        if "ms-spasticity" in bundle["entry"][0]["request"]["url"]:
            return httpx.Response(400, json=outcome)
        return httpx.Response(200, json=OK)

    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=answer)
        report = await load_samples(
            BASE, samples=["ms-acute-lbp", "ms-spasticity", "ms-no-pain"], progress=None
        )
    assert route.call_count == 3  # one try each; the failure does not stop the others
    assert [b.sample_id for b in report.loaded] == ["ms-acute-lbp", "ms-no-pain"]
    (failure,) = report.failed
    assert failure.sample_id == "ms-spasticity" and failure.status == 400
    assert failure.message == "error: HAPI-0450: bad code; warning: unknown system"
    summary = report.summary()
    assert "Loaded 2 of 3" in summary
    assert "FAILED ms-spasticity: HTTP 400: error: HAPI-0450: bad code" in summary


async def test_non_json_error_body_is_quoted():
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(404, text="<html>Not Found</html>"))
        report = await load_samples(BASE, samples=["ms-no-pain"], progress=None)
    assert report.failed[0].status == 404 and "Not Found" in report.failed[0].message


async def test_failed_entries_are_reported_with_their_type_sample_id_and_outcome():
    # What a lenient server answers for a transaction whose entries it refused one by one.
    invalid = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "details": {"text": "Invalid id"}}],
    }
    partial = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": "Patient/1/_history/1"}},
            {"response": {"status": "400 Bad Request", "outcome": invalid}},
            {"response": {"status": "422"}},
        ],
    }
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(200, json=partial))
        report = await load_samples(BASE, samples=["ms-no-pain"], progress=None)
    (failure,) = report.failed
    assert failure.message == "2 of 5 entries failed"
    assert [str(e) for e in failure.entries] == [
        "Condition cond-ms-no-pain-ms: 400 Bad Request: error: Invalid id",
        "Condition cond-ms-no-pain-old-lbp: 422: no details",
    ]
    assert report.summary().splitlines()[1:] == [
        "FAILED ms-no-pain: HTTP 200: 2 of 5 entries failed",
        "    Condition cond-ms-no-pain-ms: 400 Bad Request: error: Invalid id",
        "    Condition cond-ms-no-pain-old-lbp: 422: no details",
    ]


async def test_a_transaction_outcome_names_the_entry_it_points_at():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "processing",
                "diagnostics": "Unknown code",
                "expression": ["Bundle.entry[1].resource.code"],
            },
            {"severity": "error", "code": "processing", "diagnostics": "Bundle.entry[99] bad"},
        ],
    }
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(422, json=outcome))
        report = await load_samples(BASE, samples=["ms-no-pain"], progress=None)
    assert report.failed[0].message == (
        "Condition cond-ms-no-pain-ms: error: Unknown code; error: Bundle.entry[99] bad"
    )


async def test_uses_the_given_client_and_reports_progress():
    seen = []
    with respx.mock() as mock:
        mock.post(BASE).mock(side_effect=_ok)
        async with httpx.AsyncClient() as client:
            await load_samples(
                BASE,
                samples=["ms-acute-lbp", "ms-no-pain"],
                client=client,
                progress=lambda done, total, result: seen.append((done, total, result)),
            )
            assert not client.is_closed
    assert seen == [
        (1, 2, LoadedBundle("ms-acute-lbp", None, 0, 0)),
        (2, 2, LoadedBundle("ms-no-pain", None, 0, 0)),
    ]


async def test_rejects_a_non_http_url():
    with pytest.raises(ValueError, match="http"):
        await load_samples("localhost:8080/fhir", progress=None)


def test_text_progress_prints_a_line_per_bundle():
    out = io.StringIO()
    show = text_progress(out)
    show(1, 12, LoadedBundle("ms-acute-lbp", "0193f", created=6, updated=0))
    show(2, 12, LoadedBundle("ms-no-pain", None, created=0, updated=5))
    show(12, 12, BundleFailure("ms-spasticity", 400, "error: bad"))
    show(12, 12, BundleFailure("ms-spasticity", None, "ConnectError"))
    assert out.getvalue().splitlines() == [
        "[ 1/12] ms-acute-lbp: Patient/0193f (6 created, 0 updated)",
        "[ 2/12] ms-no-pain: no Patient id (0 created, 5 updated)",
        "[12/12] ms-spasticity: FAILED (HTTP 400)",
        "[12/12] ms-spasticity: FAILED (no response)",
    ]


def test_sandbox_link_opens_the_assigned_patient_on_the_loaded_server():
    url = sandbox_link("http://localhost:8103/fhir/R4/", "0193f", "http://localhost:8000/")
    assert url == (
        "https://sandbox.cds-hooks.org/?fhirServiceUrl=http%3A%2F%2Flocalhost%3A8103%2Ffhir%2FR4"
        "&patientId=0193f&serviceDiscoveryURL=http%3A%2F%2Flocalhost%3A8000%2Fcds-services"
    )


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (0, None, 0.5),
        (1, None, 1.0),
        (3, None, 4.0),
        (10, None, 10.0),
        (0, "2", 2.0),
        (0, "3600", 10.0),
        (1, "Wed, 21 Oct 2015 07:28:00 GMT", 1.0),
    ],
)
def test_backoff_is_exponential_and_bounded(attempt, retry_after, expected):
    assert retry_delay(attempt, 0.5, retry_after) == expected

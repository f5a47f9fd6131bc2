"""load_samples against a mocked FHIR server: transaction shape, retries, errors, re-runs."""

from __future__ import annotations

import io
import json
from datetime import date

import httpx
import pytest
import respx

from service.loader import load_samples, retry_delay, text_progress
from service.samples import list_samples

BASE = "http://hapi.test/fhir"
TODAY = date(2026, 3, 15)
OK = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=OK)


async def test_posts_every_sample_as_a_put_transaction_to_the_base_url():
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(BASE).mock(side_effect=_ok)
        report = await load_samples(BASE + "/", today=TODAY, progress=None, backoff=0)
    assert report.ok and report.loaded == [s.id for s in list_samples()]
    assert route.call_count == len(list_samples())
    first = route.calls[0].request
    assert str(first.url) == BASE
    assert first.headers["content-type"] == "application/fhir+json"
    bundle = json.loads(first.content)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    requests = [e["request"] for e in bundle["entry"]]
    assert requests[0] == {"method": "PUT", "url": "Patient/ms-acute-lbp"}
    assert all(r["method"] == "PUT" for r in requests)
    assert {e["request"]["url"] for e in bundle["entry"]} == {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
    }
    assert "{{" not in first.content.decode()


async def test_re_runs_send_identical_bundles():
    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=_ok)
        await load_samples(BASE, samples=["ms-no-pain"], today=TODAY, progress=None)
        await load_samples(BASE, samples=["ms-no-pain"], today=TODAY, progress=None)
    assert route.calls[0].request.content == route.calls[1].request.content


async def test_retries_on_503_then_succeeds():
    responses = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200, json=OK)])
    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=lambda request: next(responses))
        report = await load_samples(
            BASE, samples=["ms-acute-lbp"], retries=3, backoff=0, progress=None
        )
    assert report.ok and report.loaded == ["ms-acute-lbp"]
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
        if bundle["entry"][0]["resource"]["id"] == "ms-spasticity":
            return httpx.Response(400, json=outcome)
        return httpx.Response(200, json=OK)

    with respx.mock() as mock:
        route = mock.post(BASE).mock(side_effect=answer)
        report = await load_samples(
            BASE, samples=["ms-acute-lbp", "ms-spasticity", "ms-no-pain"], progress=None
        )
    assert route.call_count == 3  # one try each; the failure does not stop the others
    assert report.loaded == ["ms-acute-lbp", "ms-no-pain"]
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


async def test_failed_entries_in_a_transaction_response_are_reported():
    partial = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created"}}, {"response": {"status": "422"}}],
    }
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(200, json=partial))
        report = await load_samples(BASE, samples=["ms-no-pain"], progress=None)
    assert report.failed[0].message == "1 entries failed (422)"


async def test_uses_the_given_client_and_reports_progress():
    seen = []
    with respx.mock() as mock:
        mock.post(BASE).mock(side_effect=_ok)
        async with httpx.AsyncClient() as client:
            await load_samples(
                BASE,
                samples=["ms-acute-lbp", "ms-no-pain"],
                client=client,
                progress=lambda done, total, sid: seen.append((done, total, sid)),
            )
            assert not client.is_closed
    assert seen == [(1, 2, "ms-acute-lbp"), (2, 2, "ms-no-pain")]


async def test_rejects_a_non_http_url():
    with pytest.raises(ValueError, match="http"):
        await load_samples("localhost:8080/fhir", progress=None)


def test_text_progress_bar():
    out = io.StringIO()
    show = text_progress(out, width=10)
    show(1, 4, "ms-acute-lbp")
    show(4, 4, "ms-no-pain")
    assert out.getvalue().splitlines() == [
        "[##........] 1/4 ms-acute-lbp",
        "[##########] 4/4 ms-no-pain",
    ]


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

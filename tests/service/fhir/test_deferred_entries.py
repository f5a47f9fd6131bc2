"""Large bodies: prefetch Bundle entries left encoded until read, with the eager answer kept.

`read_body(defer_entries=True)` keeps each entry's resource as it was sent; `EntryDecoder` decodes
it, when mappings reads it, to what the eager reading gives, and asks for the eager reading
instead whenever that reading would do something else (an OperationOutcome, unreadable JSON).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import msgspec
import orjson
import pytest
from fastapi.testclient import TestClient

from bench.identical import _complete, messy
from cards.model import response_body
from service import pipeline
from service.demo.samples import list_samples, sample_resources
from service.discovery import SERVICES
from service.fhir import decoding as hooks
from service.fhir.decoding import EntryDecoder, read_body
from service.http.errors import HTTPProblem
from tests.service.builders import (
    LOW_BACK_PAIN,
    MS,
    PATIENT_ID,
    full_prefetch,
    hook_request,
    patient,
)

DAY = date(2026, 11, 21)
PV = "/cds-services/ms-back-pain-patient-view"
SERVICE = SERVICES["ms-back-pain-patient-view"]


def _body(resources: list[Any], **prefetch: Any) -> bytes:
    chart = {"resourceType": "Bundle", "type": "searchset"}
    chart["entry"] = [{"fullUrl": f"urn:x:{i}", "resource": r} for i, r in enumerate(resources)]
    return orjson.dumps(
        {
            "hook": "patient-view",
            "hookInstance": "h1",
            "context": {"userId": "Practitioner/u", "patientId": PATIENT_ID},
            "prefetch": {"conditions": chart} | prefetch,
        }
    )


def _charts() -> list[list[dict[str, Any]]]:
    charts = [sample_resources(s.id, today=DAY) for s in list_samples()]
    return charts + [messy(c, seed) for seed, c in enumerate(charts)]


def test_entries_stay_encoded_and_the_rest_is_read_as_before() -> None:
    body = _body([MS, LOW_BACK_PAIN], patient=patient())
    eager, deferred = read_body(body), read_body(body, defer_entries=True)
    entries = deferred["prefetch"]["conditions"]["entry"]
    assert [e["resource"].__class__ for e in entries] == [msgspec.Raw, msgspec.Raw]
    assert deferred["prefetch"]["patient"] == eager["prefetch"]["patient"]  # not in a Bundle
    assert deferred["context"] == eager["context"]
    eager_bundle = dict(eager["prefetch"]["conditions"], entry=None)
    assert dict(deferred["prefetch"]["conditions"], entry=None) == eager_bundle


def _eager(resource: Any) -> Any:
    """The resource as the eager reading decodes it in a body of its own."""
    return read_body(_body([resource]))["prefetch"]["conditions"]["entry"][0]["resource"]


def test_each_entry_decodes_to_what_the_eager_reading_gives() -> None:
    compared = 0
    for resources in _charts():
        body = _body(resources)
        eager = [_eager(r) for r in resources]
        decode = EntryDecoder()
        deferred = read_body(body, defer_entries=True)["prefetch"]["conditions"]["entry"]
        assert [decode(e["resource"]) for e in deferred] == eager
        assert not decode.redo
        compared += len(eager)
    assert compared > 150  # every resource of 15 sample charts and their messy copies


def test_an_odd_status_decodes_whole_for_that_resource_alone() -> None:
    odd = copy.deepcopy(MS) | {"clinicalStatus": {"coding": "active"}}  # not a list of codings
    body = _body([odd, LOW_BACK_PAIN])
    assert read_body(body)["prefetch"]["conditions"]["entry"][0]["resource"] == odd  # lenient
    entries = read_body(body, defer_entries=True)["prefetch"]["conditions"]["entry"]
    decode = EntryDecoder()
    assert decode(entries[0]["resource"]) == odd
    assert decode(entries[1]["resource"]) == _eager(LOW_BACK_PAIN) != LOW_BACK_PAIN  # reduced
    assert not decode.redo


@pytest.mark.parametrize(
    ("resource", "decoded", "redo"),
    [
        ("a string", None, False),  # the eager reading skips an entry that is not an object
        ([MS], None, False),
        (None, None, False),
        ({"resourceType": "OperationOutcome", "issue": []}, ..., True),
    ],
)
def test_what_the_decoder_gives_for_other_entries(resource: Any, decoded: Any, redo: bool) -> None:
    entries = read_body(_body([resource]), defer_entries=True)["prefetch"]["conditions"]["entry"]
    decode = EntryDecoder()
    got = decode(entries[0]["resource"])
    assert (got == resource if decoded is ... else got is decoded) and decode.redo is redo


def test_an_entry_neither_decoder_reads_asks_for_the_eager_reading() -> None:
    raw = _body([MS]).replace(b'"G35.A"', b"1e400")  # a kept element, beyond a double
    assert b"1e400" in raw
    entries = read_body(raw, defer_entries=True)["prefetch"]["conditions"]["entry"]
    decode = EntryDecoder()
    assert decode(entries[0]["resource"]) is None
    assert decode.redo


def _answer(body: bytes, log: dict[str, object]) -> list[str]:
    found = _complete(pipeline.answer(SERVICE, body, None, log=log, on=DAY, offline=True))
    return [c["summary"] for c in response_body(found)["cards"]]


def test_answer_defers_only_above_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = hooks.read_hook_request

    def spy(service: Any, raw: bytes, *, defer_entries: bool = False) -> Any:
        seen.append(defer_entries)
        return real(service, raw, defer_entries=defer_entries)

    monkeypatch.setattr(hooks, "read_hook_request", spy)
    body = _body([MS, LOW_BACK_PAIN], patient=patient())
    expected = _answer(body, {})
    monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", len(body))
    assert _answer(body, {}) == expected
    monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", len(body) - 1)
    assert _answer(body, {}) == expected
    assert seen == [False, False, True]
    assert expected  # the chart has cards, so the comparison says something


def test_an_outcome_entry_is_answered_the_eager_way(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "information"}]}
    body = _body([MS, outcome, LOW_BACK_PAIN], patient=patient())
    eager_log: dict[str, object] = {}
    expected = _answer(body, eager_log)
    monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", -1)
    log: dict[str, object] = {}
    assert _answer(body, log) == expected
    assert log["reread"] is True and "reread" not in eager_log


def test_the_reread_keeps_the_eager_400(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = orjson.dumps(hook_request(prefetch=full_prefetch(MS))).replace(b'"G35.A"', b"1e400")
    assert b"1e400" in raw
    eager = client.post(PV, content=raw, headers={"content-type": "application/json"})
    monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", -1)
    deferred = client.post(PV, content=raw, headers={"content-type": "application/json"})
    assert eager.status_code == deferred.status_code == 400
    assert deferred.json() == eager.json()
    with pytest.raises(HTTPProblem, match="not valid JSON"):
        _answer(raw, {})


def test_a_large_body_is_deferred_through_the_endpoint(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN))
    expected = client.post(PV, json=request).json()
    calls: list[bool] = []
    real = EntryDecoder.__call__

    def counted(self: EntryDecoder, item: Any) -> Any:
        calls.append(item.__class__ is msgspec.Raw)
        return real(self, item)

    monkeypatch.setattr(EntryDecoder, "__call__", counted)
    monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", -1)
    assert client.post(PV, json=request).json() == expected
    assert calls and all(calls)  # every entry came through the decoder, still encoded
    assert expected["cards"]

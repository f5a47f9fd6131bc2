"""Decoding a hook body: prefetch keeps what `mappings` reads, and nothing else changes.

The decoder drops every prefetch element not named in `mappings.elements`; the last test proves
the list complete by running every sample chart (and a messy copy of each) through the hook's
own steps with resources that record which elements are read.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import orjson
import pytest

from bench.identical import _complete, messy
from mappings.elements import (
    BUNDLE_ELEMENTS,
    ENTRY_ELEMENTS,
    RESOURCE_ELEMENTS,
    STATUS_CODING_ELEMENTS,
    STATUS_CONCEPT_ELEMENTS,
    STATUS_ELEMENTS,
)
from service import pipeline
from service.demo.samples import list_orders, list_samples, load_order, sample_resources
from service.discovery import SERVICES
from service.fhir.decoding import parse_body, read_body
from service.fhir.prefetch import resolve
from service.http.errors import HTTPProblem
from service.protocol import HookRequest

DAY = date(2026, 11, 21)

CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "meta": {"versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"},
    "text": {"status": "generated", "div": "<div>Multiple sclerosis</div>"},
    "identifier": [{"system": "urn:ehr", "value": "123"}],
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "24700007"}]},
    "subject": {"reference": "Patient/p1"},
    "note": [{"text": "free text the classifier never reads"}],
}


def body(prefetch: dict[str, Any], **extra: Any) -> bytes:
    context = {"userId": "Practitioner/u", "patientId": "p1", "vendorField": {"kept": [1, 2]}}
    return orjson.dumps(
        {"hook": "patient-view", "hookInstance": "h1", "context": context, "prefetch": prefetch}
        | extra
    )


def test_prefetch_resources_keep_only_the_elements_mappings_reads() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": "2026-01-01T00:00:00Z"},
        "link": [{"relation": "self", "url": "http://ehr/fhir/Condition"}],
        "entry": [{"fullUrl": "http://ehr/fhir/Condition/c1", "resource": CONDITION}],
    }
    decoded = read_body(body({"conditions": bundle, "patient": {"resourceType": "Patient"}}))
    kept = decoded["prefetch"]["conditions"]
    assert set(kept) == {"resourceType", "type", "link", "entry"}
    assert set(kept["entry"][0]) == {"resource"}  # fullUrl is not read
    condition = kept["entry"][0]["resource"]
    assert condition == {k: v for k, v in CONDITION.items() if k in RESOURCE_ELEMENTS}
    assert {"meta", "text", "identifier", "note"}.isdisjoint(condition)


def test_everything_outside_prefetch_is_decoded_whole() -> None:
    decoded = read_body(body({"patient": None}, extension={"x": {"y": [1]}}))
    assert decoded["context"]["vendorField"] == {"kept": [1, 2]}
    assert decoded["extension"] == {"x": {"y": [1]}}
    assert decoded["prefetch"] == {"patient": None}


@pytest.mark.parametrize(
    "prefetch",
    [
        {"conditions": {"resourceType": "Bundle", "entry": {"resource": CONDITION}}},
        {"conditions": {"resourceType": "Bundle", "entry": [{"resource": [CONDITION]}]}},
        {"conditions": {"resourceType": "Bundle", "entry": ["not an entry"]}},
        {"conditions": ["a list where a resource belongs"]},
        {"conditions": "text"},
        ["prefetch as a list"],
    ],
)
def test_other_shapes_are_read_as_before(prefetch: Any) -> None:
    raw = body(prefetch)
    assert read_body(raw) == parse_body(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        # msgspec does not check strings it skips; the body is refused as before all the same
        (b'{"hook": "patient-view", "prefetch": {"p": {"meta": "\\ud800"}}}', "not valid JSON"),
        (b'{"hook": "patient-view", "prefetch": {"p": {"text": "\xff\xfe"}}}', "not valid JSON"),
        (b'{"hook": 1, "context": ' + b"[" * 3000 + b"]" * 3000 + b"}", "not valid JSON"),
    ],
)
def test_unreadable_bodies_are_refused_with_the_same_message(raw: bytes, expected: str) -> None:
    with pytest.raises(HTTPProblem) as caught:
        read_body(raw)
    assert caught.value.status == 400
    assert expected in caught.value.diagnostics


# ---- completeness of mappings.elements ---------------------------------------------------------

LEVELS = ("bundle", "entry", "resource", "status", "status-coding")
READ: dict[str, set[str]] = {level: set() for level in LEVELS}


class _Recording(dict):
    """A resource that notes which elements are asked for (iteration counts as every one)."""

    level = "resource"

    def _note(self, key: object) -> None:
        READ[self.level].add(str(key))

    def get(self, key: object, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: object) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._note("<every element>")
        return super().__iter__()

    def keys(self):  # type: ignore[no-untyped-def]
        self._note("<every element>")
        return super().keys()

    def items(self):  # type: ignore[no-untyped-def]
        self._note("<every element>")
        return super().items()


class _RecordingBundle(_Recording):
    level = "bundle"


class _RecordingEntry(_Recording):
    level = "entry"


class _RecordingStatus(_Recording):
    level = "status"


class _RecordingStatusCoding(_Recording):
    level = "status-coding"


def _recording_status(value: Any) -> Any:
    """A status CodeableConcept (or a list of them) whose own and codings' reads are noted."""
    if isinstance(value, list):
        return [_recording_status(v) for v in value]
    if not isinstance(value, dict):
        return value
    wrapped = dict(value)
    if isinstance(value.get("coding"), list):
        wrapped["coding"] = [
            _RecordingStatusCoding(c) if isinstance(c, dict) else c for c in value["coding"]
        ]
    return _RecordingStatus(wrapped)


def _recording(resource: Any) -> Any:
    if not isinstance(resource, dict):
        return resource
    if resource.get("resourceType") != "Bundle":
        return _Recording(
            {k: _recording_status(v) if k in STATUS_ELEMENTS else v for k, v in resource.items()}
        )
    entries = resource.get("entry")
    wrapped = dict(resource)
    if isinstance(entries, list):
        wrapped["entry"] = [
            _RecordingEntry({**e, "resource": _recording(e.get("resource"))}) for e in entries
        ]
    return _RecordingBundle(wrapped)


def _charts() -> dict[str, list[dict[str, Any]]]:
    charts = {s.id: sample_resources(s.id, today=DAY) for s in list_samples()}
    for seed, sample in enumerate(list_samples()):
        charts[f"messy/{sample.id}"] = messy(charts[sample.id], seed)
    return charts


def test_every_element_the_hooks_read_is_kept() -> None:
    READ.update({level: set() for level in LEVELS})
    calls = 0
    for resources in _charts().values():
        patient_id = resources[0]["id"]
        drafts = [load_order(o.name, patient_id=patient_id, today=DAY) for o in list_orders()]
        others = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources[1:]]}
        for service in SERVICES.values():
            context: dict[str, Any] = {"userId": "Practitioner/u", "patientId": patient_id}
            if service.hook != "patient-view":
                context["draftOrders"] = {"entry": [{"resource": d} for d in drafts]}
                context["selections"] = [f"{d['resourceType']}/{d['id']}" for d in drafts[:1]]
            prefetch = dict.fromkeys(service.prefetch)
            prefetch["patient"] = _recording(copy.deepcopy(resources[0]))
            prefetch["conditions"] = _recording(copy.deepcopy(others))
            request = HookRequest.model_construct(context=context, prefetch=prefetch)
            resolved = _complete(resolve(service.prefetch, request, None, offline=True))
            pipeline.evaluate(service, context, resolved.resources, on=DAY)
            calls += 1
    assert calls == 3 * 2 * len(list_samples())
    assert READ["resource"] <= RESOURCE_ELEMENTS, READ["resource"] - RESOURCE_ELEMENTS
    assert READ["bundle"] <= BUNDLE_ELEMENTS, READ["bundle"] - BUNDLE_ELEMENTS
    assert READ["entry"] <= ENTRY_ELEMENTS, READ["entry"] - ENTRY_ELEMENTS
    assert READ["status"] <= STATUS_CONCEPT_ELEMENTS, READ["status"] - STATUS_CONCEPT_ELEMENTS
    coding_reads = READ["status-coding"]
    assert coding_reads <= STATUS_CODING_ELEMENTS, coding_reads - STATUS_CODING_ELEMENTS
    assert {"coding"} <= READ["status"] and {"code"} <= coding_reads  # statuses were seen read
    # the harness itself works: the common elements were seen being read
    assert {"resourceType", "code", "status", "subject"} <= READ["resource"]

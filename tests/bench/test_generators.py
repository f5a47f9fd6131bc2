"""The benchmark's synthetic patients and requests: sizes, realism, prefetch per discovery."""

from __future__ import annotations

from collections import Counter

import orjson

from bench.loadgen import summarise
from bench.patients import MAX_PER_OBSERVATION_KEY, hook_request, patient_resources
from service.discovery import SERVICES, discovery_document
from service.fhir.decoding import read_hook_request


def _entries(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]]


def test_a_patient_has_exactly_n_resources_with_narrative_meta_and_mixed_statuses():
    resources = patient_resources(500)
    assert len(resources) == 500
    assert resources[0]["resourceType"] == "Patient"
    filler = [r for r in resources if "meta" in r]
    assert len(filler) > 450
    assert all(r["text"]["div"].startswith("<div") and r["identifier"] for r in filler)
    statuses = Counter(r.get("status") for r in resources if r["resourceType"].startswith("Med"))
    assert {"active", "stopped", "entered-in-error"} <= set(statuses)
    clinical = Counter(
        r["clinicalStatus"]["coding"][0]["code"] for r in resources if "clinicalStatus" in r
    )
    assert {"active", "resolved"} <= set(clinical)
    assert patient_resources(500) == resources  # deterministic


def test_prefetch_follows_the_discovery_templates():
    resources = patient_resources(500)
    for entry in discovery_document()["services"]:
        body = hook_request(entry, resources)
        prefetch = body["prefetch"]
        assert set(prefetch) == set(entry["prefetch"])
        assert prefetch["patient"]["id"] == resources[0]["id"]
        for key in ("egfr", "painScores"):
            found = _entries(prefetch[key])
            assert 0 < len(found) <= MAX_PER_OBSERVATION_KEY
            assert {r["resourceType"] for r in found} == {"Observation"}
        total = 1 + sum(len(_entries(v)) for k, v in prefetch.items() if k != "patient")
        assert total == 500
        request = read_hook_request(SERVICES[entry["id"]], orjson.dumps(body))
        assert request.hook == entry["hook"]


def test_order_hooks_carry_selected_draft_orders_and_no_prefetch_names_the_server():
    entry = next(e for e in discovery_document()["services"] if e["hook"] == "order-select")
    body = hook_request(entry, patient_resources(50), prefetch=False, fhir_server="http://x/fhir")
    assert "prefetch" not in body and body["fhirServer"] == "http://x/fhir"
    drafts = _entries(body["context"]["draftOrders"])
    assert len(drafts) == 2
    assert body["context"]["selections"] == [f"{d['resourceType']}/{d['id']}" for d in drafts]


def test_summary_percentiles_and_throughput():
    load = summarise("asyncio", [i / 1000 for i in range(1, 101)], errors=1, elapsed=2.0)
    assert load.requests == 100 and load.rps == 50.0 and load.errors == 1
    assert load.p50_ms == 51.0 and load.p99_ms == 100.0

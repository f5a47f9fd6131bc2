"""Proof that a speed-up changed nothing a clinician or an EHR sees: response hashes, before/after.

    .venv/bin/python bench/identical.py --record    # before a change: write the baseline
    .venv/bin/python bench/identical.py             # after it: compare (exit 1 on any difference)

Every response is computed on a fixed day, so the baseline (`bench/identical.json`, committed) does
not rot: every sample patient on every hook, each sample draft order alone and all of them
together on the order hooks, the benchmark's patients of 50, 500 and 5,000 resources, and a
"messy" copy of every sample chart (codings with `{}`, lower-case codes without dots, systems with
trailing slashes, statuses as strings, categories as objects, full-URL subjects, inline
Medications moved to `contained`), since fast paths for the common shapes must not change what
the lenient ones decide. Requests go through the hook endpoint's own steps (`pipeline.answer`:
parse, envelope validation, prefetch resolution, evaluation; then serialisation).

Every response is computed twice: once as the service reads a body of its size, and once with every
body's Bundle entries left encoded until read (`service.fhir.decoding.DEFER_ENTRIES_ABOVE`, which
the service does only for large bodies); both must match the baseline.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import random
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.patients import patient_resources, prefetch_for
from cards.model import response_body
from service import pipeline
from service.demo.samples import list_orders, list_samples, load_order, sample_resources
from service.discovery import SERVICES, discovery_document
from service.fhir import decoding as hooks

DAY = date(2026, 11, 21)
BASELINE = Path(__file__).resolve().parent / "identical.json"
BENCH_SIZES = (50, 500, 5000)


def _complete(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def _respond(entry: dict[str, Any], body: dict[str, Any]) -> bytes:
    """The hook endpoint's steps without HTTP (service.http.app.call_service)."""
    service = SERVICES[entry["id"]]
    actions: list[Any] = []
    answer = pipeline.answer(
        service, orjson.dumps(body), None, log={}, on=DAY, offline=True, actions=actions
    )
    return orjson.dumps(response_body(_complete(answer), actions))


def _request(
    entry: dict[str, Any], resources: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> dict[str, Any]:
    patient_id = resources[0]["id"]
    context: dict[str, Any] = {"userId": "Practitioner/bench-user", "patientId": patient_id}
    if entry["hook"] in ("order-select", "order-sign"):
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": o} for o in orders],
        }
        if entry["hook"] == "order-select":
            context["selections"] = [f"{o['resourceType']}/{o['id']}" for o in orders[:1]]
    return {
        "hook": entry["hook"],
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch_for(entry.get("prefetch") or {}, resources, patient_id),
    }


def _evaluate_directly(entry: dict[str, Any], resources: list[dict[str, Any]]) -> bytes:
    """For charts a code-filtered prefetch cannot hold (messy shapes): every resource at once,
    decoded as the hook endpoint decodes a prefetch Bundle."""
    service = SERVICES[entry["id"]]
    pid = resources[0]["id"]
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    body = orjson.dumps({"prefetch": {"chart": bundle}})
    defer = hooks.defers_entries(body)
    decoded = hooks.read_body(body, defer_entries=defer)
    resources = [e["resource"] for e in decoded["prefetch"]["chart"]["entry"]]
    context: dict[str, Any] = {"userId": "Practitioner/x", "patientId": pid}
    if entry["hook"] != "patient-view":
        orders = [load_order(o.name, patient_id=pid, today=DAY) for o in list_orders()]
        context["draftOrders"] = {"entry": [{"resource": o} for o in orders]}
    decode = hooks.EntryDecoder() if defer else None
    actions: list[Any] = []
    found = pipeline.evaluate(
        service, context, resources, on=DAY, decode=decode, actions=actions, hook_instance="x"
    )
    if decode is not None and decode.redo:
        raise SystemExit("a messy chart needed the eager reading: add a case for it")
    return orjson.dumps(response_body(found, actions))


# ---- messy copies ------------------------------------------------------------------------------


def _mess(value: Any, rng: random.Random) -> Any:
    """The same clinical content in the shapes EHRs really send (see the module docstring)."""
    if isinstance(value, list):
        return [_mess(v, rng) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _mess(v, rng) for k, v in value.items()}
    if isinstance(out.get("coding"), list):
        if rng.random() < 0.3:
            out["coding"] = [{}, *out["coding"]]
        elif len(out["coding"]) == 1 and rng.random() < 0.2:
            out["coding"] = out["coding"][0]
    if isinstance(out.get("code"), str) and "system" in out and rng.random() < 0.4:
        out["code"] = f" {out['code'].lower().replace('.', '')} "
    if isinstance(out.get("system"), str) and rng.random() < 0.3:
        out["system"] = out["system"].upper() + "/"
    if isinstance(out.get("category"), list) and len(out["category"]) == 1 and rng.random() < 0.5:
        out["category"] = out["category"][0]
    for key in ("clinicalStatus", "verificationStatus"):
        status = out.get(key)
        if isinstance(status, dict) and rng.random() < 0.3:
            codes = [c.get("code") for c in status.get("coding", []) if isinstance(c, dict)]
            if codes and isinstance(codes[-1], str):
                out[key] = codes[-1]
    if isinstance(out.get("status"), str) and rng.random() < 0.3:
        out["status"] = f" {out['status'].capitalize()} "
    subject = out.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if isinstance(reference, str) and rng.random() < 0.3:
        out["subject"] = {"reference": "https://ehr.example.org/fhir/" + reference}
    is_medication = out.get("resourceType") in ("MedicationRequest", "MedicationStatement")
    if is_medication and rng.random() < 0.4:
        concept = out.pop("medicationCodeableConcept", None)
        if isinstance(concept, dict):
            out["contained"] = [{"resourceType": "Medication", "id": "m1", "code": concept}]
            out["medicationReference"] = {"reference": "#m1"}
    return out


def messy(resources: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [resources[0], *(_mess(copy.deepcopy(r), rng) for r in resources[1:])]


# ---- the set -----------------------------------------------------------------------------------


def responses() -> dict[str, bytes]:
    """Name -> response bytes for every case of the module docstring."""
    out: dict[str, bytes] = {}
    entries = discovery_document()["services"]
    orders = list_orders()
    charts = {s.id: sample_resources(s.id, today=DAY) for s in list_samples()}
    for n in BENCH_SIZES:
        charts[f"bench-{n}"] = patient_resources(n, today=DAY)
    for name, resources in charts.items():
        pid = resources[0]["id"]
        drafts = [load_order(o.name, patient_id=pid, today=DAY) for o in orders]
        for entry in entries:
            if entry["hook"] == "patient-view":
                out[f"{name}/{entry['id']}"] = _respond(entry, _request(entry, resources, []))
                continue
            if not name.startswith("bench-"):
                for order, draft in zip(orders, drafts, strict=True):
                    key = f"{name}/{entry['id']}/{order.name}"
                    out[key] = _respond(entry, _request(entry, resources, [draft]))
            key = f"{name}/{entry['id']}/all-orders"
            out[key] = _respond(entry, _request(entry, resources, drafts))
    for seed, sample in enumerate(list_samples()):
        resources = messy(charts[sample.id], seed)
        for entry in entries:
            out[f"messy/{sample.id}/{entry['id']}"] = _evaluate_directly(entry, resources)
    return out


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", action="store_true", help="write the baseline")
    args = parser.parse_args()
    found = {name: digest(body) for name, body in responses().items()}
    if args.record:
        BASELINE.write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"recorded {len(found)} responses in {BASELINE.name}")
        return 0
    baseline = orjson.loads(BASELINE.read_bytes())
    hooks.DEFER_ENTRIES_ABOVE, by_size = -1, hooks.DEFER_ENTRIES_ABOVE
    deferred = {name: digest(body) for name, body in responses().items()}
    hooks.DEFER_ENTRIES_ABOVE = by_size
    failed = False
    for label, got in (("as the service reads them", found), ("all deferred", deferred)):
        differ = sorted(k for k in baseline.keys() | got.keys() if baseline.get(k) != got.get(k))
        print(f"{len(got) - len(differ)} of {len(baseline)} responses identical ({label})")
        for name in differ[:20]:
            print(f"  differs: {name}")
        failed = failed or bool(differ)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

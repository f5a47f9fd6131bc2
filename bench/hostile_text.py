"""Hostile free text: CPU per call, /health while one is answered, memory kept afterwards.

    .venv/bin/python bench/hostile_text.py [--sizes 1.25,2.5,5] [--parts cpu,health,rss]
                                           [--rss-mib 100] [--repeat 3]

An EHR (or anyone who can call the hooks) may send a multi-megabyte `text` where a drug or a
problem is named. Every figure below is for a patient-view call on the benchmark's chart of 50
resources (`bench.patients`) with one element made hostile, at 1x/2x/4x sizes (in MiB of text):

- cpu: `service.pipeline.answer` in process (read, prefetch, classification, cards) plus the
  response, `time.process_time`, the least of `--repeat` calls, for: one MedicationStatement, and
  one MedicationRequest, whose `medicationCodeableConcept.text` is that long; one Condition whose
  `code.text` is; and "many texts", as many Conditions and MedicationStatements as fit, each text
  4,000 characters (every one read to the bound). The text is what cost the old scanner most per
  character: one-letter words with hyphens and tabs ("a-<TAB>"), and for Conditions the first
  words of every concept's phrases before it (so that every concept is looked for). Last, "drug
  names": as many MedicationStatements as fit, each text 250 characters of the first words of
  the drug names the service knows, so that each statement is a medication of twenty drugs
  (the costliest shape found for the cards: every drug is checked against every other).
- health: a real server (`ms-backpain-cds serve`, one worker, MSCDS_AUTH=off, body limit raised
  to 64 MiB so that the scan itself is shown) answers each call while this script sends GET
  /health one after another until the call returns: the p50 and max of those, and the call's
  own time. Then the 4x medication body against a server with the default body limit: a clear
  413 is the answer there.
- rss: VmRSS of a fresh server (the same options) before and after `--rss-mib` MiB of unique
  free text in 5 MiB bodies: once as one long Condition text per body (concept phrases are
  looked for in it, and answers were once remembered whatever the text's length), once as short
  unique Condition and drug texts (200 characters: remembered, up to the memos' byte caps). Each
  with glibc's default malloc, and with MALLOC_MMAP_THRESHOLD_=131072: by default glibc raises its
  mmap threshold to the size of the largest block freed, after which multi-megabyte blocks come
  from the heap and what they leave behind stays in RSS; with a fixed threshold they are
  returned to the system when freed. The growth after the first body is what a leak would show.

Targets: < 1 s CPU per 5 MiB body, /health < 100 ms while one is answered, RSS growth < 10 MB.
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIB = 1024 * 1024
DAY = date(2026, 11, 21)
HOSTILE = "a-\t"  # per character, the costliest text we found for the old drug-name scan
MANY_TEXT_CHARS = 4_000
DRUG_TEXT_CHARS = 250
PATH = "/cds-services/ms-back-pain-patient-view"


def _concept_words() -> str:
    """The first word of every phrase in concepts.csv, once each."""
    from mappings import load_terminology
    from mappings.datafile import rows

    words: dict[str, None] = {}
    for _, row in rows(load_terminology().data_dir / "concepts.csv"):
        for phrase in (row.get("text") or "").split("|"):
            if phrase.split():
                words[phrase.split()[0].rstrip("*")] = None
    return " ".join(words)


def _drug_words() -> str:
    """The first word of every drug name the service knows, once each."""
    from mappings import load_terminology

    finder = load_terminology().drug_names
    return " ".join(finder.first_words()) if finder is not None else ""


def _filled(head: str, chars: int) -> str:
    return head + HOSTILE * ((chars - len(head)) // len(HOSTILE) + 1)


def _medication(kind: str, rid: str, text: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "resourceType": kind,
        "id": rid,
        "status": "active",
        "subject": {"reference": "Patient/{pid}"},
        "medicationCodeableConcept": {"text": text},
    }
    if kind == "MedicationRequest":
        found["intent"] = "order"
    return found


def _condition(rid: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "subject": {"reference": "Patient/{pid}"},
        "code": {"text": text},
    }


def _body(extra: list[dict[str, Any]]) -> bytes:
    """A patient-view call: the benchmark's 50-resource chart and `extra`."""
    from bench.patients import hook_request, patient_resources
    from service.discovery import discovery_document

    entry = next(s for s in discovery_document()["services"] if s["hook"] == "patient-view")
    resources = patient_resources(50, today=DAY)
    pid = resources[0]["id"]
    for resource in extra:
        resource["subject"]["reference"] = f"Patient/{pid}"
    return orjson.dumps(hook_request(entry, [*resources, *extra]))


def hostile_body(shape: str, mib: float, unique: str = "") -> bytes:
    """A call with `mib` MiB of hostile text in the shape named."""
    chars = int(mib * MIB)
    if shape == "MedicationStatement" or shape == "MedicationRequest":
        return _body([_medication(shape, "hostile", _filled(unique, chars))])
    if shape == "Condition":
        return _body([_condition("hostile", _filled(unique + _concept_words() + " ", chars))])
    if shape == "many texts":
        head = "no back pain, " * 40 + _concept_words() + " "
        unit = _filled(head, MANY_TEXT_CHARS)[:MANY_TEXT_CHARS]
        drug = _filled("", MANY_TEXT_CHARS)[:MANY_TEXT_CHARS]
        extra: list[dict[str, Any]] = []
        for i in range(chars // (2 * MANY_TEXT_CHARS)):
            extra.append(_condition(f"text-c{i}", f"{unique}{i} {unit}"))
            extra.append(_medication("MedicationStatement", f"text-m{i}", f"{unique}{i} {drug}"))
        return _body(extra)
    if shape == "drug names":
        words = _drug_words() + " "
        drugs = words * (DRUG_TEXT_CHARS // len(words) + 1)
        return _body(
            [
                _medication(
                    "MedicationStatement", f"drug-{i}", f"{unique}{i} {drugs}"[:DRUG_TEXT_CHARS]
                )
                for i in range(chars // DRUG_TEXT_CHARS)
            ]
        )
    raise ValueError(shape)


def short_texts_body(mib: float, unique: str) -> bytes:
    """`mib` MiB of short unique texts: Conditions and drug texts of 200 characters."""
    extra: list[dict[str, Any]] = []
    size = 0
    i = 0
    while size < mib * MIB:
        text = f"{unique} {i:08d} chronic low back pain ".ljust(200, "x")
        drug = f"{unique} {i:08d} ibuprofen gel ".ljust(200, "y")
        extra.append(_condition(f"short-c{i}", text))
        extra.append(_medication("MedicationStatement", f"short-m{i}", drug))
        size += 2 * 400  # the texts and the rest of each resource, roughly
        i += 1
    return _body(extra)


# ---- (a) CPU in process ------------------------------------------------------------------------


def _complete(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def answer_cpu(body: bytes, repeat: int) -> tuple[float, str]:
    """(least CPU seconds of `repeat` calls, what they answered: the number of cards, or the
    status of a refusal such as 413 for a call over its free-text budget)."""
    from cards.model import response_body
    from service import pipeline
    from service.discovery import SERVICES
    from service.http.errors import HTTPProblem

    service = SERVICES[PATH.rsplit("/", 1)[1]]
    best, answered = float("inf"), ""
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        try:
            found = _complete(pipeline.answer(service, body, None, log={}, on=DAY, offline=True))
            orjson.dumps(response_body(found))
            answered = str(len(found))
        except HTTPProblem as refused:
            answered = f"HTTP {refused.status}"
        best = min(best, time.process_time() - started)
    return best, answered


# ---- (b) /health while a call is answered ------------------------------------------------------


def health_during(base: str, body: bytes, path: str = PATH) -> dict[str, Any]:
    """Send `body` to `path`; meanwhile GET /health one after another until it is answered."""
    result: dict[str, Any] = {}

    def call() -> None:
        started = time.perf_counter()
        with httpx.Client(timeout=900) as client:
            response = client.post(base + path, content=body, headers=_JSON)
        result["status"] = response.status_code
        result["call_s"] = time.perf_counter() - started

    thread = threading.Thread(target=call)
    latencies: list[float] = []
    with httpx.Client(timeout=60) as client:
        client.get(base + "/health")
        thread.start()
        deadline = time.perf_counter() + 900
        while thread.is_alive() and time.perf_counter() < deadline:
            started = time.perf_counter()
            client.get(base + "/health").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    thread.join(timeout=900)
    result["health_n"] = len(latencies)
    result["health_p50_ms"] = statistics.median(latencies) if latencies else float("nan")
    result["health_max_ms"] = max(latencies) if latencies else float("nan")
    return result


_JSON = {"Content-Type": "application/json"}
_FIXED_MMAP_THRESHOLD = {"MALLOC_MMAP_THRESHOLD_": "131072"}


# ---- (c) memory kept -----------------------------------------------------------------------------


def rss_growth(server: Any, bodies: Any, count: int) -> dict[str, float]:
    """VmRSS (MB) before, after the first body and after `count` bodies."""
    with httpx.Client(timeout=900) as client:
        client.post(server.base + PATH, content=_body([]), headers=_JSON).raise_for_status()
        before = server.rss_mb()
        after_first = before
        sent = 0
        for i in range(count):
            body = bodies(i)
            sent += len(body)
            status = client.post(server.base + PATH, content=body, headers=_JSON).status_code
            if status not in (200, 413):  # 413: more free text than one call may read
                raise RuntimeError(f"the service answered {status}")
            if i == 0:
                after_first = server.rss_mb()
    return {
        "sent_mb": sent / 1e6,
        "before_mb": before,
        "after_first_mb": after_first,
        "after_mb": server.rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1.25,2.5,5", help="MiB of text (1x,2x,4x)")
    parser.add_argument("--parts", default="cpu,health,rss")
    parser.add_argument("--shapes", default="MedicationStatement,MedicationRequest,Condition")
    parser.add_argument("--many", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--rss-mib", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    parts = set(args.parts.split(","))
    shapes = args.shapes.split(",") + (["many texts", "drug names"] if args.many else [])

    import mappings

    mappings.load_terminology()
    from service import collector

    collector.settle()  # the collector as the service sets it once started
    if "cpu" in parts:
        print("(a) CPU per call, in process (least of", args.repeat, "calls)")
        print(f"  {'shape':20s} {'MiB':>5s} {'body B':>11s} {'CPU s':>8s} {'us/char':>8s} cards")
        for shape in shapes:
            for mib in sizes:
                body = hostile_body(shape, mib)
                cpu, cards = answer_cpu(body, args.repeat)
                per_char = cpu * 1e6 / (mib * MIB)
                print(
                    f"  {shape:20s} {mib:5.2f} {len(body):11,d} {cpu:8.3f} {per_char:8.3f} {cards}",
                    flush=True,
                )

    if not parts & {"health", "rss"}:
        return
    from bench import procs

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        if "health" in parts:
            server = procs.service(1, tmpdir, tmpdir / "data-raised", {})
            try:
                idle = health_during(server.base, _body([]))
                print("\n(b) /health while the call is answered (server, one worker, 64 MiB limit)")
                print(
                    f"  {'shape':20s} {'MiB':>5s} {'status':>6s} {'call s':>8s} "
                    f"{'/health n':>9s} {'p50 ms':>8s} {'max ms':>8s}"
                )
                print(
                    f"  {'(no hostile text)':20s} {'':5s} {idle['status']:6d} "
                    f"{idle['call_s']:8.3f} {idle['health_n']:9d} {idle['health_p50_ms']:8.2f} "
                    f"{idle['health_max_ms']:8.2f}"
                )
                for shape in shapes:
                    for mib in sizes:
                        r = health_during(server.base, hostile_body(shape, mib))
                        print(
                            f"  {shape:20s} {mib:5.2f} {r['status']:6d} {r['call_s']:8.3f} "
                            f"{r['health_n']:9d} {r['health_p50_ms']:8.2f} "
                            f"{r['health_max_ms']:8.2f}",
                            flush=True,
                        )
            finally:
                server.stop()
            limit = {"MSCDS_MAX_BODY_BYTES": str(5 * MIB)}
            server = procs.service(1, tmpdir, tmpdir / "data-default", limit)
            try:
                body = hostile_body("MedicationStatement", max(sizes))
                r = health_during(server.base, body)
                print(
                    f"  default limit (5 MiB): {len(body):,} B body -> {r['status']} "
                    f"in {r['call_s']:.3f} s; /health p50 {r['health_p50_ms']:.2f} ms, "
                    f"max {r['health_max_ms']:.2f} ms"
                )
            finally:
                server.stop()

        if "rss" in parts:
            count = max(1, round(args.rss_mib / 5))
            print(f"\n(c) server RSS, {count} bodies of 5 MiB of unique free text")
            kinds = {
                "one long text a body": lambda i: hostile_body("Condition", 5, f"{i} "),
                "short unique texts": lambda i: short_texts_body(5, f"body{i}"),
            }
            mallocs = {"default malloc": {}, "fixed mmap threshold": _FIXED_MMAP_THRESHOLD}
            for n, (name, bodies) in enumerate(kinds.items()):
                for malloc, env in mallocs.items():
                    server = procs.service(1, tmpdir, tmpdir / f"data-rss-{n}-{len(env)}", env)
                    try:
                        r = rss_growth(server, bodies, count)
                    finally:
                        server.stop()
                    print(
                        f"  {name:20s} {malloc:20s} sent {r['sent_mb']:5.1f} MB: RSS "
                        f"{r['before_mb']:.1f} -> {r['after_first_mb']:.1f} (first body) -> "
                        f"{r['after_mb']:.1f} MB; growth {r['after_mb'] - r['before_mb']:+.1f} MB, "
                        f"after the first body {r['after_mb'] - r['after_first_mb']:+.1f} MB",
                        flush=True,
                    )


if __name__ == "__main__":
    main()

"""Order hooks with thousands of draft orders: CPU time and response size, to show linear cost.

    .venv/bin/python bench/hostile_orders.py [--sizes 2500,5000,10000] [--repeat 3]
                                             [--hooks order-sign,order-select,order-select:1]
                                             [--shape mix|unique|doses|products]
                                             [--no-http] [--health]

An EHR may send a very long `draftOrders` Bundle (an order set, a pasted medication list, or a
hostile caller). Each size is a realistic mix of draft MedicationRequests: baclofen, tizanidine
with ciprofloxacin (a contraindicated pair), gabapentin, opioids with a benzodiazepine, NSAIDs,
duplicate ibuprofen and acetaminophen sources whose daily total is above the maximum, an MAOI
with an SSRI, each with a dosage. The patient is the benchmark's chart of 50 resources
(`bench.patients`, the `ms-mixed-pain` story).

`order-sign` focuses every draft; `order-select` lists every draft in `selections`;
`order-select:1` selects one draft among all the others (co-ordered, read for interactions).
`--shape` says how the drafts differ:
- `mix` (the default): the mix above, over and over (an order set);
- `unique` (or `--unique`): each draft's dosage text its own, its dose the same, so that no two
  drafts are alike as text yet alike to the checks (each draft is read in full, its cards drafted
  for the first few alike and counted after);
- `doses`: each draft of the mix with a dose of its own, so no two are alike to the checks;
- `products`: each draft a different product of mappings/data/rxnorm_products.csv (4,000 and
  more), so no two are alike either.
The last two are checked in full, draft after draft, and a call with more than
`cards.orders.MAX_CHECKED_ORDERS` of them is refused (413): the figure is then the cost of the
refusal.

Two figures per size:
- "answer": `service.pipeline.answer` in process (parse, envelope, prefetch, classification,
  cards) plus serialising the response: the CPU the service spends on the call, whatever its
  body limit says, with the garbage collector set as the service sets it (`service.collector`);
- "http": the same body through the ASGI app with the default settings (auth off), as uvicorn
  would hand it over: its status (413 when the body is above `MSCDS_MAX_BODY_BYTES`) and the
  response size.

Per-order cost (CPU per call / drafts) stays flat from 1x to 4x when the work is linear.

`--health`: then, for each body, a real server (`ms-backpain-cds serve`, one worker, auth off)
answers it while GET /health is sent one after another until the call returns: the call's
status and wall time, and the p50 and max of /health.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DAY = date(2026, 11, 21)

# (RxNorm code, product, dosage text): the mix every body cycles through.
MIX: tuple[tuple[str, str, str], ...] = (
    ("197392", "baclofen 20 MG Oral Tablet", "20 mg by mouth three times daily"),
    ("313413", "tizanidine 4 MG Oral Tablet", "4 mg by mouth three times daily"),
    ("309309", "ciprofloxacin 500 MG Oral Tablet", "500 mg by mouth twice daily for 7 days"),
    ("310431", "gabapentin 300 MG Oral Capsule", "300 mg by mouth three times daily"),
    ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet", "5 mg by mouth every 6 hours"),
    ("835603", "tramadol hydrochloride 50 MG Oral Tablet", "50 mg by mouth every 6 hours"),
    ("892582", "morphine sulfate 15 MG Oral Tablet", "15 mg by mouth every 4 hours"),
    ("197901", "lorazepam 1 MG Oral Tablet", "1 mg by mouth at bedtime"),
    ("197807", "ibuprofen 800 MG Oral Tablet", "800 mg by mouth three times daily"),
    ("197806", "ibuprofen 600 MG Oral Tablet", "600 mg by mouth three times daily"),
    (
        "859315",
        "hydrocodone bitartrate 10 MG / ibuprofen 200 MG Oral Tablet",
        "1 tablet by mouth every 6 hours",
    ),
    ("198014", "naproxen 500 MG Oral Tablet", "500 mg by mouth twice daily"),
    ("198440", "acetaminophen 500 MG Oral Tablet", "1000 mg by mouth four times daily"),
    (
        "857002",
        "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet",
        "2 tablets by mouth every 4 hours",
    ),
    ("856834", "amitriptyline hydrochloride 25 MG Oral Tablet", "25 mg by mouth at bedtime"),
    ("312347", "phenelzine 15 MG Oral Tablet", "15 mg by mouth three times daily"),
    ("312941", "sertraline 50 MG Oral Tablet", "50 mg by mouth once daily"),
)


SHAPES = ("mix", "unique", "doses", "products")


def _products() -> list[tuple[str, str]]:
    """(RxNorm code, name) of every product the service's table names, in a fixed order."""
    from mappings.datafile import rows

    path = Path(__file__).resolve().parent.parent / "mappings" / "data" / "rxnorm_products.csv"
    found = {r["rxcui"]: r["name"] for _, r in rows(path) if r["tty"] not in ("IN", "PIN")}
    return sorted(found.items())


def draft_order(
    i: int, patient_id: str, shape: str = "mix", products: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    code, name, dosage = MIX[i % len(MIX)]
    if shape == "unique":  # no two texts alike, every dose alike
        dosage = f"{dosage} (draft {i})"
    elif shape == "doses":  # no two doses alike
        dosage = f"{1 + i / 100:.2f} tablets by mouth twice daily"
    elif shape == "products" and products:  # no two products alike (while the table lasts)
        code, name = products[i % len(products)]
        dosage = "1 tablet by mouth twice daily"
    return {
        "resourceType": "MedicationRequest",
        "id": f"hostile-{i:05d}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": name}],
            "text": name,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": DAY.isoformat(),
        "dosageInstruction": [{"text": dosage}],
    }


def body_for(hook: str, n: int, shape: str = "mix") -> tuple[str, bytes]:
    """(service id, request body) for `n` drafts of `shape` (see above) on `hook`
    (`order-select:1`: one selected)."""
    from bench.patients import patient_resources, prefetch_for
    from service.discovery import discovery_document

    name, _, selected = hook.partition(":")
    entry = next(s for s in discovery_document()["services"] if s["hook"] == name)
    resources = patient_resources(50, today=DAY)
    patient_id = resources[0]["id"]
    products = _products() if shape == "products" else None
    orders = [draft_order(i, patient_id, shape, products) for i in range(n)]
    context: dict[str, Any] = {
        "userId": "Practitioner/bench-user",
        "patientId": patient_id,
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": o} for o in orders],
        },
    }
    if name == "order-select":
        chosen = orders[: int(selected)] if selected else orders
        context["selections"] = [f"MedicationRequest/{o['id']}" for o in chosen]
    body = {
        "hook": name,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch_for(entry.get("prefetch") or {}, resources, patient_id),
    }
    return entry["id"], orjson.dumps(body)


def _complete(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def answer_cpu(service_id: str, body: bytes, repeat: int) -> tuple[float, str, int]:
    """(least CPU seconds of `repeat` calls, what they answered: the number of cards, or the
    status of a refusal, and the response's bytes) of the in-process answer."""
    from cards.model import response_body
    from service import pipeline
    from service.discovery import SERVICES
    from service.http.errors import HTTPProblem

    service = SERVICES[service_id]
    best, answered, size = float("inf"), "", 0
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        try:
            found = _complete(pipeline.answer(service, body, None, log={}, on=DAY, offline=True))
            out = orjson.dumps(response_body(found))
            answered, size = str(len(found)), len(out)
        except HTTPProblem as refused:
            answered, size = f"HTTP {refused.status}", len(refused.diagnostics)
        best = min(best, time.process_time() - started)
    return best, answered, size


async def _http(app: Any, path: str, body: bytes) -> tuple[int, int]:
    """(status, response bytes) of one call through the ASGI app."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status: list[int] = []
    size = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal size
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status[0], size


async def http_calls(calls: list[tuple[str, bytes]]) -> list[tuple[int, int]]:
    """Each (service id, body) through one app, started and stopped as uvicorn would."""
    from service.http.app import create_app

    app = create_app()
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            messages.get,
            replies.put,
        )
    )
    started = await replies.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"start-up failed: {started}")
    try:
        return [await _http(app, f"/cds-services/{sid}", body) for sid, body in calls]
    finally:
        await messages.put({"type": "lifespan.shutdown"})
        await replies.get()
        await task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2500,5000,10000")
    parser.add_argument("--hooks", default="order-sign,order-select,order-select:1")
    parser.add_argument("--repeat", type=int, default=3, help="calls per size (least CPU kept)")
    parser.add_argument("--no-http", action="store_true", help="skip the ASGI app's figures")
    parser.add_argument("--shape", choices=SHAPES, default="mix", help="how the drafts differ")
    parser.add_argument("--unique", action="store_true", help="the same as --shape unique")
    parser.add_argument("--health", action="store_true", help="/health while a server answers")
    args = parser.parse_args()
    shape = "unique" if args.unique else args.shape
    sizes = [int(s) for s in args.sizes.split(",")]
    hooks = args.hooks.split(",")
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(
            {"MSCDS_AUTH": "off", "MSCDS_DATA_DIR": data_dir, "MSCDS_LOG_LEVEL": "WARNING"}
        )
        from service.config import Settings

        limit = Settings().max_body_bytes
        bodies = [(hook, n, *body_for(hook, n, shape)) for hook in hooks for n in sizes]
        http: list[tuple[int, int]] = []
        if not args.no_http:
            http = asyncio.run(http_calls([(sid, body) for _, _, sid, body in bodies]))
        from service import collector

        collector.settle()  # the collector as the service sets it once started
        print(
            f"drafts: {shape}; body limit (max_body_bytes): {limit:,} bytes; "
            f"CPU: least of {args.repeat} calls"
        )
        head = (
            f"{'hook':<16}{'drafts':>8}{'body bytes':>13}{'CPU s':>9}{'us/draft':>10}"
            f"{'cards':>9}{'resp bytes':>12}{'http':>6}{'http bytes':>12}"
        )
        print(head)
        print("-" * len(head))
        for i, (hook, n, sid, body) in enumerate(bodies):
            cpu, cards, size = answer_cpu(sid, body, args.repeat)
            status, http_size = http[i] if http else (0, 0)
            print(
                f"{hook:<16}{n:>8}{len(body):>13,}{cpu:>9.3f}{cpu / n * 1e6:>10.1f}"
                f"{cards:>9}{size:>12,}{status or '-':>6}{http_size:>12,}",
                flush=True,
            )
        if args.health:
            health(bodies, Path(data_dir))
    return 0


def health(bodies: list[tuple[str, int, str, bytes]], tmpdir: Path) -> None:
    """/health while a real server (one worker) answers each body."""
    from bench import procs
    from bench.hostile_text import health_during

    print("\n/health while the call is answered (server, one worker)")
    print(
        f"{'hook':<16}{'drafts':>8}{'status':>8}{'call s':>9}{'/health n':>11}"
        f"{'p50 ms':>9}{'max ms':>9}"
    )
    # its own log level: the start-up line is how it is seen to be ready
    server = procs.service(1, tmpdir, tmpdir / "served", {"MSCDS_LOG_LEVEL": "INFO"})
    try:
        for hook, n, sid, body in bodies:
            r = health_during(server.base, body, f"/cds-services/{sid}")
            print(
                f"{hook:<16}{n:>8}{r['status']:>8}{r['call_s']:>9.3f}{r['health_n']:>11}"
                f"{r['health_p50_ms']:>9.2f}{r['health_max_ms']:>9.2f}",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

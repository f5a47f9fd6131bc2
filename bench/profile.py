"""Profile the request path in-process, and time each of its stages.

    .venv/bin/python bench/profile.py [--size 500] [--hook patient-view] [--pyinstrument]

Stages, as in the hook endpoint: parse + envelope validation (service.fhir.decoding), prefetch
resolution (service.fhir.prefetch), evaluation (service.pipeline: mappings, then cards), response
serialisation. The stage timings need nothing
beyond the project; `--pyinstrument` (pip install pyinstrument into the venv) prints a call tree.
For the HTTP framework's share, profile a running server with py-spy under `bench/run.py`'s load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mappings
from bench.patients import hook_request, patient_resources
from cards.model import response_body
from service import collector, pipeline
from service.discovery import SERVICES, discovery_document
from service.fhir import decoding as hooks
from service.fhir.prefetch import resolve


def _complete(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (offline resolution) without an event loop's cost."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def stages(service_id: str, body: bytes) -> dict[str, float]:
    """The hook endpoint's steps (service.http.app.call_service) without HTTP, timed one by one."""
    service = SERVICES[service_id]
    defer = hooks.defers_entries(body)
    marks = [time.perf_counter()]
    request = hooks.read_hook_request(service, body, defer_entries=defer)
    marks.append(time.perf_counter())
    resolved = _complete(resolve(service.prefetch, request, None, offline=True))
    request.prefetch = None
    marks.append(time.perf_counter())
    decode = hooks.EntryDecoder() if defer else None
    found = pipeline.evaluate(
        service, request.context, resolved.resources, consume=True, decode=decode
    )
    marks.append(time.perf_counter())
    orjson.dumps(response_body(found))
    marks.append(time.perf_counter())
    names = ("parse+validate", "resolve", "evaluate", "serialise")
    return {n: (b - a) * 1000 for n, a, b in zip(names, marks, marks[1:], strict=False)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--hook", default="patient-view")
    parser.add_argument("--repeat", type=int, default=0, help="default: about 2 s of work")
    parser.add_argument("--pyinstrument", action="store_true")
    args = parser.parse_args()
    mappings.load_terminology()
    entry = next(s for s in discovery_document()["services"] if s["hook"] == args.hook)
    body = orjson.dumps(hook_request(entry, patient_resources(args.size)))
    # The collector as the service sets it after start-up (service/collector.py).
    collector.settle()
    stages(entry["id"], body)
    repeat = args.repeat or max(5, int(2000 / max(1.0, sum(stages(entry["id"], body).values()))))
    runs = [stages(entry["id"], body) for _ in range(repeat)]
    print(f"{args.hook}, {args.size} resources, {len(body):,} B, median of {repeat}:")
    for name in runs[0]:
        print(f"  {name:<15} {statistics.median(r[name] for r in runs):8.3f} ms")
    print(f"  {'total':<15} {statistics.median(sum(r.values()) for r in runs):8.3f} ms")
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        with profiler:
            for _ in range(repeat):
                stages(entry["id"], body)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
